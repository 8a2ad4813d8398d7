// A volumed server with a `csi` pool on volumed's own plugin in a child
// process, end to end through the native API: create, attach (the plugin's
// publish context is the attachment's connection info), snapshot, clone,
// create from snapshot, expand, detach, delete; what CSI lacks (revert) is
// refused clearly; with root, a migration to a file pool reads the bytes
// through the plugin's Node service.

import { existsSync, readFileSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsiClient } from '../../src/drivers/csi/client.js';
import type { Attachment, Snapshot, Task, Volume } from '../../src/domain/types.js';
import { mountsUnavailable, startPlugin, type RunningPlugin } from './csi-harness.js';
import { startServer, type RunningServer } from './harness.js';

const MiB = 1024 * 1024;

describe('a csi pool through the native API', () => {
  let plugin: RunningPlugin;
  let s: RunningServer;
  let csi: CsiClient;
  /** Where the plugin keeps a volume (its own file pool): the plugin's volume id is volumed's id. */
  const image = (id: string): string => path.join(plugin.dir, 'data', 'pools', 'local', 'volumes', `${id}.img`);

  beforeAll(async () => {
    plugin = await startPlugin({ nodeId: 'plugin-node', alsoNodes: ['worker-1'] });
    s = await startServer({ config: `pools:\n  - { id: local, driver: file }\n  - { id: ext, driver: csi, endpoint: "${plugin.endpoint}", parameters: { pool: local }, secrets: { apiKey: s3cr3t-value } }\ntypes:\n  - { name: tiered, extraSpecs: { "csi:tier": gold } }\n  - { name: on-ext, extraSpecs: { volume_backend_name: ext } }\n` });
    csi = new CsiClient({ endpoint: plugin.endpoint });
  });
  afterAll(async () => {
    csi.close();
    await s.stop();
    await plugin.stop();
  });

  it('shows the pool with what the plugin declared, and never its secrets', async () => {
    const pool = await s.api<{ pool: { driver: string; config: Record<string, unknown>; capabilities: Record<string, unknown> } }>('GET', '/api/v1/pools/ext');
    expect(pool.body.pool).toMatchObject({ driver: 'csi', config: { plugin: 'csi.volumed.io', nodeId: 'plugin-node', parameters: { pool: 'local' } } });
    expect(pool.body.pool.capabilities).toMatchObject({ snapshot: true, cloneVolume: true, extend: true, revertToSnapshot: false, listVolumes: true });
    expect(JSON.stringify(pool.body)).not.toContain('s3cr3t-value');
  });

  it('creates, attaches, snapshots, clones, expands, detaches and deletes', async () => {
    const created = await s.api<{ volume: Volume }>('POST', '/api/v1/volumes?wait=true', { name: 'on-csi', sizeBytes: 4 * MiB, pool: 'ext', type: 'tiered' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.volume.id;
    // The pool's parameters and the type's csi: specs were the CreateVolume parameters.
    const made = await csi.call<{ volume: { volume_context: Record<string, string> } }>('controller', 'ControllerGetVolume', { volume_id: id });
    expect(made.volume.volume_context).toMatchObject({ tier: 'gold', pool: 'local', kind: 'block' });
    expect(created.body.volume).toMatchObject({ status: 'available', poolId: 'ext', externalId: id });
    expect(statSync(image(id)).size).toBe(4 * MiB);

    const attached = await s.api<{ attachment: Attachment }>('POST', `/api/v1/volumes/${id}/attachments?wait=true`, { node: 'worker-1' });
    expect(attached.status, JSON.stringify(attached.body)).toBe(200);
    const info = attached.body.attachment.connectionInfo as { driverVolumeType: string; nodeId: string; publishContext: Record<string, string> };
    expect(info).toMatchObject({ driverVolumeType: 'csi', nodeId: 'worker-1', publishContext: { driverVolumeType: 'file', node: 'worker-1', path: image(id) } });
    const seen = await csi.call<{ status: { published_node_ids: string[] } }>('controller', 'ControllerGetVolume', { volume_id: id });
    expect(seen.status.published_node_ids).toEqual(['worker-1']);

    const bytes = Buffer.from('bytes kept across snapshot and clone');
    await fs.writeFile(image(id), bytes, { flag: 'r+' });
    const snap = await s.api<{ snapshot: Snapshot }>('POST', `/api/v1/volumes/${id}/snapshots?wait=true`, { name: 'snap', force: true });
    expect(snap.status, JSON.stringify(snap.body)).toBe(201);
    expect(snap.body.snapshot.status).toBe('available');
    const clone = await s.api<{ volume: Volume }>('POST', '/api/v1/volumes?wait=true', { name: 'clone', sizeBytes: 4 * MiB, pool: 'ext', source: { volumeId: id } });
    const fromSnap = await s.api<{ volume: Volume }>('POST', '/api/v1/volumes?wait=true', { name: 'restored', sizeBytes: 6 * MiB, pool: 'ext', source: { snapshotId: snap.body.snapshot.id } });
    for (const v of [clone.body.volume, fromSnap.body.volume]) {
      expect(v.status).toBe('available');
      expect(readFileSync(image(v.id)).subarray(0, bytes.length).equals(bytes)).toBe(true);
    }
    expect(statSync(image(fromSnap.body.volume.id)).size).toBe(6 * MiB);

    const grown = await s.api<{ volume: Volume }>('POST', `/api/v1/volumes/${id}/extend?wait=true`, { newSizeBytes: 8 * MiB });
    expect(grown.body.volume.sizeBytes).toBe(8 * MiB);
    expect(statSync(image(id)).size).toBe(8 * MiB);
    expect(readFileSync(image(id)).subarray(0, bytes.length).equals(bytes)).toBe(true);

    const detached = await s.api<{ task: Task }>('DELETE', `/api/v1/volumes/${id}/attachments/${attached.body.attachment.id}?wait=true`);
    expect(detached.body.task.state).toBe('success');
    expect((await csi.call<{ status: { published_node_ids: string[] } }>('controller', 'ControllerGetVolume', { volume_id: id })).status.published_node_ids).toEqual([]);

    // CSI has no revert: the pool cannot, and says so.
    const revert = await s.api<{ error: { code: string; message: string } }>('POST', `/api/v1/volumes/${id}/revert`, { snapshotId: snap.body.snapshot.id });
    expect([revert.status, revert.body.error.code]).toEqual([501, 'unsupported']);
    expect(revert.body.error.message).toContain('revert');

    for (const v of [clone.body.volume.id, fromSnap.body.volume.id]) expect((await s.api('DELETE', `/api/v1/volumes/${v}?wait=true`)).status).toBe(200);
    expect((await s.api('DELETE', `/api/v1/volumes/${id}?wait=true&cascade=true`)).status).toBe(200);
    for (const v of [id, clone.body.volume.id, fromSnap.body.volume.id]) expect(existsSync(image(v))).toBe(false);
    // The pool's secret went to every call, and into no log.
    expect(s.output() + plugin.output()).not.toContain('s3cr3t-value');
    expect((await csi.call<{ entries: unknown[] }>('controller', 'ListSnapshots', {})).entries).toEqual([]);
  });

  it("serves Nomad's and Cinder's surfaces from the csi pool: create, snapshot, extend, delete", async () => {
    type Json = Record<string, unknown>;
    // Nomad: the pool is the plugin.
    const nomad = await s.api<{ Volumes: Json[] }>('PUT', '/v1/volume/csi/nomad-on-ext/create', { Volumes: [{ ID: 'nomad-on-ext', PluginID: 'ext', RequestedCapacityMin: 2 * MiB, RequestedCapabilities: [{ AccessMode: 'single-node-writer', AttachmentMode: 'block-device' }] }] });
    expect(nomad.status, JSON.stringify(nomad.body)).toBe(200);
    expect(nomad.body.Volumes[0]).toMatchObject({ ID: 'nomad-on-ext', PluginID: 'ext', Capacity: 2 * MiB, ExternalID: 'nomad-on-ext', Schedulable: true });
    expect(statSync(image('nomad-on-ext')).size).toBe(2 * MiB);
    const snaps = await s.api<{ Snapshots: Json[] }>('PUT', '/v1/volumes/snapshot', { Snapshots: [{ SourceVolumeID: 'nomad-on-ext', PluginID: 'ext', Name: 'nomad-snap' }] });
    expect(snaps.body.Snapshots[0]).toMatchObject({ SourceVolumeID: 'nomad-on-ext', PluginID: 'ext', IsReady: true, SizeBytes: 2 * MiB });
    const listed = await s.api<{ Snapshots: Json[] }>('GET', '/v1/volumes/snapshot?plugin_id=ext');
    expect(listed.body.Snapshots.map((x) => x.ID)).toEqual([snaps.body.Snapshots[0]?.ID]);
    expect((await s.api('DELETE', `/v1/volumes/snapshot?plugin_id=ext&snapshot_id=${String(snaps.body.Snapshots[0]?.ID)}`)).status).toBe(200);
    const grown = await s.api<{ Volumes: Json[] }>('PUT', '/v1/volume/csi/nomad-on-ext/create', { Volumes: [{ ID: 'nomad-on-ext', PluginID: 'ext', RequestedCapacityMin: 4 * MiB, RequestedCapabilities: [{ AccessMode: 'single-node-writer', AttachmentMode: 'block-device' }] }] });
    expect(grown.body.Volumes[0]).toMatchObject({ Capacity: 4 * MiB });
    expect(statSync(image('nomad-on-ext')).size).toBe(4 * MiB);
    expect((await s.api('DELETE', '/v1/volume/csi/nomad-on-ext/delete')).status).toBe(200);
    expect(existsSync(image('nomad-on-ext'))).toBe(false);

    // Cinder: a type whose backend is the csi pool.
    const poll = async (p: string, key: string, until: (v: Json) => boolean): Promise<Json> => {
      for (let i = 0; i < 200; i++) {
        const r = await s.api<Record<string, Json>>('GET', p);
        const v = r.body[key];
        if (v && until(v)) return v;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`${p} never settled`);
    };
    const made = await s.api<{ volume: Json }>('POST', '/v3/demo/volumes', { volume: { size: 1, name: 'cinder-on-ext', volume_type: 'on-ext' } });
    expect(made.status, JSON.stringify(made.body)).toBe(202);
    const vid = String(made.body.volume.id);
    const ready = await poll(`/v3/demo/volumes/${vid}`, 'volume', (v) => v.status !== 'creating');
    expect(ready).toMatchObject({ status: 'available', size: 1, volume_type: 'on-ext', 'os-vol-host-attr:host': 'volumed@ext#ext' });
    expect(statSync(image(vid)).size).toBe(1024 * MiB);
    const snap = await s.api<{ snapshot: Json }>('POST', '/v3/demo/snapshots', { snapshot: { volume_id: vid, name: 'cinder-snap' } });
    expect(snap.status, JSON.stringify(snap.body)).toBe(202);
    const sid = String(snap.body.snapshot.id);
    expect(await poll(`/v3/demo/snapshots/${sid}`, 'snapshot', (x) => x.status !== 'creating')).toMatchObject({ status: 'available', volume_id: vid });
    expect((await s.api('DELETE', `/v3/demo/snapshots/${sid}`)).status).toBe(202);
    await poll('/v3/demo/snapshots', 'snapshots', (x) => (x as unknown as Json[]).length === 0);
    expect((await s.api('POST', `/v3/demo/volumes/${vid}/action`, { 'os-extend': { new_size: 2 } })).status).toBe(202);
    expect(await poll(`/v3/demo/volumes/${vid}`, 'volume', (v) => v.status === 'available' && v.size === 2)).toMatchObject({ size: 2 });
    expect(statSync(image(vid)).size).toBe(2048 * MiB);
    expect((await s.api('DELETE', `/v3/demo/volumes/${vid}`)).status).toBe(202);
    for (let i = 0; i < 200 && existsSync(image(vid)); i++) await new Promise((r) => setTimeout(r, 25));
    expect(existsSync(image(vid))).toBe(false);
  });

  it.skipIf(mountsUnavailable() !== undefined)('migrates a volume off the csi pool, its bytes read through the plugin\'s Node service', async () => {
    const created = await s.api<{ volume: Volume }>('POST', '/api/v1/volumes?wait=true', { name: 'mover', sizeBytes: 2 * MiB, pool: 'ext' });
    const id = created.body.volume.id;
    const bytes = Buffer.from('carried from the plugin into a file pool');
    await fs.writeFile(image(id), bytes, { flag: 'r+' });
    const moved = await s.api<{ volume: Volume; task: Task }>('POST', `/api/v1/volumes/${id}/migrate?wait=true`, { pool: 'local' });
    expect(moved.body.task.state, JSON.stringify(moved.body.task)).toBe('success');
    expect(moved.body.volume.poolId).toBe('local');
    const local = readFileSync(path.join(s.dataDir, 'pools', 'local', 'volumes', `${id}.img`));
    expect(local.length).toBe(2 * MiB);
    expect(local.subarray(0, bytes.length).equals(bytes)).toBe(true);
    expect(existsSync(image(id))).toBe(false);
  });
});

describe('a csi pool whose plugin fronts another volumed (--server)', () => {
  let storage: RunningServer;
  let plugin: RunningPlugin;
  let s: RunningServer;

  beforeAll(async () => {
    storage = await startServer({ config: 'pools:\n  - { id: local, driver: file }\ntypes:\n  - { name: fast }\n  - { name: slow }\n' });
    plugin = await startPlugin({ server: storage.url, nodeId: 'storage-node' });
    s = await startServer({
      config: `pools:\n  - { id: remote, driver: csi, endpoint: "${plugin.endpoint}" }\ntypes:\n  - { name: csi-fast, extraSpecs: { "csi:type": fast, "csi:tier": gold } }\n  - { name: csi-slow, extraSpecs: { "csi:type": slow } }\n`,
    });
  });
  afterAll(async () => {
    await s.stop();
    await plugin.stop();
    await storage.stop();
  });

  it("hands a type's csi: specs to CreateVolume, ModifyVolume on retype, and reports the plugin's volume condition as health", async () => {
    const types = (await storage.api<{ types: { id: string; name: string }[] }>('GET', '/api/v1/types')).body.types;
    const typeId = (name: string): string | undefined => types.find((t) => t.name === name)?.id;
    const made = await s.api<{ volume: Volume }>('POST', '/api/v1/volumes?wait=true', { name: 'typed', sizeBytes: 2 * MiB, pool: 'remote', type: 'csi-fast' });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const id = made.body.volume.id;
    const behind = async (): Promise<Volume> => (await storage.api<{ volume: Volume }>('GET', `/api/v1/volumes/${id}`)).body.volume;
    expect((await behind()).typeId).toBe(typeId('fast'));

    const retyped = await s.api<{ volume: Volume; task: Task }>('POST', `/api/v1/volumes/${id}/retype?wait=true`, { type: 'csi-slow' });
    expect(retyped.body.task.state, JSON.stringify(retyped.body.task)).toBe('success');
    expect((await behind()).typeId).toBe(typeId('slow'));

    // The storage behind the plugin fails the volume: CNS reports it red though volumed's record is available.
    const health = async (): Promise<unknown> => {
      const login = await fetch(`${s.url}/sdk/vim25/8.0.3.0/SessionManager/SessionManager/Login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userName: 'a', password: 'b' }) });
      const session = login.headers.get('vmware-api-session-id') ?? '';
      const res = await fetch(`${s.url}/sdk/vim25/8.0.3.0/vsan/CnsVolumeManager/cns-volume-manager/CnsQueryVolume`, { method: 'POST', headers: { 'content-type': 'application/json', 'vmware-api-session-id': session }, body: JSON.stringify({ filter: { volumeIds: [{ id }] } }) });
      return ((await res.json()) as { volumes: { healthStatus: string }[] }).volumes[0]?.healthStatus;
    };
    expect(await health()).toBe('green');
    expect((await storage.api('POST', `/api/v1/volumes/${id}/reset-status`, { status: 'error' })).status).toBe(200);
    expect(await health()).toBe('red');
    expect((await s.api<{ volume: Volume }>('GET', `/api/v1/volumes/${id}`)).body.volume.status).toBe('available');
  });
});
