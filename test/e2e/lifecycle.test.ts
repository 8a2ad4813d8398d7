// The whole lifecycle through HTTP against the built server on real file pools.

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Attachment, Image, ManageableObject, Pool, Snapshot, Task, Volume, VolumeType } from '../../src/domain/types.js';
import { startServer, type RunningServer } from './harness.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const CONFIG = `
pools:
  - { id: local, driver: file, root: $DATA/pools/local }
  - { id: fast, driver: file, root: $DATA/pools/fast }
types:
  - { name: gold, extraSpecs: { pool: fast } }
`;

describe('native API lifecycle', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ config: CONFIG });
  });
  afterAll(async () => {
    await s.stop();
  });

  async function ready(body: Record<string, unknown>): Promise<Volume> {
    const res = await s.api<{ volume: Volume; task: Task }>('POST', '/api/v1/volumes?wait=true', body);
    expect(res.status).toBe(201);
    expect(res.body.task.state).toBe('success');
    return res.body.volume;
  }

  it('serves pools and the configured types', async () => {
    const pools = await s.api<{ pools: Pool[] }>('GET', '/api/v1/pools');
    expect(pools.body.pools.map((p) => p.id)).toEqual(['fast', 'local']);
    expect(pools.body.pools[0]?.capacity.totalBytes).toBeGreaterThan(0);
    const pool = await s.api<{ pool: Pool }>('GET', '/api/v1/pools/local');
    expect(pool.body.pool.capabilities.snapshot).toBe(true);
    const types = await s.api<{ types: VolumeType[] }>('GET', '/api/v1/types');
    expect(types.body.types.map((t) => t.name)).toEqual(['gold']);
  });

  it('create (202 + task, then 201 with wait), attach, snapshot, revert, extend, detach, delete', async () => {
    const accepted = await s.api<{ volume: Volume; task: Task }>('POST', '/api/v1/volumes', { name: 'web', sizeBytes: 4 * MiB, pool: 'local', labels: { app: 'web' } });
    expect(accepted.status).toBe(202);
    expect(accepted.body.volume.status).toBe('creating');
    const done = await s.api<{ task: Task }>('GET', `/api/v1/tasks/${accepted.body.task.id}?wait=10s`);
    expect(done.body.task.state).toBe('success');
    const id = accepted.body.volume.id;

    const attach = await s.api<{ attachment: Attachment; volume: Volume }>('POST', `/api/v1/volumes/${id}/attachments?wait=true`, { node: 'node-1', mode: 'rw' });
    expect(attach.status).toBe(200);
    expect(attach.body.volume.status).toBe('in-use');
    const info = attach.body.attachment.connectionInfo as { driverVolumeType: string; path: string };
    expect(info.driverVolumeType).toBe('file');
    // The path is the real file: write through it as a node would.
    const data = randomBytes(MiB);
    const fh = await fs.open(info.path, 'r+');
    await fh.write(data, 0, data.length, 0);
    await fh.close();

    const snap = await s.api<{ snapshot: Snapshot }>('POST', `/api/v1/volumes/${id}/snapshots?wait=true`, { name: 'before', force: true });
    expect(snap.status).toBe(201);
    expect(snap.body.snapshot.status).toBe('available');
    const overwrite = await fs.open(info.path, 'r+');
    await overwrite.write(randomBytes(MiB), 0, MiB, 0);
    await overwrite.close();

    // The host announces the detach, takes it back, announces it again, then detaches.
    const begun = await s.api<{ volume: Volume }>('POST', `/api/v1/volumes/${id}/begin-detaching`, {});
    expect([begun.status, begun.body.volume.status]).toEqual([200, 'detaching']);
    expect((await s.api<{ volume: Volume }>('POST', `/api/v1/volumes/${id}/roll-detaching`, {})).body.volume.status).toBe('in-use');
    expect((await s.api('POST', `/api/v1/volumes/${id}/roll-detaching`, {})).status).toBe(409);
    await s.api('POST', `/api/v1/volumes/${id}/begin-detaching`, {});
    const detach = await s.api<{ volume: Volume }>('DELETE', `/api/v1/volumes/${id}/attachments/${attach.body.attachment.id}?wait=true`);
    expect(detach.status).toBe(200);
    expect(detach.body.volume.status).toBe('available');

    const revert = await s.api<{ volume: Volume }>('POST', `/api/v1/volumes/${id}/revert?wait=true`, { snapshotId: snap.body.snapshot.id });
    expect(revert.body.volume.status).toBe('available');
    expect(sha((await fs.readFile(info.path)).subarray(0, MiB))).toBe(sha(data));

    const extend = await s.api<{ volume: Volume }>('POST', `/api/v1/volumes/${id}/extend?wait=true`, { newSizeBytes: 8 * MiB });
    expect(extend.body.volume.sizeBytes).toBe(8 * MiB);
    expect((await fs.stat(info.path)).size).toBe(8 * MiB);

    const patched = await s.api<{ volume: Volume }>('PATCH', `/api/v1/volumes/${id}`, { labels: { app: 'web', env: 'prod' }, bootable: true });
    expect(patched.body.volume.labels).toEqual({ app: 'web', env: 'prod' });
    const listed = await s.api<{ volumes: Volume[] }>('GET', '/api/v1/volumes?label=env%3Dprod');
    expect(listed.body.volumes.map((v) => v.id)).toEqual([id]);

    const snaps = await s.api<{ snapshots: Snapshot[] }>('GET', `/api/v1/volumes/${id}/snapshots`);
    expect(snaps.body.snapshots).toHaveLength(1);
    const delSnap = await s.api('DELETE', `/api/v1/snapshots/${snap.body.snapshot.id}?wait=true`);
    expect(delSnap.status).toBe(200);
    const del = await s.api<{ volume: Volume | null; task: Task }>('DELETE', `/api/v1/volumes/${id}?wait=true`);
    expect(del.status).toBe(200);
    expect(del.body.volume).toBeNull();
    expect(del.body.task.state).toBe('success');
    await expect(fs.stat(info.path)).rejects.toThrow();
    expect((await s.api('GET', `/api/v1/volumes/${id}`)).status).toBe(404);
  });

  it('places typed volumes, migrates with progress, and retypes', async () => {
    const gold = await ready({ name: 'g', sizeBytes: MiB, type: 'gold' });
    expect(gold.poolId).toBe('fast');
    const plain = await ready({ name: 'p', sizeBytes: 2 * MiB, pool: 'local' });
    const mig = await s.api<{ volume: Volume; task: Task }>('POST', `/api/v1/volumes/${plain.id}/migrate?wait=true`, { pool: 'fast' });
    expect(mig.status).toBe(200);
    expect(mig.body.task.progress).toBe(100);
    expect(mig.body.volume.poolId).toBe('fast');
    expect(mig.body.volume.migrationStatus).toBe('success');
    const retype = await s.api<{ volume: Volume }>('POST', `/api/v1/volumes/${plain.id}/retype?wait=true`, { type: 'gold' });
    expect(retype.body.volume.typeId).toBe(gold.typeId);
  });

  it('adopts and releases storage: manageable listing, manage, unmanage', async () => {
    const vol = await ready({ name: 'keep', sizeBytes: MiB, pool: 'local' });
    const un = await s.api<{ task: Task }>('POST', `/api/v1/volumes/${vol.id}/unmanage?wait=true`, {});
    expect(un.body.task.state).toBe('success');
    const list = await s.api<{ manageableVolumes: ManageableObject[] }>('GET', '/api/v1/pools/local/manageable-volumes?sort=size&limit=100');
    const mine = list.body.manageableVolumes.find((m) => m.reference['source-name'] === vol.externalId);
    expect(mine?.safeToManage).toBe(true);
    expect(mine?.sizeGiB).toBe(1);
    const managed = await s.api<{ volume: Volume }>('POST', '/api/v1/volumes/manage?wait=true', { pool: 'local', reference: mine?.reference, name: 'adopted' });
    expect(managed.status).toBe(201);
    expect(managed.body.volume.status).toBe('available');
    expect(managed.body.volume.externalId).toBe(vol.externalId);
    const again = await s.api<{ manageableVolumes: ManageableObject[] }>('GET', '/api/v1/pools/local/manageable-volumes');
    expect(again.body.manageableVolumes.find((m) => m.managedId === managed.body.volume.id)?.reasonNotSafe).toBe('already managed');
    const page = await s.api<{ manageableVolumes: ManageableObject[]; nextMarker: string | null }>('GET', '/api/v1/pools/local/manageable-volumes?limit=1');
    expect(page.body.manageableVolumes).toHaveLength(1);
  });

  it('images: raw upload and download, volume to image, create from image', async () => {
    const bytes = Buffer.concat([randomBytes(100_000), Buffer.alloc(200_000)]);
    const up = await fetch(`${s.url}/api/v1/images?name=raw`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    expect(up.status).toBe(201);
    const image = ((await up.json()) as { image: Image }).image;
    expect(image.sizeBytes).toBe(bytes.length);
    expect(image.checksum).toBe(sha(bytes));
    const down = Buffer.from(await (await fetch(`${s.url}/api/v1/images/${image.id}/data`)).arrayBuffer());
    expect(sha(down)).toBe(sha(bytes));
    const vol = await ready({ name: 'from-img', sizeBytes: MiB, source: { imageId: image.id } });
    expect(vol.status).toBe('available');
    const upload = await s.api<{ image: Image }>('POST', `/api/v1/volumes/${vol.id}/upload-image?wait=true`, { imageName: 'copy' });
    expect(upload.body.image.status).toBe('active');
    const copied = Buffer.from(await (await fetch(`${s.url}/api/v1/images/${upload.body.image.id}/data`)).arrayBuffer());
    expect(copied.length).toBe(MiB);
    expect(sha(copied.subarray(0, bytes.length))).toBe(sha(bytes));
    expect((await s.api('DELETE', `/api/v1/images/${image.id}`)).status).toBe(204);
    expect((await s.api('GET', `/api/v1/images/${image.id}`)).status).toBe(404);
  });

  it('types: create, read, update, delete; tasks are listed', async () => {
    const created = await s.api<{ type: VolumeType }>('POST', '/api/v1/types', { name: 'silver', extraSpecs: { multiattach: '<is> True' } });
    expect(created.status).toBe(201);
    const updated = await s.api<{ type: VolumeType }>('PATCH', `/api/v1/types/${created.body.type.id}`, { description: 'shared' });
    expect(updated.body.type.description).toBe('shared');
    const vol = await ready({ name: 'shared', sizeBytes: MiB, type: 'silver' });
    expect(vol.multiattach).toBe(true);
    expect((await s.api('DELETE', '/api/v1/types/silver')).status).toBe(409);
    const tasks = await s.api<{ tasks: Task[] }>('GET', `/api/v1/tasks?resourceId=${vol.id}`);
    expect(tasks.body.tasks.map((t) => t.operation)).toEqual(['volume.create']);
  });

  it('serves OpenAPI, docs, health and metrics', async () => {
    const doc = await s.api<{ openapi: string; paths: Record<string, unknown> }>('GET', '/api/v1/openapi.json');
    expect(doc.body.openapi).toBe('3.0.3');
    expect(Object.keys(doc.body.paths)).toContain('/api/v1/volumes/{id}/attachments');
    expect((await s.api('GET', '/api/v1/docs/')).status).toBe(200);
    expect((await s.api<{ status: string }>('GET', '/healthz')).body.status).toBe('ok');
    expect((await s.api<{ status: string }>('GET', '/readyz')).body.status).toBe('ready');
    const metrics = await s.api<string>('GET', '/metrics');
    expect(metrics.body).toMatch(/volumed_http_requests_total\{method="POST",route="\/api\/v1\/volumes",status="(201|202)"\} \d+/);
    expect(metrics.body).toMatch(/volumed_tasks\{state="success"\} \d+/);
    expect(metrics.body).toMatch(/volumed_pool_capacity_bytes\{pool="local",kind="total"\} \d+/);
  });
});
