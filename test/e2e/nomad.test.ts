// The Nomad CSI volume surface end to end, on real file pools, driven as
// Nomad's Go client drives it (test/e2e/nomad-client.ts): the Volumes HTTP
// API page's sample payloads, paging, prefix, plugin, node and filter,
// claims, detach, snapshots, deregister and register again, delete; the
// same volumes through the native API; blocking queries; ACLs; errors.

import { existsSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './harness.js';
import { NomadClient, UnexpectedResponse } from './nomad-client.js';

type Json = Record<string, unknown>;
const MiB = 1024 * 1024;
const CONFIG = 'pools:\n  - id: local\n    driver: file\n  - id: fast\n    driver: file\n';

async function refusal(call: Promise<unknown>): Promise<UnexpectedResponse> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof UnexpectedResponse)) throw new Error(`expected a refusal, got ${String(err)}`);
  return err;
}

/** Every field a Go client decodes has the type its struct field has. */
function expectGoVolume(v: Json): void {
  for (const f of ['ID', 'Name', 'Namespace', 'ExternalID', 'AccessMode', 'AttachmentMode', 'PluginID', 'Provider', 'SnapshotID', 'CloneID']) expect(typeof v[f], f).toBe('string');
  for (const f of ['Capacity', 'RequestedCapacityMin', 'RequestedCapacityMax', 'ControllersHealthy', 'ControllersExpected', 'NodesHealthy', 'NodesExpected', 'CreateIndex', 'ModifyIndex', 'CreateTime', 'ModifyTime']) {
    expect(Number.isInteger(v[f]), f).toBe(true);
  }
  expect(typeof v.Schedulable).toBe('boolean');
  // time.Time: RFC 3339, never a number.
  expect(String(v.ResourceExhausted)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(Array.isArray(v.Topologies)).toBe(true);
}

describe('Nomad CSI volume API', () => {
  let s: RunningServer;
  let nomad: NomadClient;
  const poolFile = (pool: string, rel: string): string => path.join(s.dataDir, 'pools', pool, rel);

  beforeAll(async () => {
    s = await startServer({ config: CONFIG });
    nomad = new NomadClient(s.url);
  });
  afterAll(async () => {
    await s.stop();
  });

  // The create payload of the Volumes HTTP API page, sized in MiB.
  const samplePayload = (id: string, extra: Json = {}): Json => ({
    ID: id,
    Name: 'volume one',
    Namespace: 'default',
    PluginID: 'local',
    MountOptions: { FsType: 'ext4', MountFlags: ['ro', 'noatime'] },
    RequestedCapacityMin: 8 * MiB,
    RequestedCapacityMax: 64 * MiB,
    RequestedCapabilities: [
      { AccessMode: 'single-node-writer', AttachmentMode: 'file-system' },
      { AccessMode: 'single-node-writer', AttachmentMode: 'block-device' },
    ],
    Secrets: { password: 'xyzzy-nomad-secret' },
    Topologies: [{ Segments: { foo: 'bar' } }],
    ...extra,
  });

  it('creates with the page sample payload, reads it back as the page shows it, secrets and flags redacted', async () => {
    const created = await nomad.create<Json>(samplePayload('volume-id1'));
    expect(created.Volumes).toHaveLength(1);
    const vol = created.Volumes[0] as Json;
    expectGoVolume(vol);
    expect(vol).toMatchObject({ ID: 'volume-id1', Name: 'volume one', Namespace: 'default', PluginID: 'local', Capacity: 8 * MiB, Schedulable: true, ExternalID: 'volumes/volume-id1.img' });
    expect(statSync(poolFile('local', 'volumes/volume-id1.img')).size).toBe(8 * MiB);

    const { body, meta } = await nomad.info<Json>('volume-id1');
    expectGoVolume(body);
    expect(meta.lastIndex).toBeGreaterThan(0);
    expect(meta.knownLeader).toBe(true);
    expect(body).toMatchObject({
      RequestedCapabilities: [
        { AccessMode: 'single-node-writer', AttachmentMode: 'file-system' },
        { AccessMode: 'single-node-writer', AttachmentMode: 'block-device' },
      ],
      MountOptions: { FSType: 'ext4', MountFlags: ['[REDACTED]'] },
      RequestedCapacityMin: 8 * MiB,
      RequestedCapacityMax: 64 * MiB,
      Topologies: [{ Segments: { foo: 'bar' } }],
      Secrets: null,
      ReadAllocs: {},
      WriteAllocs: {},
      Allocations: [],
      Provider: 'file.volumed',
    });
    expect(JSON.stringify(body)).not.toContain('xyzzy-nomad-secret');
    expect(JSON.stringify(body)).not.toContain('noatime');
  });

  it('accepts an identical re-send, expands on a larger minimum, and refuses a contradicting one naming the fields', async () => {
    const again = await nomad.create<Json>(samplePayload('volume-id1'));
    expect((again.Volumes[0] as Json).Capacity).toBe(8 * MiB);
    const grown = await nomad.create<Json>(samplePayload('volume-id1', { RequestedCapacityMin: 16 * MiB }));
    expect((grown.Volumes[0] as Json).Capacity).toBe(16 * MiB);
    expect(statSync(poolFile('local', 'volumes/volume-id1.img')).size).toBe(16 * MiB);
    const moved = await refusal(nomad.create(samplePayload('volume-id1', { PluginID: 'fast' })));
    expect(moved.status).toBe(409);
    expect(moved.text).toBe('volume volume-id1: volume plugin ID cannot be updated');
    // Nomad's CSIVolume.Merge: the name, the source and the parameters are fixed once set, all refusals said at once.
    const renamed = await refusal(nomad.create(samplePayload('volume-id1', { Name: 'another name', SnapshotID: 'snap-x', Parameters: { iops: '9' } })));
    expect([renamed.status, renamed.text]).toEqual([409, 'volume volume-id1: volume name cannot be updated; volume snapshot ID cannot be updated; volume parameters cannot be updated']);
    expect((await nomad.info<Json>('volume-id1')).body.Name).not.toBe('another name');
    // A batch whose second spec contradicts its volume writes neither.
    const batch = await s.api('PUT', '/v1/volume/csi/batch-new/create', { Volumes: [samplePayload('batch-new'), samplePayload('volume-id1', { Name: 'renamed in a batch' })] });
    expect([batch.status, batch.body]).toEqual([409, 'volume volume-id1: volume name cannot be updated']);
    expect((await refusal(nomad.info('batch-new'))).status).toBe(404);
    const small = await refusal(nomad.create(samplePayload('volume-id1', { RequestedCapacityMin: MiB, RequestedCapacityMax: 2 * MiB })));
    expect(small.status).toBe(409);
    expect(small.text).toContain('volume requested capacity update was not compatible with existing capacity (16777216 bytes, RequestedCapacityMax 2097152)');
  });

  it('refuses bad input with 400 naming the field, and nothing is written', async () => {
    const before = (await nomad.listVolumes<Json>()).body.length;
    const cases: [Json, string][] = [
      [{ ID: 'bad-1', PluginID: 'local', RequestedCapacityMin: 4 * MiB, RequestedCapacityMax: 2 * MiB }, 'Volumes[0].RequestedCapacityMin: must not exceed RequestedCapacityMax (2097152)'],
      [{ ID: 'bad-2', PluginID: 'nowhere', RequestedCapacityMin: MiB }, 'PluginID: no such pool: nowhere'],
      [{ ID: '.hidden', PluginID: 'local' }, 'ID: must be 1-128 letters'],
      [{ ID: 'bad-4', PluginID: 'local', RequestedCapabilities: [{ AccessMode: 'everyone', AttachmentMode: 'file-system' }] }, 'body.Volumes.0.RequestedCapabilities.0.AccessMode'],
      [{ ID: 'bad-5', PluginID: 'local', Parameters: { kind: 'tape' } }, 'Volumes[0].Parameters.kind: must be block or file'],
      [{ ID: 'bad-6', PluginID: 'local', Colour: 'blue' }, 'body.Volumes.0.Colour: unknown field'],
    ];
    for (const [spec, message] of cases) {
      const err = await refusal(nomad.put(`/v1/volume/csi/${encodeURIComponent(String(spec.ID))}/create`, { Volumes: [spec] }));
      expect(err.status, JSON.stringify(spec)).toBe(400);
      expect(err.text).toContain(message);
    }
    const mismatch = await refusal(nomad.put('/v1/volume/csi/other/create', { Volumes: [{ ID: 'bad-7', PluginID: 'local' }] }));
    expect(mismatch.text).toBe('Volumes[0].ID: bad-7 does not match the id in the path, other');
    // A batch is checked whole before anything is made: the good first spec is not created either.
    const batch = await refusal(nomad.put('/v1/volume/csi/batch/create', { Volumes: [{ ID: 'batch-ok', PluginID: 'local', RequestedCapacityMin: MiB }, { ID: 'batch-bad', PluginID: 'local', SnapshotID: 'a', CloneID: 'b' }] }));
    expect([batch.status, batch.text]).toEqual([400, 'Volumes[1].CloneID: give SnapshotID or CloneID, not both']);
    const garbage = await refusal(nomad.put('/v1/volume/csi/x/create', '{"Volumes": ['));
    expect(garbage.status).toBe(400);
    expect((await nomad.listVolumes<Json>()).body.length).toBe(before);
    const missing = await refusal(nomad.info('no-such-volume'));
    expect([missing.status, missing.text]).toEqual([404, 'volume not found: no-such-volume']);
  });

  it('lists stubs with per_page and X-Nomad-NextToken, prefix, plugin_id and filter', async () => {
    for (const [id, pool] of [
      ['web-a', 'local'],
      ['web-b', 'fast'],
      ['web-c', 'local'],
      ['db-a', 'fast'],
    ] as const) {
      await nomad.create({ ID: id, PluginID: pool, RequestedCapacityMin: MiB, RequestedCapabilities: [{ AccessMode: 'multi-node-multi-writer', AttachmentMode: 'file-system' }] });
    }
    const all = (await nomad.listVolumes<Json>()).body.map((v) => v.ID).sort();
    expect(all).toEqual(['db-a', 'volume-id1', 'web-a', 'web-b', 'web-c']);
    const stub = (await nomad.listVolumes<Json>({ prefix: 'web-a' })).body[0] as Json;
    expect(Object.keys(stub)).toEqual(expect.arrayContaining(['ID', 'ExternalID', 'Namespace', 'Name', 'Topologies', 'AccessMode', 'AttachmentMode', 'Schedulable', 'PluginID', 'Provider', 'ControllerRequired', 'ControllersHealthy', 'ControllersExpected', 'NodesHealthy', 'NodesExpected', 'ResourceExhausted', 'CurrentReaders', 'CurrentWriters', 'CreateIndex', 'ModifyIndex']));
    expect(stub).not.toHaveProperty('Allocations');

    // Pages of two, in id order; the token is the next page's first id.
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const { body, meta } = await nomad.listVolumes<Json>({ perPage: 2, nextToken: token });
      seen.push(...body.map((v) => String(v.ID)));
      token = meta.nextToken;
      pages++;
    } while (token);
    expect(seen).toEqual(['db-a', 'volume-id1', 'web-a', 'web-b', 'web-c']);
    expect(pages).toBe(3);

    const ids = async (q: Parameters<NomadClient['listVolumes']>[0]): Promise<string[]> => (await nomad.listVolumes<Json>(q)).body.map((v) => String(v.ID)).sort();
    expect(await ids({ prefix: 'web-' })).toEqual(['web-a', 'web-b', 'web-c']);
    expect(await ids({ params: { plugin_id: 'fa' } })).toEqual(['db-a', 'web-b']);
    expect(await ids({ filter: 'PluginID == "local" and ID matches "^web"' })).toEqual(['web-a', 'web-c']);
    expect(await ids({ filter: 'Topologies is not empty' })).toEqual(['volume-id1']);
    expect(await ids({ filter: 'not (PluginID == fast) and Capacity == 1' })).toEqual([]);
    // The filter applies before per_page: two matches a page.
    const first = await nomad.listVolumes<Json>({ filter: 'ID contains "-"', perPage: 2, prefix: 'web' });
    expect(first.body.map((v) => v.ID)).toEqual(['web-a', 'web-b']);
    expect(first.meta.nextToken).toBe('web-c');

    const bad = await refusal(nomad.listVolumes({ filter: 'PluginID == "local" and' }));
    expect(bad.status).toBe(400);
    expect(bad.text).toBe('failed to read filter expression: 1:24 (23): expected a selector or a value');
    expect((await s.api('GET', '/v1/volumes')).body).toEqual([]);
    expect((await s.api('GET', '/v1/volumes?type=host')).body).toEqual([]);
  });

  it('claims through attachments, names the claims that hold a volume, and detaches a node', async () => {
    const claim = (id: string, alloc: string, node: string, mode: 'read' | 'write' | 'release') =>
      nomad.put<{ Volume: Json }>(`/v1/volume/csi/${id}/claim`, { AllocationID: alloc, NodeID: node, Claim: mode, AccessMode: 'single-node-writer', AttachmentMode: 'file-system' });
    const held = await claim('volume-id1', 'alloc-1', 'node-aa11', 'write');
    expect(held.Volume).toMatchObject({ CurrentWriters: 1, WriteAllocs: { 'alloc-1': null }, AccessMode: 'single-node-writer', AttachmentMode: 'file-system' });
    expect((held.Volume.Allocations as Json[])[0]).toMatchObject({ ID: 'alloc-1', NodeID: 'node-aa11', ClientStatus: 'running' });

    const refused = await refusal(claim('volume-id1', 'alloc-2', 'node-bb22', 'write'));
    expect(refused.status).toBe(409);
    expect(refused.text).toBe('volume volume-id1 is single-node-writer and attached on node node-aa11 (instance alloc-1); cannot attach on node node-bb22');

    // Through the native API the claim is an attachment.
    const native = await s.api<{ attachments: Json[] }>('GET', '/api/v1/volumes/volume-id1/attachments');
    expect(native.body.attachments).toMatchObject([{ node: 'node-aa11', instance: 'alloc-1', mode: 'rw', status: 'attached' }]);

    expect((await nomad.listVolumes<Json>({ params: { node_id: 'node-aa' } })).body.map((v) => v.ID)).toEqual(['volume-id1']);
    expect((await nomad.listVolumes<Json>({ params: { node_id: 'node-bb' } })).body).toEqual([]);

    const blocked = await refusal(nomad.deregister('volume-id1', false));
    expect(blocked.status).toBe(400);
    expect(blocked.text).toContain('in use by alloc-1@node-aa11 (rw, attached)');
    const forced = await refusal(nomad.deregister('volume-id1', true));
    expect(forced.text).toContain('alloc-1@node-aa11');

    await nomad.detach('volume-id1', 'node-aa11');
    const after = (await nomad.info<Json>('volume-id1')).body;
    expect(after).toMatchObject({ CurrentWriters: 0, CurrentReaders: 0, Allocations: [], AccessMode: '' });
    const missingNode = await refusal(nomad.delete('/v1/volume/csi/volume-id1/detach'));
    expect([missingNode.status, missingNode.text]).toEqual([400, 'node: detach requires node ID (the query parameter node)']);
  });

  it('creates, lists and deletes snapshots, and creates a volume from one', async () => {
    await fs.writeFile(poolFile('local', 'volumes/volume-id1.img'), 'nomad bytes', { flag: 'r+' });
    const made = await nomad.createSnapshot<Json>({ SourceVolumeID: 'volume-id1', PluginID: 'local', Name: 'mysnap', Secrets: { password: 'xyzzy' }, Parameters: { example: 'infrequent_access' } });
    const snap = made.Snapshots[0] as Json;
    expect(snap).toMatchObject({ SourceVolumeID: 'volume-id1', PluginID: 'local', IsReady: true, SizeBytes: 16 * MiB, ExternalSourceVolumeID: 'volumes/volume-id1.img' });
    expect(Number.isInteger(snap.CreateTime)).toBe(true);
    // The form in the page's sample request.
    const second = await nomad.put<{ Snapshots: Json[] }>('/v1/volume/csi/volume-id1/snapshot', { Snapshots: [{ PluginID: 'local', Name: 'second' }] });
    expect(second.Snapshots[0]).toMatchObject({ SourceVolumeID: 'volume-id1', Name: 'second' });

    const page1 = await nomad.listSnapshots<Json>('local', { perPage: 1 });
    expect(page1.body.Snapshots).toHaveLength(1);
    expect(page1.body.NextToken).not.toBe('');
    const page2 = await nomad.listSnapshots<Json>('local', { perPage: 1, nextToken: page1.body.NextToken });
    expect(page2.body.Snapshots).toHaveLength(1);
    expect(page2.body.NextToken).toBe('');
    expect([page1.body.Snapshots[0]?.ID, page2.body.Snapshots[0]?.ID].sort()).toEqual([snap.ID, second.Snapshots[0]?.ID].sort());
    expect((await nomad.listSnapshots<Json>('fast')).body.Snapshots).toEqual([]);

    const clone = await nomad.create<Json>({ ID: 'from-snap', PluginID: 'local', SnapshotID: String(snap.ID) });
    expect(clone.Volumes[0]).toMatchObject({ SnapshotID: snap.ID, Capacity: 16 * MiB });
    const bytes = await fs.readFile(poolFile('local', 'volumes/from-snap.img'));
    expect(bytes.subarray(0, 11).toString()).toBe('nomad bytes');

    const wrongPlugin = await refusal(nomad.deleteSnapshot(String(second.Snapshots[0]?.ID), 'fast'));
    expect([wrongPlugin.status, wrongPlugin.text]).toEqual([400, `plugin_id: volume volume-id1 is in plugin local, not fast`]);
    await nomad.deleteSnapshot(String(second.Snapshots[0]?.ID), 'local');
    expect((await nomad.listSnapshots<Json>('local')).body.Snapshots.map((x) => x.ID)).toEqual([snap.ID]);
  });

  it('deregisters (bytes kept), lists the object as external, registers it again by ExternalID, and deletes it from storage', async () => {
    await nomad.deregister('web-a', false);
    expect(existsSync(poolFile('local', 'volumes/web-a.img'))).toBe(true);
    expect((await refusal(nomad.info('web-a'))).status).toBe(404);
    // The id names a file the pool still holds: a create may not take it over.
    const taken = await refusal(nomad.create({ ID: 'web-a', PluginID: 'local', RequestedCapacityMin: MiB }));
    expect(taken.status).toBe(409);
    expect(taken.text).toContain('already holds a storage object for volume id web-a');

    const external = await nomad.listExternal<Json>('local', { perPage: 100 });
    const row = external.body.Volumes.find((v) => v.ExternalID === 'volumes/web-a.img');
    expect(row).toMatchObject({ CapacityBytes: MiB, IsAbnormal: false, PublishedExternalNodeIDs: [] });
    const paged = await nomad.listExternal<Json>('local', { perPage: 1 });
    expect(paged.body.Volumes).toHaveLength(1);
    expect(paged.body.NextToken).not.toBe('');

    // The register payload of the page, as curl sends it (form-encoded label, JSON body), segments written flat.
    const sample = {
      Volumes: [
        {
          ExternalID: 'volumes/web-a.img',
          ID: 'web-a',
          Name: 'web again',
          Namespace: 'default',
          PluginID: 'local',
          RequestedCapabilities: [
            { AccessMode: 'single-node-writer', AttachmentMode: 'file-system' },
            { AccessMode: 'single-node-writer', AttachmentMode: 'block-device' },
          ],
          Secrets: { password: 'xyzzy' },
          Topologies: [{ foo: 'bar' }],
        },
      ],
    };
    const curl = await s.api('PUT', '/v1/volume/csi/web-a', JSON.stringify(sample), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(curl.status).toBe(200);
    expect((await nomad.info<Json>('web-a')).body).toMatchObject({ Name: 'web again', ExternalID: 'volumes/web-a.img', Capacity: MiB, Topologies: [{ Segments: { foo: 'bar' } }], RequestedCapabilities: sample.Volumes[0]?.RequestedCapabilities });
    // An identical re-send is an update; one that changes what Nomad fixes is refused in Nomad's words.
    await nomad.register({ ID: 'web-a', Name: 'web again', ExternalID: 'volumes/web-a.img', PluginID: 'local' });
    const renamed = await refusal(nomad.register({ ID: 'web-a', Name: 'web renamed', ExternalID: 'volumes/web-a.img', PluginID: 'local' }));
    expect([renamed.status, renamed.text]).toEqual([409, 'volume web-a: volume name cannot be updated']);
    expect((await nomad.info<Json>('web-a')).body.Name).toBe('web again');
    const clash = await refusal(nomad.register({ ID: 'web-a', ExternalID: 'volumes/web-c.img', PluginID: 'local' }));
    expect([clash.status, clash.text]).toEqual([409, 'volume web-a: volume external ID cannot be updated']);
    const noObject = await refusal(nomad.register({ ID: 'ghost', ExternalID: 'volumes/none.img', PluginID: 'local' }));
    expect(noObject.status).toBe(400);
    const noExternal = await refusal(nomad.register({ ID: 'ghost', PluginID: 'local' }));
    expect(noExternal.text).toBe('Volumes[0].ExternalID: is required: the storage object to register');

    await nomad.deleteVolume('web-a', { token: 'for-the-driver' });
    expect(existsSync(poolFile('local', 'volumes/web-a.img'))).toBe(false);
    expect((await refusal(nomad.info('web-a'))).status).toBe(404);
  });

  it('shows volumes of the native API, and the native API shows those made here', async () => {
    const native = await s.api<{ volume: Json }>('POST', '/api/v1/volumes?wait=true', { name: 'native-made', sizeBytes: 2 * MiB, pool: 'fast' });
    const id = String(native.body.volume.id);
    expect((await nomad.info<Json>(id)).body).toMatchObject({ ID: id, Name: 'native-made', PluginID: 'fast', Capacity: 2 * MiB });
    const seen = await s.api<{ volume: Json }>('GET', '/api/v1/volumes/web-b');
    expect(seen.status).toBe(200);
    expect(seen.body.volume).toMatchObject({ id: 'web-b', poolId: 'fast', sizeBytes: MiB, status: 'available' });
  });

  it('answers a blocking list when the native API changes a volume, not before', async () => {
    const { meta } = await nomad.listVolumes<Json>();
    const started = Date.now();
    const waiting = nomad.listVolumes<Json>({ index: meta.lastIndex, waitMs: 20_000 });
    let answered = false;
    void waiting.then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    expect((await s.api('PATCH', '/api/v1/volumes/web-c', { name: 'renamed natively' })).status).toBe(200);
    const woke = await waiting;
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(woke.meta.lastIndex).toBeGreaterThan(meta.lastIndex);
    expect(woke.body.find((v) => v.ID === 'web-c')?.Name).toBe('renamed natively');
    // A blocking read of one volume wakes on that volume only.
    const info = await nomad.info<Json>('web-c');
    const short = await nomad.info<Json>('web-c', { index: info.meta.lastIndex, waitMs: 200 });
    expect(short.meta.lastIndex).toBe(info.meta.lastIndex);
  });

  it('serves pools as CSI plugins', async () => {
    const plugins = await nomad.listPlugins<Json>();
    expect(plugins.body.map((p) => p.ID).sort()).toEqual(['fast', 'local']);
    expect(plugins.body[0]).toMatchObject({ Provider: 'file.volumed', ControllersHealthy: 1, NodesHealthy: 1 });
    const info = await nomad.pluginInfo<Json>('local');
    expect(info.body).toMatchObject({ ID: 'local', Version: '0.1.0' });
    // One node, named by a UUID as Nomad's nodes are (Nomad's CLI prints the first 8 characters).
    const [node] = Object.keys(info.body.Nodes as Json);
    expect(node).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Object.keys(info.body.Controllers as Json)).toEqual([node]);
    expect((info.body.Controllers as Record<string, Json>)[node ?? '']).toMatchObject({ Healthy: true, ControllerInfo: { SupportsCreateDelete: true, SupportsCreateDeleteSnapshot: true, SupportsExpand: true } });
    expect((info.body.Nodes as Record<string, Json>)[node ?? '']).toMatchObject({ Healthy: true, NodeInfo: { ID: node } });
    // `nomad plugin status <id>` looks the plugin up by prefix first.
    expect((await nomad.listPlugins<Json>({ prefix: 'lo' })).body.map((p) => p.ID)).toEqual(['local']);
    expect((await refusal(nomad.pluginInfo('nope'))).status).toBe(404);
    expect((await s.api('GET', '/v1/plugins')).body).toEqual([]);
  });
});

describe('Nomad CSI volume API with ACLs', () => {
  let s: RunningServer;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    s = await startServer({ config: CONFIG, args: ['--acl'] });
    const boot = await s.api<{ secretId: string }>('POST', '/api/v1/acl/bootstrap');
    tokens.root = boot.body.secretId;
    const root = { 'X-Nomad-Token': boot.body.secretId };
    const policies: Record<string, Json[]> = {
      'dev-writer': [{ namespace: 'dev', capabilities: ['write-volume'] }],
      'prod-reader': [{ namespace: 'prod', capabilities: ['read-volume'] }],
      'team-mounter': [{ namespace: 'team-*', capabilities: ['mount-volume'] }],
    };
    for (const [name, rules] of Object.entries(policies)) {
      await s.api('POST', '/api/v1/acl/policies', { name, rules }, root);
      tokens[name] = (await s.api<{ secretId: string }>('POST', '/api/v1/acl/tokens', { name, policies: [name] }, root)).body.secretId;
    }
    const admin = new NomadClient(s.url, tokens.root);
    for (const ns of ['dev', 'prod', 'team-a']) await admin.create({ ID: `vol-${ns}`, PluginID: 'local', RequestedCapacityMin: MiB, Namespace: ns });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('lists what the token may list with namespace=*, one namespace otherwise', async () => {
    const as = (name: string) => new NomadClient(s.url, tokens[name]);
    const ids = async (name: string, namespace?: string) => (await as(name).listVolumes<Json>(namespace ? { namespace } : {})).body.map((v) => v.ID).sort();
    expect(await ids('root', '*')).toEqual(['vol-dev', 'vol-prod', 'vol-team-a']);
    expect(await ids('dev-writer', '*')).toEqual(['vol-dev']);
    expect(await ids('prod-reader', '*')).toEqual(['vol-prod']);
    expect(await ids('prod-reader', 'prod')).toEqual(['vol-prod']);
    expect(await ids('root')).toEqual([]);
    expect((await refusal(as('prod-reader').listVolumes({ namespace: 'dev' }))).status).toBe(403);
  });

  it('reads, writes and mounts only where the policy says', async () => {
    const as = (name: string) => new NomadClient(s.url, tokens[name]);
    expect((await as('prod-reader').info<Json>('vol-prod')).body.ID).toBe('vol-prod');
    expect((await refusal(as('prod-reader').info('vol-dev'))).status).toBe(404);
    const write = await refusal(as('prod-reader').create({ ID: 'new-prod', PluginID: 'local', RequestedCapacityMin: MiB }, 'prod'));
    expect(write.status).toBe(403);
    expect(write.text).toContain('Permission denied');
    await as('dev-writer').create({ ID: 'new-dev', PluginID: 'local', RequestedCapacityMin: MiB }, 'dev');
    // The namespace may come in the body instead of the query.
    const elsewhere = await refusal(as('dev-writer').create({ ID: 'sneaky', PluginID: 'local', RequestedCapacityMin: MiB, Namespace: 'prod' }));
    expect(elsewhere.status).toBe(403);
    const claim = { AllocationID: 'a1', NodeID: 'n1', Claim: 'read' };
    expect((await refusal(as('dev-writer').put('/v1/volume/csi/vol-dev/claim', claim))).status).toBe(403);
    await as('team-mounter').put('/v1/volume/csi/vol-team-a/claim', claim);
    const unknown = await refusal(new NomadClient(s.url, 'made-up-token').listVolumes());
    expect([unknown.status, unknown.text]).toEqual([403, 'ACL token not found']);
  });
});
