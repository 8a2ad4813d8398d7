// `volumed csi-plugin` against the CSI spec, driven as a CO drives it (a
// gRPC client on its socket): identity, idempotency by name, the spec's
// error codes, paging tokens, and the node cycle with real mounts — a mount
// volume bind-mounted through staging into a target, a block volume as a
// loop device — undone to the last mount and loop device, also on failure.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsiClient, CsiStatusError, type CsiService } from '../../src/drivers/csi/client.js';
import type { CsiSnapshot, CsiVolume, StringMap } from '../../src/protocols/csi.js';
import { mountsUnavailable, releaseUnder, startPlugin, type RunningPlugin } from './csi-harness.js';
import { MAIN, startServer } from './harness.js';

const MiB = 1024 * 1024;
const MOUNT = { mount: { fs_type: '', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const BLOCK = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

/** The status a call ends with ('OK' when it succeeds). */
async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'OK';
  } catch (e) {
    if (e instanceof CsiStatusError) return status[e.code];
    throw e;
  }
}

const mounted = (p: string): boolean => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === p);

describe('volumed csi-plugin (controller and identity)', () => {
  let plugin: RunningPlugin;
  let csi: CsiClient;
  // No retries: the test reads the plugin's own answers.
  const call = <T = Record<string, unknown>>(service: CsiService, method: string, req: unknown) => csi.call<T>(service, method, req, { attempts: 1 });

  beforeAll(async () => {
    plugin = await startPlugin({ alsoNodes: ['node-a', 'node-b'] });
    csi = new CsiClient({ endpoint: plugin.endpoint });
  });
  afterAll(async () => {
    csi.close();
    await plugin.stop();
  });

  it('says who it is, what it can do, and that it is ready', async () => {
    expect(await call('identity', 'GetPluginInfo', {})).toMatchObject({ name: 'csi.volumed.io', vendor_version: expect.any(String) as unknown });
    const caps = await call<{ capabilities: { service?: { type: string }; volume_expansion?: { type: string } }[] }>('identity', 'GetPluginCapabilities', {});
    expect(caps.capabilities.map((c) => c.service?.type ?? c.volume_expansion?.type)).toEqual(['CONTROLLER_SERVICE', 'ONLINE']);
    expect(await call('identity', 'Probe', {})).toEqual({ ready: { value: true } });
    const ctrl = await call<{ capabilities: { rpc: { type: string } }[] }>('controller', 'ControllerGetCapabilities', {});
    expect(ctrl.capabilities.map((c) => c.rpc.type)).toEqual(expect.arrayContaining(['CREATE_DELETE_VOLUME', 'PUBLISH_UNPUBLISH_VOLUME', 'LIST_VOLUMES', 'CREATE_DELETE_SNAPSHOT', 'CLONE_VOLUME', 'EXPAND_VOLUME', 'GET_VOLUME']));
    expect((await call<{ node_id: string }>('node', 'NodeGetInfo', {})).node_id).toBe('node-1');
  });

  it('creates idempotently by name, and refuses the same name with other parameters', async () => {
    const req = { name: 'pvc-idem', capacity_range: { required_bytes: 2 * MiB }, volume_capabilities: [BLOCK], parameters: { pool: 'local', team: 'a' } };
    const a = await call<{ volume: CsiVolume }>('controller', 'CreateVolume', req);
    const b = await call<{ volume: CsiVolume }>('controller', 'CreateVolume', req);
    expect(b.volume.volume_id).toBe(a.volume.volume_id);
    expect(a.volume).toMatchObject({ volume_id: 'pvc-idem', capacity_bytes: 2 * MiB, volume_context: { kind: 'block', pool: 'local' } });
    expect(await codeOf(call('controller', 'CreateVolume', { ...req, capacity_range: { required_bytes: 8 * MiB } }))).toBe('ALREADY_EXISTS');
    expect(await codeOf(call('controller', 'CreateVolume', { ...req, volume_capabilities: [MOUNT] }))).toBe('ALREADY_EXISTS');
    // A name that is no valid volumed id maps to one, the same every time.
    const odd = { ...req, name: 'my volume/with:odd chars' };
    const c = await call<{ volume: CsiVolume }>('controller', 'CreateVolume', odd);
    expect(c.volume.volume_id).toMatch(/^csi-[0-9a-f]{40}$/);
    expect((await call<{ volume: CsiVolume }>('controller', 'CreateVolume', odd)).volume.volume_id).toBe(c.volume.volume_id);
  });

  it('answers bad input with INVALID_ARGUMENT and unknown ids with NOT_FOUND', async () => {
    expect(await codeOf(call('controller', 'CreateVolume', { name: '', volume_capabilities: [BLOCK] }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(call('controller', 'CreateVolume', { name: 'x', volume_capabilities: [] }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(call('controller', 'CreateVolume', { name: 'x', volume_capabilities: [BLOCK, MOUNT] }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(call('controller', 'CreateVolume', { name: 'x', volume_capabilities: [BLOCK], capacity_range: { required_bytes: 4 * MiB, limit_bytes: MiB } }))).toBe('OUT_OF_RANGE');
    expect(await codeOf(call('controller', 'CreateVolume', { name: 'x', volume_capabilities: [BLOCK], volume_content_source: { snapshot: { snapshot_id: 'nope' } } }))).toBe('NOT_FOUND');
    expect(await codeOf(call('controller', 'ControllerPublishVolume', { volume_id: 'nope', node_id: 'n', volume_capability: BLOCK }))).toBe('NOT_FOUND');
    expect(await codeOf(call('controller', 'ControllerGetVolume', { volume_id: 'nope' }))).toBe('NOT_FOUND');
    expect(await codeOf(call('controller', 'ValidateVolumeCapabilities', { volume_id: 'nope', volume_capabilities: [BLOCK] }))).toBe('NOT_FOUND');
    expect(await codeOf(call('controller', 'ControllerPublishVolume', { volume_id: 'pvc-idem', node_id: '', volume_capability: BLOCK }))).toBe('INVALID_ARGUMENT');
    // A node this plugin does not serve, and mutable parameters volumed cannot change.
    expect(await codeOf(call('controller', 'ControllerPublishVolume', { volume_id: 'pvc-idem', node_id: 'no-such-node', volume_capability: BLOCK }))).toBe('NOT_FOUND');
    expect(await codeOf(call('controller', 'CreateVolume', { name: 'x', volume_capabilities: [BLOCK], mutable_parameters: { iops: '100' } }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(call('node', 'NodeExpandVolume', { volume_id: 'nope', volume_path: '/nonexistent/target' }))).toBe('NOT_FOUND');
  });

  it('deletes idempotently, refuses a volume with snapshots (FAILED_PRECONDITION), and snapshots by name', async () => {
    await call('controller', 'CreateVolume', { name: 'pvc-snap', capacity_range: { required_bytes: MiB }, volume_capabilities: [BLOCK] });
    const s1 = await call<{ snapshot: CsiSnapshot }>('controller', 'CreateSnapshot', { source_volume_id: 'pvc-snap', name: 'snap-1' });
    expect(s1.snapshot).toMatchObject({ source_volume_id: 'pvc-snap', ready_to_use: true, size_bytes: MiB });
    expect((await call<{ snapshot: CsiSnapshot }>('controller', 'CreateSnapshot', { source_volume_id: 'pvc-snap', name: 'snap-1' })).snapshot.snapshot_id).toBe(s1.snapshot.snapshot_id);
    expect(await codeOf(call('controller', 'CreateSnapshot', { source_volume_id: 'pvc-idem', name: 'snap-1' }))).toBe('ALREADY_EXISTS');
    expect(await codeOf(call('controller', 'CreateSnapshot', { source_volume_id: 'ghost', name: 'snap-2' }))).toBe('NOT_FOUND');
    expect(await codeOf(call('controller', 'DeleteVolume', { volume_id: 'pvc-snap' }))).toBe('FAILED_PRECONDITION');
    const listed = await call<{ entries: { snapshot: CsiSnapshot }[] }>('controller', 'ListSnapshots', { source_volume_id: 'pvc-snap' });
    expect(listed.entries.map((e) => e.snapshot.snapshot_id)).toEqual([s1.snapshot.snapshot_id]);
    expect((await call<{ entries: unknown[] }>('controller', 'ListSnapshots', { snapshot_id: s1.snapshot.snapshot_id })).entries).toHaveLength(1);
    // A clone from the snapshot, then everything deleted twice: OK both times.
    const clone = await call<{ volume: CsiVolume }>('controller', 'CreateVolume', { name: 'pvc-from-snap', capacity_range: { required_bytes: 2 * MiB }, volume_capabilities: [BLOCK], volume_content_source: { snapshot: { snapshot_id: s1.snapshot.snapshot_id } } });
    expect(clone.volume).toMatchObject({ capacity_bytes: 2 * MiB, content_source: { snapshot: { snapshot_id: s1.snapshot.snapshot_id } } });
    for (let i = 0; i < 2; i++) {
      expect(await codeOf(call('controller', 'DeleteSnapshot', { snapshot_id: s1.snapshot.snapshot_id }))).toBe('OK');
      expect(await codeOf(call('controller', 'DeleteVolume', { volume_id: 'pvc-snap' }))).toBe('OK');
      expect(await codeOf(call('controller', 'DeleteVolume', { volume_id: 'pvc-from-snap' }))).toBe('OK');
    }
    expect(await codeOf(call('controller', 'DeleteVolume', { volume_id: 'never-was' }))).toBe('OK');
  });

  it('publishes to one node at a time, idempotently, and refuses a changed readonly', async () => {
    await call('controller', 'CreateVolume', { name: 'pvc-pub', capacity_range: { required_bytes: MiB }, volume_capabilities: [BLOCK] });
    const pub = { volume_id: 'pvc-pub', node_id: 'node-a', volume_capability: BLOCK, readonly: false };
    const first = await call<{ publish_context: StringMap }>('controller', 'ControllerPublishVolume', pub);
    expect(first.publish_context).toMatchObject({ driverVolumeType: 'file', node: 'node-a' });
    expect(existsSync(first.publish_context.path ?? '')).toBe(true);
    expect((await call<{ publish_context: StringMap }>('controller', 'ControllerPublishVolume', pub)).publish_context).toEqual(first.publish_context);
    expect(await codeOf(call('controller', 'ControllerPublishVolume', { ...pub, readonly: true }))).toBe('ALREADY_EXISTS');
    expect(await codeOf(call('controller', 'ControllerPublishVolume', { ...pub, node_id: 'node-b' }))).toBe('FAILED_PRECONDITION');
    const got = await call<{ status: { published_node_ids: string[] } }>('controller', 'ControllerGetVolume', { volume_id: 'pvc-pub' });
    expect(got.status.published_node_ids).toEqual(['node-a']);
    expect(await codeOf(call('controller', 'DeleteVolume', { volume_id: 'pvc-pub' }))).toBe('FAILED_PRECONDITION');
    for (let i = 0; i < 2; i++) expect(await codeOf(call('controller', 'ControllerUnpublishVolume', { volume_id: 'pvc-pub', node_id: 'node-a' }))).toBe('OK');
    expect(await codeOf(call('controller', 'ControllerPublishVolume', { ...pub, node_id: 'node-b' }))).toBe('OK');
    const validated = await call<{ confirmed: unknown; message: string }>('controller', 'ValidateVolumeCapabilities', { volume_id: 'pvc-pub', volume_capabilities: [MOUNT] });
    expect(validated.confirmed).toBeNull();
    expect(validated.message).toContain('block volume');
  });

  it('pages volumes with tokens, refuses a token it never gave (ABORTED), and aborts a second call racing the first', async () => {
    const ids: string[] = [];
    let token = '';
    do {
      const page = await call<{ entries: { volume: CsiVolume }[]; next_token: string }>('controller', 'ListVolumes', { max_entries: 2, starting_token: token });
      expect(page.entries.length).toBeLessThanOrEqual(2);
      ids.push(...page.entries.map((e) => e.volume.volume_id));
      token = page.next_token;
    } while (token);
    expect(ids).toEqual(expect.arrayContaining(['pvc-idem', 'pvc-pub']));
    expect(new Set(ids).size).toBe(ids.length);
    expect(await codeOf(call('controller', 'ListVolumes', { max_entries: 2, starting_token: 'garbage!' }))).toBe('ABORTED');
    expect(await codeOf(call('controller', 'ListSnapshots', { max_entries: 2, starting_token: 'garbage!' }))).toBe('ABORTED');
    const grow = (bytes: number) => codeOf(call('controller', 'ControllerExpandVolume', { volume_id: 'pvc-idem', capacity_range: { required_bytes: bytes } }));
    const codes = await Promise.all([grow(4 * MiB), grow(4 * MiB)]);
    expect(codes.sort()).toEqual(['ABORTED', 'OK']);
    const expanded = await call<{ capacity_bytes: number; node_expansion_required: boolean }>('controller', 'ControllerExpandVolume', { volume_id: 'pvc-idem', capacity_range: { required_bytes: 4 * MiB } });
    expect(expanded.capacity_bytes).toBe(4 * MiB);
  });
});

const missing = mountsUnavailable();
if (missing) console.log(`csi-plugin node tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)('volumed csi-plugin (node: real mounts and loop devices)', () => {
  let plugin: RunningPlugin;
  let csi: CsiClient;
  let work: string;
  const call = <T = Record<string, unknown>>(service: CsiService, method: string, req: unknown) => csi.call<T>(service, method, req, { attempts: 1 });

  beforeAll(async () => {
    plugin = await startPlugin();
    csi = new CsiClient({ endpoint: plugin.endpoint });
    work = path.join(plugin.dir, 'kubelet');
    await fs.mkdir(work, { recursive: true });
  });
  afterAll(async () => {
    csi.close();
    // Whatever a failed test left mounted or attached goes with the plugin's dir.
    releaseUnder(plugin.dir);
    await plugin.stop();
  });

  it('stages, publishes, writes, and undoes a mount volume with bind mounts (read-only where asked)', async () => {
    await call('controller', 'CreateVolume', { name: 'pvc-fs', capacity_range: { required_bytes: MiB }, volume_capabilities: [MOUNT] });
    const { publish_context } = await call<{ publish_context: StringMap }>('controller', 'ControllerPublishVolume', { volume_id: 'pvc-fs', node_id: 'node-1', volume_capability: MOUNT });
    const staging = path.join(work, 'fs-staging');
    const target = path.join(work, 'pods', 'p1', 'volume');
    const roTarget = path.join(work, 'pods', 'p2', 'volume');
    for (let i = 0; i < 2; i++) expect(await codeOf(call('node', 'NodeStageVolume', { volume_id: 'pvc-fs', publish_context, staging_target_path: staging, volume_capability: MOUNT }))).toBe('OK');
    expect(mounted(staging)).toBe(true);
    for (let i = 0; i < 2; i++) expect(await codeOf(call('node', 'NodePublishVolume', { volume_id: 'pvc-fs', publish_context, staging_target_path: staging, target_path: target, volume_capability: MOUNT, readonly: false }))).toBe('OK');
    await call('node', 'NodePublishVolume', { volume_id: 'pvc-fs', publish_context, staging_target_path: staging, target_path: roTarget, volume_capability: MOUNT, readonly: true });
    await fs.writeFile(path.join(target, 'hello.txt'), 'written through the mount');
    // The bytes are in the volume's own directory in volumed's pool.
    expect(readFileSync(path.join(publish_context.path ?? '', 'hello.txt'), 'utf8')).toBe('written through the mount');
    expect(readFileSync(path.join(roTarget, 'hello.txt'), 'utf8')).toBe('written through the mount');
    await expect(fs.writeFile(path.join(roTarget, 'nope.txt'), 'x')).rejects.toThrow(/EROFS|read-only/i);
    const stats = await call<{ usage: { unit: string; total: number }[]; volume_condition: { abnormal: boolean } }>('node', 'NodeGetVolumeStats', { volume_id: 'pvc-fs', volume_path: target });
    expect(stats.usage.map((u) => u.unit)).toEqual(['BYTES', 'INODES']);
    expect(stats.volume_condition.abnormal).toBe(false);
    for (const t of [target, roTarget]) for (let i = 0; i < 2; i++) expect(await codeOf(call('node', 'NodeUnpublishVolume', { volume_id: 'pvc-fs', target_path: t }))).toBe('OK');
    expect([mounted(target), existsSync(target)]).toEqual([false, false]);
    for (let i = 0; i < 2; i++) expect(await codeOf(call('node', 'NodeUnstageVolume', { volume_id: 'pvc-fs', staging_target_path: staging }))).toBe('OK');
    expect(mounted(staging)).toBe(false);
    expect(await codeOf(call('node', 'NodeGetVolumeStats', { volume_id: 'pvc-fs', volume_path: target }))).toBe('NOT_FOUND');
    await call('controller', 'ControllerUnpublishVolume', { volume_id: 'pvc-fs', node_id: 'node-1' });
  });

  it('puts a block volume on a loop device, writes through it, grows it, and detaches it', async () => {
    await call('controller', 'CreateVolume', { name: 'pvc-blk', capacity_range: { required_bytes: 2 * MiB }, volume_capabilities: [BLOCK] });
    const { publish_context } = await call<{ publish_context: StringMap }>('controller', 'ControllerPublishVolume', { volume_id: 'pvc-blk', node_id: 'node-1', volume_capability: BLOCK });
    const image = publish_context.path ?? '';
    const staging = path.join(work, 'blk-staging');
    const target = path.join(work, 'pods', 'p3', 'dev');
    await call('node', 'NodeStageVolume', { volume_id: 'pvc-blk', publish_context, staging_target_path: staging, volume_capability: BLOCK });
    const loop = execFileSync('losetup', ['--associated', image], { encoding: 'utf8' });
    expect(loop).toMatch(/^\/dev\/loop\d+:/);
    await call('node', 'NodePublishVolume', { volume_id: 'pvc-blk', publish_context, staging_target_path: staging, target_path: target, volume_capability: BLOCK, readonly: false });
    expect(mounted(target)).toBe(true);
    const data = Buffer.from('block bytes through a loop device');
    const fh = await fs.open(target, 'r+');
    await fh.write(data, 0, data.length, MiB);
    await fh.sync();
    await fh.close();
    const back = Buffer.alloc(data.length);
    const img = await fs.open(image, 'r');
    await img.read(back, 0, data.length, MiB);
    await img.close();
    expect(back.equals(data)).toBe(true);

    const grown = await call<{ capacity_bytes: number; node_expansion_required: boolean }>('controller', 'ControllerExpandVolume', { volume_id: 'pvc-blk', capacity_range: { required_bytes: 4 * MiB } });
    expect(grown).toEqual({ capacity_bytes: 4 * MiB, node_expansion_required: true });
    const nodeGrown = await call<{ capacity_bytes: number }>('node', 'NodeExpandVolume', { volume_id: 'pvc-blk', volume_path: target, staging_target_path: staging, capacity_range: { required_bytes: 4 * MiB } });
    expect(nodeGrown.capacity_bytes).toBe(4 * MiB);
    const stats = await call<{ usage: { unit: string; total: number }[] }>('node', 'NodeGetVolumeStats', { volume_id: 'pvc-blk', volume_path: target });
    expect(stats.usage[0]).toMatchObject({ unit: 'BYTES', total: 4 * MiB });

    await call('node', 'NodeUnpublishVolume', { volume_id: 'pvc-blk', target_path: target });
    await call('node', 'NodeUnstageVolume', { volume_id: 'pvc-blk', staging_target_path: staging });
    expect([mounted(target), existsSync(target)]).toEqual([false, false]);
    expect(execFileSync('losetup', ['--associated', image], { encoding: 'utf8' }).trim()).toBe('');
    expect(await codeOf(call('node', 'NodeStageVolume', { volume_id: 'pvc-blk', publish_context: {}, staging_target_path: staging, volume_capability: BLOCK }))).toBe('FAILED_PRECONDITION');
  });
});

describe('volumed csi-plugin --server (a running volumed behind it)', () => {
  it('will not start without saying where volumes live, nor with both places', () => {
    const env = { ...process.env };
    delete env.VOLUMED_ADDR;
    const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env });
    const sock = ['--endpoint', 'unix:///tmp/volumed-never.sock', '--node-id', 'n'];
    const neither = run('csi-plugin', ...sock);
    expect([neither.status, neither.stderr]).toEqual([1, expect.stringContaining('give --data-dir DIR (embed the engine) or --server URL')]);
    const both = run('csi-plugin', ...sock, '--data-dir', '/tmp/volumed-never', '--server', 'http://127.0.0.1:1');
    expect([both.status, both.stderr]).toEqual([1, expect.stringContaining('not both')]);
    expect(existsSync('/tmp/volumed-never')).toBe(false);
    const badEndpoint = run('csi-plugin', '--endpoint', 'tcp://0:1', '--node-id', 'n', '--server', 'http://127.0.0.1:1');
    expect([badEndpoint.status, badEndpoint.stderr]).toEqual([1, expect.stringContaining('endpoint: must be unix:///path/to/plugin.sock')]);
  });

  it('provisions through the native API: the volume is the server\'s', async () => {
    const server = await startServer();
    const plugin = await startPlugin({ server: server.url, nodeId: 'remote-node' });
    const csi = new CsiClient({ endpoint: plugin.endpoint });
    try {
      const created = await csi.call<{ volume: CsiVolume }>('controller', 'CreateVolume', { name: 'pvc-remote', capacity_range: { required_bytes: 3 * MiB }, volume_capabilities: [MOUNT] });
      expect(created.volume).toMatchObject({ volume_id: 'pvc-remote', capacity_bytes: 3 * MiB });
      const shown = await server.api<{ volume: { kind: string; sizeBytes: number; accessModes: unknown[] } }>('GET', '/api/v1/volumes/pvc-remote');
      expect(shown.body.volume).toMatchObject({ kind: 'file', sizeBytes: 3 * MiB, accessModes: [{ accessMode: 'single-node-writer', attachmentMode: 'filesystem' }] });
      expect((await csi.call<{ volume: CsiVolume }>('controller', 'CreateVolume', { name: 'pvc-remote', capacity_range: { required_bytes: 3 * MiB }, volume_capabilities: [MOUNT] })).volume.volume_id).toBe('pvc-remote');
      const pub = await csi.call<{ publish_context: StringMap }>('controller', 'ControllerPublishVolume', { volume_id: 'pvc-remote', node_id: 'remote-node', volume_capability: MOUNT, readonly: true });
      expect(pub.publish_context).toMatchObject({ node: 'remote-node', readonly: 'true' });
      await csi.call('controller', 'ControllerUnpublishVolume', { volume_id: 'pvc-remote', node_id: 'remote-node' });
      await csi.call('controller', 'DeleteVolume', { volume_id: 'pvc-remote' });
      expect((await server.api('GET', '/api/v1/volumes/pvc-remote')).status).toBe(404);
      expect(await codeOf(csi.call('controller', 'DeleteVolume', { volume_id: 'pvc-remote' }))).toBe('OK');
    } finally {
      csi.close();
      await plugin.stop();
      await server.stop();
    }
  });
});
