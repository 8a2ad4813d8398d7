// Drives volumed's Nomad surface with Nomad's own Go client
// (github.com/hashicorp/nomad/api), as the `nomad` CLI and Terraform's
// provider do. Run by test/e2e/nomad-go.test.ts with NOMAD_ADDR pointing at
// a volumed with a file pool `local`; exits non-zero naming the first
// mismatch.
package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

const mib = 1024 * 1024

func check(ok bool, format string, args ...any) {
	if !ok {
		fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
		os.Exit(1)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		os.Exit(1)
	}
	return v
}

func main() {
	client := must(api.NewClient(api.DefaultConfig()))
	volumes := client.CSIVolumes()

	created, _, err := volumes.Create(&api.CSIVolume{
		ID:                   "go-vol",
		Name:                 "from go",
		PluginID:             "local",
		RequestedCapacityMin: 2 * mib,
		RequestedCapabilities: []*api.CSIVolumeCapability{
			{AccessMode: api.CSIVolumeAccessModeSingleNodeWriter, AttachmentMode: api.CSIVolumeAttachmentModeFilesystem},
		},
		MountOptions: &api.CSIMountOptions{FSType: "ext4", MountFlags: []string{"noatime"}},
		Secrets:      api.CSISecrets{"password": "go-secret"},
	}, nil)
	check(err == nil, "create: %v", err)
	check(len(created) == 1 && created[0].Capacity == 2*mib, "create answered %+v", created)

	for _, id := range []string{"go-vol-b", "go-vol-c"} {
		_, _, err := volumes.Create(&api.CSIVolume{ID: id, PluginID: "local", RequestedCapacityMin: mib}, nil)
		check(err == nil, "create %s: %v", id, err)
	}

	list, meta, err := volumes.List(&api.QueryOptions{PerPage: 2})
	check(err == nil, "list: %v", err)
	check(len(list) == 2 && meta.NextToken == "go-vol-c" && meta.LastIndex > 0 && meta.KnownLeader, "list page: %d stubs, meta %+v", len(list), meta)
	rest, _, err := volumes.List(&api.QueryOptions{PerPage: 2, NextToken: meta.NextToken})
	check(err == nil && len(rest) == 1 && rest[0].ID == "go-vol-c", "second page: %v %+v", err, rest)
	filtered, _, err := volumes.List(&api.QueryOptions{Filter: `Name == "from go"`})
	check(err == nil && len(filtered) == 1 && filtered[0].ID == "go-vol", "filter: %v %+v", err, filtered)
	_, _, err = volumes.List(&api.QueryOptions{Filter: `Name ==`})
	check(err != nil && strings.Contains(err.Error(), "400"), "bad filter: %v", err)

	vol, qm, err := volumes.Info("go-vol", nil)
	check(err == nil, "info: %v", err)
	check(vol.Name == "from go" && vol.PluginID == "local" && vol.Schedulable && vol.ResourceExhausted.IsZero(), "info: %+v", vol)
	check(vol.Secrets == nil || len(vol.Secrets) == 0, "secrets shown: %v", vol.Secrets)
	check(vol.MountOptions != nil && vol.MountOptions.FSType == "ext4", "mount options: %+v", vol.MountOptions)

	// A blocking query with nothing changing comes back after its wait, with the same index.
	start := time.Now()
	_, same, err := volumes.Info("go-vol", &api.QueryOptions{WaitIndex: qm.LastIndex, WaitTime: 300 * time.Millisecond})
	check(err == nil && same.LastIndex == qm.LastIndex && time.Since(start) >= 250*time.Millisecond, "blocking info: %v %+v", err, same)

	snaps, _, err := volumes.CreateSnapshot(&api.CSISnapshot{SourceVolumeID: "go-vol", PluginID: "local", Name: "go-snap"}, nil)
	check(err == nil && len(snaps.Snapshots) == 1 && snaps.Snapshots[0].IsReady, "snapshot: %v %+v", err, snaps)
	listed, _, err := volumes.ListSnapshotsOpts(&api.CSISnapshotListRequest{PluginID: "local"})
	check(err == nil && len(listed.Snapshots) == 1, "snapshots: %v %+v", err, listed)
	check(volumes.DeleteSnapshot(snaps.Snapshots[0], nil) == nil, "delete snapshot")

	external, _, err := volumes.ListExternal("local", &api.QueryOptions{PerPage: 10})
	check(err == nil && len(external.Volumes) == 3, "external: %v %+v", err, external)

	check(volumes.Detach("go-vol", "node-without-claims", nil) == nil, "detach")
	check(volumes.Deregister("go-vol", false, nil) == nil, "deregister")
	_, _, err = volumes.Info("go-vol", nil)
	check(err != nil && strings.Contains(err.Error(), "404"), "deregistered volume still read: %v", err)
	_, err = volumes.Register(&api.CSIVolume{ID: "go-vol", Name: "again", ExternalID: vol.ExternalID, PluginID: "local"}, nil)
	check(err == nil, "register: %v", err)
	_, err = volumes.Register(&api.CSIVolume{ID: "go-vol", ExternalID: "volumes/other.img", PluginID: "local"}, nil)
	check(err != nil && strings.Contains(err.Error(), "409"), "conflicting register: %v", err)
	check(volumes.DeleteOpts(&api.CSIVolumeDeleteRequest{ExternalVolumeID: "go-vol", Secrets: api.CSISecrets{"token": "t"}}, nil) == nil, "delete")

	plugins, _, err := client.CSIPlugins().List(nil)
	check(err == nil && len(plugins) == 1 && plugins[0].ID == "local" && plugins[0].ControllersHealthy == 1, "plugins: %v %+v", err, plugins)
	plugin, _, err := client.CSIPlugins().Info("local", nil)
	check(err == nil && plugin.Provider == "file.volumed", "plugin: %v %+v", err, plugin)

	fmt.Println("ok: Nomad's Go client worked against volumed")
}
