// Drives volumed's Nomad surface with Nomad's own Go client
// (github.com/hashicorp/nomad/api, pinned in go.mod), as the `nomad` CLI and
// Terraform's provider do: every call of api.CSIVolumes and api.CSIPlugins
// that the surface serves, each answer decoded into the client's own types
// and its values checked (a field volumed left out decodes as Go's zero
// value, so a check of errors alone would miss it). Run by
// test/e2e/nomad-go.test.ts with NOMAD_ADDR pointing at a volumed with file
// pools `local` and `spare`; prints one line per step and exits non-zero
// naming the first mismatch.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

const mib = 1024 * 1024

var steps int

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

func step(name string) {
	steps++
	fmt.Printf("ok %d: %s\n", steps, name)
}

// refused checks that a call failed with the HTTP status and text given.
func refused(err error, status int, text string) bool {
	return err != nil && strings.Contains(err.Error(), fmt.Sprintf("%d", status)) && strings.Contains(err.Error(), text)
}

var writer = []*api.CSIVolumeCapability{{AccessMode: api.CSIVolumeAccessModeSingleNodeWriter, AttachmentMode: api.CSIVolumeAttachmentModeFilesystem}}
var blockOnly = []*api.CSIVolumeCapability{{AccessMode: api.CSIVolumeAccessModeSingleNodeWriter, AttachmentMode: api.CSIVolumeAttachmentModeBlockDevice}}

func spec(id string) *api.CSIVolume {
	return &api.CSIVolume{
		ID:                    id,
		Name:                  "from go",
		PluginID:              "local",
		RequestedCapacityMin:  2 * mib,
		RequestedCapabilities: writer,
		MountOptions:          &api.CSIMountOptions{FSType: "ext4", MountFlags: []string{"noatime"}},
		Secrets:               api.CSISecrets{"password": "go-secret"},
		Parameters:            map[string]string{"team": "a"},
	}
}

// checkVolume holds a full volume answer to what was asked of it.
func checkVolume(what string, v *api.CSIVolume, id string, capacity int64) {
	check(v != nil && v.ID == id && v.Name == "from go" && v.Namespace == "default", "%s: identity %+v", what, v)
	check(v.PluginID == "local" && v.Provider == "file.volumed" && v.ProviderVersion != "", "%s: plugin %q provider %q/%q", what, v.PluginID, v.Provider, v.ProviderVersion)
	check(v.ExternalID != "" && v.Capacity == capacity && v.RequestedCapacityMin >= 2*mib, "%s: external id %q, capacity %d, min %d", what, v.ExternalID, v.Capacity, v.RequestedCapacityMin)
	check(len(v.RequestedCapabilities) == 1 && v.RequestedCapabilities[0].AccessMode == api.CSIVolumeAccessModeSingleNodeWriter && v.RequestedCapabilities[0].AttachmentMode == api.CSIVolumeAttachmentModeFilesystem, "%s: capabilities %+v", what, v.RequestedCapabilities)
	check(v.MountOptions != nil && v.MountOptions.FSType == "ext4" && len(v.MountOptions.MountFlags) == 1 && v.MountOptions.MountFlags[0] == "[REDACTED]", "%s: mount options %+v", what, v.MountOptions)
	check(len(v.Secrets) == 0, "%s: secrets shown: %v", what, v.Secrets)
	check(v.Parameters["team"] == "a", "%s: parameters %v", what, v.Parameters)
	check(v.Schedulable && v.ControllerRequired && v.ControllersHealthy == 1 && v.ControllersExpected == 1 && v.NodesHealthy == 1 && v.ResourceExhausted.IsZero(), "%s: health %+v", what, v)
	check(v.CreateIndex > 0 && v.ModifyIndex >= v.CreateIndex && v.CreateTime > 0 && v.ModifyTime >= v.CreateTime, "%s: indexes %d/%d times %d/%d", what, v.CreateIndex, v.ModifyIndex, v.CreateTime, v.ModifyTime)
}

func main() {
	client := must(api.NewClient(api.DefaultConfig()))
	volumes := client.CSIVolumes()

	// Create, then CreateOpts for two more.
	created, wm, err := volumes.Create(spec("go-vol"), nil)
	check(err == nil, "create: %v", err)
	check(len(created) == 1 && wm.LastIndex > 0, "create answered %d volumes, index %d", len(created), wm.LastIndex)
	checkVolume("create", created[0], "go-vol", 2*mib)
	for _, id := range []string{"go-vol-b", "go-vol-c"} {
		resp, _, err := volumes.CreateOpts(&api.CSIVolumeCreateRequest{Volumes: []*api.CSIVolume{{ID: id, PluginID: "local", RequestedCapacityMin: mib}}}, nil)
		check(err == nil && len(resp.Volumes) == 1 && resp.Volumes[0].ID == id && resp.Volumes[0].Name == id && resp.Volumes[0].Capacity == mib && resp.Warnings == "", "create %s: %v %+v", id, err, resp)
	}
	step("Create and CreateOpts")

	// Re-sends: identical is accepted, a larger minimum expands, Merge's fixed fields are refused.
	again := must2(volumes.Create(spec("go-vol"), nil))
	check(again[0].Capacity == 2*mib, "identical re-send: %d", again[0].Capacity)
	renamed := spec("go-vol")
	renamed.Name = "another name"
	_, _, err = volumes.Create(renamed, nil)
	check(refused(err, 409, "volume name cannot be updated"), "rename by create: %v", err)
	moved := spec("go-vol")
	moved.PluginID = "spare"
	_, _, err = volumes.Create(moved, nil)
	check(refused(err, 409, "volume plugin ID cannot be updated"), "plugin change by create: %v", err)
	params := spec("go-vol")
	params.Parameters = map[string]string{"team": "b"}
	_, _, err = volumes.Create(params, nil)
	check(refused(err, 409, "volume parameters cannot be updated"), "parameters change: %v", err)
	step("re-sent Create: identical accepted, name/plugin/parameters refused in Nomad's words")

	// List: pages of stubs, prefix, filter, namespaces.
	list, meta, err := volumes.List(&api.QueryOptions{PerPage: 2})
	check(err == nil, "list: %v", err)
	check(len(list) == 2 && meta.NextToken == "go-vol-c" && meta.LastIndex > 0 && meta.KnownLeader, "list page: %d stubs, meta %+v", len(list), meta)
	// The client sorts a page by CreateIndex, newest first.
	check(list[0].ID == "go-vol-b" && list[1].ID == "go-vol", "list order: %s, %s", list[0].ID, list[1].ID)
	stub := list[1]
	check(stub.Name == "from go" && stub.Namespace == "default" && stub.PluginID == "local" && stub.Provider == "file.volumed" && stub.ExternalID != "", "stub: %+v", stub)
	check(stub.Schedulable && stub.ControllerRequired && stub.ControllersHealthy == 1 && stub.CurrentWriters == 0 && stub.CreateIndex > 0 && stub.CreateTime > 0, "stub health: %+v", stub)
	rest, _, err := volumes.List(&api.QueryOptions{PerPage: 2, NextToken: meta.NextToken})
	check(err == nil && len(rest) == 1 && rest[0].ID == "go-vol-c", "second page: %v %+v", err, rest)
	prefixed, _, err := volumes.List(&api.QueryOptions{Prefix: "go-vol-"})
	check(err == nil && len(prefixed) == 2, "prefix: %v %d", err, len(prefixed))
	filtered, _, err := volumes.List(&api.QueryOptions{Filter: `Name == "from go"`})
	check(err == nil && len(filtered) == 1 && filtered[0].ID == "go-vol", "filter: %v %+v", err, filtered)
	_, _, err = volumes.List(&api.QueryOptions{Filter: `Name ==`})
	check(refused(err, 400, ""), "bad filter: %v", err)
	_, _, err = volumes.Create(&api.CSIVolume{ID: "go-elsewhere", PluginID: "local", RequestedCapacityMin: mib}, &api.WriteOptions{Namespace: "team-b"})
	check(err == nil, "create in namespace team-b: %v", err)
	inDefault := must2(volumes.List(nil))
	everywhere := must2(volumes.List(&api.QueryOptions{Namespace: "*"}))
	inTeam := must2(volumes.List(&api.QueryOptions{Namespace: "team-b"}))
	check(len(inDefault) == 3 && len(everywhere) == 4 && len(inTeam) == 1 && inTeam[0].Namespace == "team-b", "namespaces: default %d, * %d, team-b %d", len(inDefault), len(everywhere), len(inTeam))
	step("List: pages, order, stub values, prefix, filter, namespaces")

	// Info, and blocking queries: one times out unchanged, one wakes on a change.
	vol, qm, err := volumes.Info("go-vol", nil)
	check(err == nil, "info: %v", err)
	checkVolume("info", vol, "go-vol", 2*mib)
	_, _, err = volumes.Info("no-such-volume", nil)
	check(refused(err, 404, ""), "info of a missing volume: %v", err)
	start := time.Now()
	_, same, err := volumes.Info("go-vol", &api.QueryOptions{WaitIndex: qm.LastIndex, WaitTime: 300 * time.Millisecond})
	check(err == nil && same.LastIndex == qm.LastIndex && time.Since(start) >= 250*time.Millisecond, "blocking info: %v %+v", err, same)
	woke := make(chan *api.CSIVolume, 1)
	var wokeMeta *api.QueryMeta
	go func() {
		v, m, err := volumes.Info("go-vol", &api.QueryOptions{WaitIndex: qm.LastIndex, WaitTime: 20 * time.Second})
		check(err == nil, "waiting info: %v", err)
		wokeMeta = m
		woke <- v
	}()
	time.Sleep(200 * time.Millisecond)
	grow := spec("go-vol")
	grow.RequestedCapacityMin = 4 * mib
	grown := must2(volumes.Create(grow, nil))
	check(grown[0].Capacity == 4*mib, "expand by a larger minimum: %d", grown[0].Capacity)
	select {
	case v := <-woke:
		// It wakes on the first change (the volume going to extending); the client follows the index to the end.
		check(wokeMeta.LastIndex > qm.LastIndex, "woken info: index %d after %d", wokeMeta.LastIndex, qm.LastIndex)
		for index := wokeMeta.LastIndex; v.Capacity != 4*mib; {
			next, m, err := volumes.Info("go-vol", &api.QueryOptions{WaitIndex: index, WaitTime: 5 * time.Second})
			check(err == nil && m.LastIndex > index, "following the index: %v %+v", err, m)
			v, index = next, m.LastIndex
		}
	case <-time.After(10 * time.Second):
		check(false, "a blocking Info did not wake on the expand")
	}
	step("Info, a blocking Info that times out and one that wakes on an expand")

	// A claim (the client's own path, through Raw), capabilities held by it, Detach.
	claim := map[string]any{"AllocationID": "alloc-1", "NodeID": "node-1", "Claim": "write", "AccessMode": "single-node-writer", "AttachmentMode": "file-system"}
	var claimed struct{ Volume *api.CSIVolume }
	_, err = client.Raw().Write("/v1/volume/csi/go-vol/claim", claim, &claimed, nil)
	check(err == nil && claimed.Volume != nil && len(claimed.Volume.WriteAllocs) == 1, "claim: %v %+v", err, claimed.Volume)
	held := must2(volumes.Info("go-vol", nil))
	_, isWriter := held.WriteAllocs["alloc-1"]
	check(isWriter && len(held.Allocations) == 1 && held.Allocations[0].ID == "alloc-1" && held.Allocations[0].NodeID == "node-1", "claims in info: %+v %+v", held.WriteAllocs, held.Allocations)
	writers := must2(volumes.List(&api.QueryOptions{Filter: `ID == "go-vol"`}))
	check(len(writers) == 1 && writers[0].CurrentWriters == 1 && writers[0].AccessMode == api.CSIVolumeAccessModeSingleNodeWriter && writers[0].AttachmentMode == api.CSIVolumeAttachmentModeFilesystem, "stub of a claimed volume: %+v", writers)
	incompatible := spec("go-vol")
	incompatible.RequestedCapacityMin = 4 * mib
	incompatible.RequestedCapabilities = blockOnly
	_, _, err = volumes.Create(incompatible, nil)
	check(refused(err, 409, "volume requested capabilities update was not compatible with existing capability in use"), "capabilities without the claimed one: %v", err)
	err = volumes.Deregister("go-vol", false, nil)
	check(refused(err, 400, "in use by alloc-1@node-1"), "deregister of a claimed volume: %v", err)
	check(volumes.Detach("go-vol", "node-1", nil) == nil, "detach")
	released := must2(volumes.Info("go-vol", nil))
	check(len(released.WriteAllocs) == 0 && len(released.Allocations) == 0, "claims after detach: %+v", released.Allocations)
	check(volumes.Detach("go-vol", "node-without-claims", nil) == nil, "detach of a node without claims")
	step("claim, capabilities held by a claim, Deregister refused while claimed, Detach")

	// Snapshots: create, list (both forms, paged), delete.
	snaps, _, err := volumes.CreateSnapshot(&api.CSISnapshot{SourceVolumeID: "go-vol", PluginID: "local", Name: "go-snap"}, nil)
	check(err == nil && len(snaps.Snapshots) == 1, "snapshot: %v %+v", err, snaps)
	snap := snaps.Snapshots[0]
	check(snap.ID != "" && snap.SourceVolumeID == "go-vol" && snap.PluginID == "local" && snap.IsReady && snap.SizeBytes == 4*mib && snap.CreateTime > 0 && snap.ExternalSourceVolumeID == vol.ExternalID, "snapshot values: %+v", snap)
	second := must2(volumes.CreateSnapshot(&api.CSISnapshot{SourceVolumeID: "go-vol-b", PluginID: "local", Name: "go-snap-b"}, nil))
	listed, _, err := volumes.ListSnapshotsOpts(&api.CSISnapshotListRequest{PluginID: "local"})
	check(err == nil && len(listed.Snapshots) == 2 && listed.NextToken == "", "snapshots: %v %+v", err, listed)
	page, _, err := volumes.ListSnapshotsOpts(&api.CSISnapshotListRequest{PluginID: "local", QueryOptions: api.QueryOptions{PerPage: 1}})
	check(err == nil && len(page.Snapshots) == 1 && page.NextToken != "", "snapshot page: %v %+v", err, page)
	next, _, err := volumes.ListSnapshots("local", "", &api.QueryOptions{PerPage: 1, NextToken: page.NextToken})
	check(err == nil && len(next.Snapshots) == 1 && next.Snapshots[0].ID != page.Snapshots[0].ID, "next snapshot page: %v %+v", err, next)
	check(volumes.DeleteSnapshot(snap, nil) == nil && volumes.DeleteSnapshot(second.Snapshots[0], nil) == nil, "delete snapshots")
	none := must2(volumes.ListSnapshotsOpts(&api.CSISnapshotListRequest{PluginID: "local"}))
	check(len(none.Snapshots) == 0, "snapshots after delete: %+v", none.Snapshots)
	step("CreateSnapshot, ListSnapshotsOpts and ListSnapshots with pages, DeleteSnapshot")

	// External volumes: the pool's storage objects, paged.
	external, _, err := volumes.ListExternal("local", &api.QueryOptions{PerPage: 3})
	check(err == nil && len(external.Volumes) == 3 && external.NextToken != "", "external: %v %+v", err, external)
	more, _, err := volumes.ListExternal("local", &api.QueryOptions{PerPage: 3, NextToken: external.NextToken})
	check(err == nil && len(more.Volumes) == 1 && more.NextToken == "", "external page 2: %v %+v", err, more)
	ids := []string{}
	for _, e := range append(external.Volumes, more.Volumes...) {
		check(e.ExternalID != "" && e.CapacityBytes >= mib, "external stub: %+v", e)
		ids = append(ids, e.ExternalID)
	}
	sort.Strings(ids)
	check(sort.SearchStrings(ids, vol.ExternalID) < len(ids) && ids[sort.SearchStrings(ids, vol.ExternalID)] == vol.ExternalID, "go-vol's object %s not among %v", vol.ExternalID, ids)
	step("ListExternal with pages")

	// Deregister (force), Register and RegisterOpts, Merge's refusals on register.
	check(volumes.Deregister("go-vol", true, nil) == nil, "deregister")
	_, _, err = volumes.Info("go-vol", nil)
	check(refused(err, 404, ""), "deregistered volume still read: %v", err)
	regMeta, err := volumes.Register(&api.CSIVolume{ID: "go-vol", Name: "again", ExternalID: vol.ExternalID, PluginID: "local", RequestedCapabilities: writer}, nil)
	check(err == nil && regMeta.LastIndex > 0, "register: %v", err)
	resp, _, err := volumes.RegisterOpts(&api.CSIVolumeRegisterRequest{Volumes: []*api.CSIVolume{{ID: "go-vol", Name: "again", ExternalID: vol.ExternalID, PluginID: "local", RequestedCapabilities: writer}}}, nil)
	check(err == nil && len(resp.Volumes) == 1, "register again: %v %+v", err, resp)
	r := resp.Volumes[0]
	check(r.ID == "go-vol" && r.Name == "again" && r.ExternalID == vol.ExternalID && r.PluginID == "local" && r.Capacity == 4*mib && r.Schedulable, "registered volume: %+v", r)
	_, err = volumes.Register(&api.CSIVolume{ID: "go-vol", Name: "renamed", ExternalID: vol.ExternalID, PluginID: "local"}, nil)
	check(refused(err, 409, "volume name cannot be updated"), "rename by register: %v", err)
	_, err = volumes.Register(&api.CSIVolume{ID: "go-vol", ExternalID: "volumes/other.img", PluginID: "local"}, nil)
	check(refused(err, 409, "volume external ID cannot be updated"), "external id change by register: %v", err)
	_, err = volumes.Register(&api.CSIVolume{ID: "go-vol", ExternalID: vol.ExternalID, PluginID: "spare"}, nil)
	check(refused(err, 409, "volume plugin ID cannot be updated"), "plugin change by register: %v", err)
	step("Deregister with force, Register, RegisterOpts, and register's refusals")

	// Delete with secrets (DeleteOpts), and the older Delete.
	check(volumes.DeleteOpts(&api.CSIVolumeDeleteRequest{ExternalVolumeID: "go-vol", Secrets: api.CSISecrets{"token": "t"}}, nil) == nil, "delete")
	_, _, err = volumes.Info("go-vol", nil)
	check(refused(err, 404, ""), "deleted volume still read: %v", err)
	check(volumes.Delete("go-vol-b", nil) == nil, "delete (older form)")
	left := must2(volumes.List(nil))
	check(len(left) == 1 && left[0].ID == "go-vol-c", "volumes left: %+v", left)
	step("DeleteOpts with secrets, Delete")

	// Plugins: one per pool.
	plugins, _, err := client.CSIPlugins().List(nil)
	check(err == nil && len(plugins) == 2, "plugins: %v %+v", err, plugins)
	names := map[string]*api.CSIPluginListStub{}
	for _, p := range plugins {
		names[p.ID] = p
	}
	local := names["local"]
	check(local != nil && names["spare"] != nil && local.Provider == "file.volumed" && local.ControllerRequired && local.ControllersHealthy == 1 && local.ControllersExpected == 1 && local.NodesHealthy == 1, "plugin stub: %+v", local)
	plugin, _, err := client.CSIPlugins().Info("local", nil)
	check(err == nil && plugin.ID == "local" && plugin.Provider == "file.volumed" && plugin.Version != "" && plugin.ControllerRequired, "plugin: %v %+v", err, plugin)
	check(len(plugin.Controllers) == 1 && len(plugin.Nodes) == 1, "plugin controllers %d nodes %d", len(plugin.Controllers), len(plugin.Nodes))
	for _, c := range plugin.Controllers {
		check(c.Healthy && c.PluginID == "local" && c.ControllerInfo != nil && c.ControllerInfo.SupportsCreateDelete && c.ControllerInfo.SupportsCreateDeleteSnapshot && c.ControllerInfo.SupportsExpand && c.ControllerInfo.SupportsAttachDetach, "controller info: %+v %+v", c, c.ControllerInfo)
	}
	for _, n := range plugin.Nodes {
		check(n.Healthy && n.NodeInfo != nil && n.NodeInfo.ID != "", "node info: %+v %+v", n, n.NodeInfo)
	}
	_, _, err = client.CSIPlugins().Info("no-such-plugin", nil)
	check(refused(err, 404, ""), "missing plugin: %v", err)
	step("CSIPlugins List and Info")

	fmt.Printf("ok: Nomad's Go client worked against volumed (%d steps)\n", steps)
}

func must2[T any, M any](v T, _ M, err error) T {
	return must(v, err)
}
