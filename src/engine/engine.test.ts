import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError, InvalidStateError, QuotaExceededError, UnsupportedError } from '../domain/errors.js';
import { MiB } from '../domain/types.js';
import { startTestVolumed, type TestVolumed } from '../../test/support/testing.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function writeAt(file: string, offset: number, data: Buffer): Promise<void> {
  const fh = await fs.open(file, 'r+');
  try {
    await fs.writeFile(fh, Buffer.alloc(0));
    await fh.write(data, 0, data.length, offset);
  } finally {
    await fh.close();
  }
}

async function readHead(file: string, length: number): Promise<Buffer> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, 0);
    return buf;
  } finally {
    await fh.close();
  }
}

describe('engine on a real file pool', () => {
  let v: TestVolumed;
  beforeEach(async () => {
    v = await startTestVolumed();
  });
  afterEach(async () => {
    await v.remove();
  });

  async function readyVolume(name = 'vol', sizeBytes = 4 * MiB, extra: Record<string, unknown> = {}) {
    const accepted = await v.engine.createVolume({ name, sizeBytes, ...extra });
    expect(accepted.resource.status).toBe('creating');
    expect((await v.settle(accepted)).state).toBe('success');
    return v.engine.getVolume(accepted.resource.id);
  }

  it('creates a sparse file, snapshots, reverts to any snapshot, extends keeping bytes, deletes', async () => {
    const vol = await readyVolume('data', 8 * MiB);
    expect(vol.status).toBe('available');
    const file = await v.fileOf(vol.id);
    const st = await fs.stat(file);
    expect(st.size).toBe(8 * MiB);
    expect(st.blocks * 512).toBeLessThan(MiB); // sparse

    const first = randomBytes(64 * 1024);
    await writeAt(file, MiB, first);
    const snap1 = await v.engine.createSnapshot(vol.id, { name: 's1' });
    expect((await v.settle(snap1)).state).toBe('success');
    const second = randomBytes(64 * 1024);
    await writeAt(file, MiB, second);
    const snap2 = await v.engine.createSnapshot(vol.id, { name: 's2' });
    await v.settle(snap2);
    await writeAt(file, MiB, randomBytes(64 * 1024));

    // Revert to the older snapshot, not only the latest.
    await v.settle(await v.engine.revertVolume(vol.id, snap1.resource.id));
    let bytes = await fs.readFile(file);
    expect(sha(bytes.subarray(MiB, MiB + first.length))).toBe(sha(first));
    await v.settle(await v.engine.revertVolume(vol.id, snap2.resource.id));
    bytes = await fs.readFile(file);
    expect(sha(bytes.subarray(MiB, MiB + second.length))).toBe(sha(second));
    // The snapshot copy kept its holes.
    const snapshot = await v.engine.getSnapshot(snap2.resource.id);
    expect(snapshot.status).toBe('available');

    await v.settle(await v.engine.extendVolume(vol.id, 16 * MiB));
    const extended = await v.engine.getVolume(vol.id);
    expect(extended.sizeBytes).toBe(16 * MiB);
    expect(extended.status).toBe('available');
    bytes = await fs.readFile(file);
    expect(bytes.length).toBe(16 * MiB);
    expect(sha(bytes.subarray(MiB, MiB + second.length))).toBe(sha(second));
    await expect(v.engine.extendVolume(vol.id, 4 * MiB)).rejects.toThrow(/newSizeBytes: must be larger/);

    await expect(v.engine.deleteVolume(vol.id)).rejects.toThrow(/2 snapshot/);
    await v.settle(await v.engine.deleteVolume(vol.id, { cascade: true }));
    await expect(fs.stat(file)).rejects.toThrow();
    await expect(v.engine.getVolume(vol.id)).rejects.toThrow(/not found/);
    await expect(v.engine.getSnapshot(snap1.resource.id)).rejects.toThrow(/not found/);
  });

  it('clones and creates from snapshot with identical bytes', async () => {
    const vol = await readyVolume('src', 4 * MiB);
    const data = randomBytes(3 * MiB);
    await writeAt(await v.fileOf(vol.id), 0, data);
    const clone = await v.engine.createVolume({ name: 'clone', sizeBytes: 4 * MiB, source: { volumeId: vol.id } });
    await v.settle(clone);
    expect(sha(await fs.readFile(await v.fileOf(clone.resource.id)))).toBe(sha(await fs.readFile(await v.fileOf(vol.id))));
    const snap = await v.engine.createSnapshot(vol.id, { name: 's' });
    await v.settle(snap);
    const fromSnap = await v.engine.createVolume({ name: 'fromsnap', sizeBytes: 6 * MiB, source: { snapshotId: snap.resource.id } });
    await v.settle(fromSnap);
    const restored = await fs.readFile(await v.fileOf(fromSnap.resource.id));
    expect(restored.length).toBe(6 * MiB);
    expect(sha(restored.subarray(0, data.length))).toBe(sha(data));
    await expect(v.engine.createVolume({ name: 'small', sizeBytes: MiB, source: { volumeId: vol.id } })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('migrates between pools: identical bytes, checksum recorded, source removed', async () => {
    const vol = await readyVolume('mover', 4 * MiB, { pool: 'local' });
    const srcFile = await v.fileOf(vol.id);
    await writeAt(srcFile, 512 * 1024, randomBytes(2 * MiB));
    const before = sha(await fs.readFile(srcFile));
    const accepted = await v.engine.migrateVolume(vol.id, { pool: 'fast' });
    expect(accepted.resource.migrationStatus).toBe('starting');
    const task = await v.settle(accepted);
    expect(task.state).toBe('success');
    expect(task.checkpoint.checksum).toBe(before);
    const moved = await v.engine.getVolume(vol.id);
    expect(moved.poolId).toBe('fast');
    expect(moved.migrationStatus).toBe('success');
    expect(moved.status).toBe('available');
    const dstFile = await v.fileOf(vol.id);
    expect(dstFile).not.toBe(srcFile);
    expect(sha(await fs.readFile(dstFile))).toBe(before);
    await expect(fs.stat(srcFile)).rejects.toThrow();
    await expect(v.engine.migrateVolume(vol.id, { pool: 'fast' })).rejects.toThrow(/already in pool fast/);
  });

  it('unmanage keeps the bytes; manage adopts them again, rounded to GiB when asked', async () => {
    const vol = await readyVolume('keeper', 3 * MiB, { pool: 'local' });
    const file = await v.fileOf(vol.id);
    const data = randomBytes(MiB);
    await writeAt(file, 0, data);
    await v.settle(await v.engine.unmanageVolume(vol.id));
    await expect(v.engine.getVolume(vol.id)).rejects.toThrow(/not found/);
    expect(sha((await fs.readFile(file)).subarray(0, MiB))).toBe(sha(data));

    const listed = await v.engine.listManageableVolumes('local');
    const entry = listed.find((m) => m.reference['source-name'] === path.relative(path.join(v.dataDir, 'pools', 'local'), file));
    expect(entry?.safeToManage).toBe(true);
    const adopted = await v.engine.manageVolume({ pool: 'local', reference: entry?.reference ?? {}, name: 'adopted', roundToGiB: true });
    await v.settle(adopted);
    const again = await v.engine.getVolume(adopted.resource.id);
    expect(again.status).toBe('available');
    expect(again.sizeBytes).toBe(1024 ** 3);
    expect((await fs.stat(file)).size).toBe(1024 ** 3);
    expect(sha(await readHead(file, MiB))).toBe(sha(data));
    const relisted = await v.engine.listManageableVolumes('local');
    const now = relisted.find((m) => m.managedId === adopted.resource.id);
    expect(now?.safeToManage).toBe(false);
    expect(now?.reasonNotSafe).toBe('already managed');
    await expect(v.engine.manageVolume({ pool: 'local', reference: entry?.reference ?? {} })).rejects.toBeInstanceOf(ConflictError);
  });

  it('refuses manage references that leave the pool, with nothing written', async () => {
    const root = path.join(v.dataDir, 'pools', 'local');
    const outside = path.join(v.dataDir, 'outside.img');
    await fs.writeFile(outside, 'secret');
    await fs.mkdir(path.join(root, 'import'), { recursive: true });
    await fs.symlink(outside, path.join(root, 'import', 'link.img'));
    const before = await v.store.latestIndex();
    for (const ref of ['../outside.img', outside, 'import/link.img', 'import/../../outside.img', 'nope.img']) {
      await expect(v.engine.manageVolume({ pool: 'local', reference: { 'source-name': ref } })).rejects.toThrow(/reference\.source-name/);
    }
    expect(await v.store.latestIndex()).toBe(before);
    const listed = await v.engine.listManageableVolumes('local');
    const link = listed.find((m) => m.reference['source-name'] === 'import/link.img');
    expect(link?.safeToManage).toBe(false);
    expect(link?.reasonNotSafe).toMatch(/symlink.*escapes/);
  });

  it('two concurrent attaches of a single-node-writer volume from two nodes: exactly one wins', async () => {
    const vol = await readyVolume('rwo', MiB, { accessModes: [{ accessMode: 'single-node-writer', attachmentMode: 'filesystem' }] });
    const results = await Promise.allSettled([
      v.engine.attachVolume(vol.id, { node: 'node-a', instance: 'vm-a' }),
      v.engine.attachVolume(vol.id, { node: 'node-b', instance: 'vm-b' }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected');
    expect(lost?.status === 'rejected' && lost.reason).toBeInstanceOf(InvalidStateError);
    const winner = won[0]?.status === 'fulfilled' ? won[0].value : undefined;
    await v.settle(winner?.task ?? (undefined as never));
    const attached = await v.engine.getVolume(vol.id);
    expect(attached.status).toBe('in-use');
    const attachments = await v.engine.listAttachments(vol.id);
    expect(attachments).toHaveLength(1);
    expect(attachments[0]?.connectionInfo).toMatchObject({ driverVolumeType: 'file', path: await v.fileOf(vol.id) });
    // Once settled, the other node is still refused, now by the access mode.
    const otherNode = winner?.attachment.node === 'node-a' ? 'node-b' : 'node-a';
    await expect(v.engine.attachVolume(vol.id, { node: otherNode })).rejects.toBeInstanceOf(ConflictError);
    await expect(v.engine.deleteVolume(vol.id)).rejects.toThrow(/in-use/);
    await v.settle(await v.engine.detachVolume(vol.id, attachments[0]?.id ?? ''));
    expect((await v.engine.getVolume(vol.id)).status).toBe('available');
  });

  it('multiattach volumes take several readers and writers; readonly volumes refuse rw', async () => {
    const vol = await readyVolume('shared', MiB, { multiattach: true });
    const a = await v.engine.attachVolume(vol.id, { node: 'n1' });
    await v.settle(a);
    const b = await v.engine.attachVolume(vol.id, { node: 'n2' });
    await v.settle(b);
    expect(await v.engine.listAttachments(vol.id)).toHaveLength(2);
    await v.settle(await v.engine.detachVolume(vol.id, a.attachment.id));
    expect((await v.engine.getVolume(vol.id)).status).toBe('in-use');
    await v.settle(await v.engine.detachVolume(vol.id, b.attachment.id));
    expect((await v.engine.getVolume(vol.id)).status).toBe('available');

    const ro = await readyVolume('ro', MiB);
    await v.engine.updateVolume(ro.id, { readonly: true });
    await expect(v.engine.attachVolume(ro.id, { node: 'n1', mode: 'rw' })).rejects.toThrow(/read-only/);
    const roAttach = await v.engine.attachVolume(ro.id, { node: 'n1', mode: 'ro' });
    const done = await v.settle(roAttach);
    expect(done.state).toBe('success');
  });

  it('enforces quotas in the reserving transaction', async () => {
    await v.engine.setQuota({ namespace: 'small', volumes: 1, gigabytes: 1, snapshots: 0 });
    const first = await v.engine.createVolume({ name: 'a', sizeBytes: MiB, namespace: 'small' });
    await v.settle(first);
    await expect(v.engine.createVolume({ name: 'b', sizeBytes: MiB, namespace: 'small' })).rejects.toBeInstanceOf(QuotaExceededError);
    await expect(v.engine.createSnapshot(first.resource.id, { name: 's' })).rejects.toThrow(/snapshots limit 0/);
    await expect(v.engine.extendVolume(first.resource.id, 2 * 1024 ** 3)).rejects.toThrow(/gigabytes limit 1/);
  });

  it('uploads a volume to an image, creates from it and reimages with the same bytes', async () => {
    const vol = await readyVolume('golden', 2 * MiB);
    const data = randomBytes(MiB);
    await writeAt(await v.fileOf(vol.id), 4096, data);
    const up = await v.engine.uploadVolumeToImage(vol.id, { imageName: 'golden-image' });
    expect(up.resource.status).toBe('uploading');
    await v.settle(up);
    const image = await v.store.getImage(up.image.id);
    expect(image?.status).toBe('active');
    const full = await fs.readFile(await v.fileOf(vol.id));
    expect(image?.checksum).toBe(sha(full));
    const fromImage = await v.engine.createVolume({ name: 'from-image', sizeBytes: 4 * MiB, source: { imageId: up.image.id } });
    expect(fromImage.resource.status).toBe('downloading');
    await v.settle(fromImage);
    const copy = await fs.readFile(await v.fileOf(fromImage.resource.id));
    expect(sha(copy.subarray(0, full.length))).toBe(sha(full));
    await writeAt(await v.fileOf(fromImage.resource.id), 4096, randomBytes(MiB));
    await v.settle(await v.engine.reimageVolume(fromImage.resource.id, up.image.id));
    const reimaged = await fs.readFile(await v.fileOf(fromImage.resource.id));
    expect(sha(reimaged.subarray(0, full.length))).toBe(sha(full));
    const raw = await v.engine.createImage({ name: 'raw' }, Readable.from([Buffer.from('hello image')]));
    expect(raw.sizeBytes).toBe(11);
    await expect(v.engine.createVolume({ name: 'x', sizeBytes: 1, source: { imageId: up.image.id } })).rejects.toThrow(/at least/);
  });

  it('retypes in place when the pool fits, and moves on demand when it does not', async () => {
    await v.engine.createType({ name: 'bronze', extraSpecs: {} });
    await v.engine.createType({ name: 'gold', extraSpecs: { pool: 'fast' } });
    const vol = await readyVolume('typed', MiB, { type: 'bronze', pool: 'local' });
    await expect(v.engine.retypeVolume(vol.id, { type: 'gold' })).rejects.toThrow(/migrationPolicy/);
    const data = randomBytes(MiB);
    await writeAt(await v.fileOf(vol.id), 0, data);
    await v.settle(await v.engine.retypeVolume(vol.id, { type: 'gold', migrationPolicy: 'on-demand' }));
    const moved = await v.engine.getVolume(vol.id);
    expect(moved.poolId).toBe('fast');
    expect(moved.status).toBe('available');
    expect(moved.typeId).toBe((await v.store.getType('gold'))?.id);
    expect(sha(await fs.readFile(await v.fileOf(vol.id)))).toBe(sha(data));
    const goldVol = await readyVolume('gold-new', MiB, { type: 'gold' });
    expect(goldVol.poolId).toBe('fast');
    await expect(v.engine.createVolume({ name: 'bad', sizeBytes: MiB, type: 'gold', pool: 'local' })).rejects.toThrow(/asks for pool fast/);
  });

  it('file-kind volumes are directories; byte moves on them are refused clearly', async () => {
    const vol = await readyVolume('share', MiB, { kind: 'file', pool: 'local' });
    const dir = await v.fileOf(vol.id);
    expect((await fs.stat(dir)).isDirectory()).toBe(true);
    await fs.writeFile(path.join(dir, 'a.txt'), 'one');
    const snap = await v.engine.createSnapshot(vol.id, { name: 's' });
    await v.settle(snap);
    await fs.writeFile(path.join(dir, 'a.txt'), 'two');
    await v.settle(await v.engine.revertVolume(vol.id, snap.resource.id));
    expect(await fs.readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('one');
    await expect(v.engine.uploadVolumeToImage(vol.id, { imageName: 'x' })).rejects.toBeInstanceOf(UnsupportedError);
    expect((await v.engine.getVolume(vol.id)).status).toBe('available');
    await expect(v.engine.migrateVolume(vol.id, { pool: 'fast' })).rejects.toBeInstanceOf(UnsupportedError);
  });

  it('extends attached volumes online, waiting for the node when asked', async () => {
    const vol = await readyVolume('online', MiB);
    const att = await v.engine.attachVolume(vol.id, { node: 'n1' });
    await v.settle(att);
    await v.settle(await v.engine.extendVolume(vol.id, 2 * MiB));
    expect((await v.engine.getVolume(vol.id)).status).toBe('in-use');
    await v.settle(await v.engine.extendVolume(vol.id, 3 * MiB, { awaitCompletion: true }));
    const waiting = await v.engine.getVolume(vol.id);
    expect([waiting.status, waiting.sizeBytes]).toEqual(['extending', 3 * MiB]);
    expect((await fs.stat(await v.fileOf(vol.id))).size).toBe(3 * MiB);
    const done = await v.engine.completeExtend(vol.id, true);
    expect(done.status).toBe('in-use');
    await expect(v.engine.completeExtend(vol.id, true)).rejects.toBeInstanceOf(InvalidStateError);
  });

  it('force delete detaches and removes snapshots; force detach works from any status', async () => {
    const vol = await readyVolume('doomed', MiB);
    await v.settle(await v.engine.attachVolume(vol.id, { node: 'n1' }));
    await v.settle(await v.engine.createSnapshot(vol.id, { name: 's', force: true }));
    await expect(v.engine.createSnapshot(vol.id, { name: 's2' })).rejects.toThrow(/use force/);
    const file = await v.fileOf(vol.id);
    await v.settle(await v.engine.deleteVolume(vol.id, { force: true }));
    await expect(v.engine.getVolume(vol.id)).rejects.toThrow(/not found/);
    await expect(fs.stat(file)).rejects.toThrow();
    expect((await v.store.listSnapshots({ volumeId: vol.id })).items).toEqual([]);

    const stuck = await readyVolume('stuck', MiB);
    const att = await v.engine.attachVolume(stuck.id, { node: 'n1' });
    await v.settle(att);
    await v.engine.resetVolumeStatus(stuck.id, { status: 'error' });
    await expect(v.engine.detachVolume(stuck.id, att.attachment.id)).rejects.toBeInstanceOf(InvalidStateError);
    await v.settle(await v.engine.detachVolume(stuck.id, att.attachment.id, { force: true }));
    expect((await v.engine.getVolume(stuck.id)).status).toBe('available');
  });

  it('seals volume and snapshot secrets: ciphertext in the store, opened only for drivers, absent from records', async () => {
    const secret = 'pa55-' + randomBytes(8).toString('hex');
    const vol = await readyVolume('sealed', 4 * MiB, { secrets: { chapPassword: secret } });
    const snap = await v.engine.createSnapshot(vol.id, { name: 's', secrets: { token: secret } });
    await v.settle(snap);
    const sealedVol = await v.store.getVolumeSecrets(vol.id);
    const sealedSnap = await v.store.getSnapshotSecrets(snap.resource.id);
    expect(sealedVol).toMatch(/^v1\./);
    expect(sealedSnap).toMatch(/^v1\./);
    expect(sealedVol).not.toContain(secret);
    expect(await v.engine.readVolumeSecrets(vol.id)).toEqual({ chapPassword: secret });
    const records = JSON.stringify([await v.engine.getVolume(vol.id), await v.engine.getSnapshot(snap.resource.id), await v.store.listTasks({ limit: 100 }), await v.store.listEvents(0, 1000)]);
    expect(records).not.toContain(secret);
    expect((await fs.stat(path.join(v.dataDir, 'secret.key'))).mode & 0o777).toBe(0o600);
  });

  it('reserves and unreserves synchronously', async () => {
    const vol = await readyVolume('r', MiB);
    expect((await v.engine.reserveVolume(vol.id)).status).toBe('reserved');
    await expect(v.engine.reserveVolume(vol.id)).rejects.toThrow(/has status reserved/);
    await v.settle(await v.engine.attachVolume(vol.id, { node: 'n1' }));
    expect((await v.engine.getVolume(vol.id)).status).toBe('in-use');
    const other = await readyVolume('u', MiB);
    await v.engine.reserveVolume(other.id);
    expect((await v.engine.unreserveVolume(other.id)).status).toBe('available');
  });

  it('begins and rolls back detaching without a task; a restart rolls back one that never finished', async () => {
    const vol = await readyVolume('d', MiB, { multiattach: true });
    const a1 = await v.engine.attachVolume(vol.id, { node: 'n1' });
    await v.settle(a1);
    const a2 = await v.engine.attachVolume(vol.id, { node: 'n2' });
    await v.settle(a2);
    const begun = await v.engine.beginDetaching(vol.id);
    expect([begun.status, begun.attachStatus]).toEqual(['detaching', 'attached']);
    await expect(v.engine.attachVolume(vol.id, { node: 'n3' })).rejects.toThrow(/has status detaching/);
    await expect(v.engine.beginDetaching(vol.id)).rejects.toThrow(/has status detaching \(allowed from in-use\)/);
    expect((await v.engine.rollDetaching(vol.id)).status).toBe('in-use');
    await expect(v.engine.rollDetaching(vol.id)).rejects.toThrow(/has status in-use/);

    // begin-detaching, then the detach itself; while it is queued nothing else may detach or roll back.
    await v.engine.beginDetaching(vol.id);
    await v.engine.stop();
    const detach = await v.engine.detachVolume(vol.id, a1.attachment.id);
    await expect(v.engine.detachVolume(vol.id, a2.attachment.id)).rejects.toThrow(/a detach is already running/);
    await expect(v.engine.rollDetaching(vol.id)).rejects.toThrow(/a detach is already running/);
    await v.engine.start();
    expect((await v.settle(detach)).state).toBe('success');
    const after = await v.engine.getVolume(vol.id);
    expect([after.status, after.attachStatus]).toEqual(['in-use', 'attached']);

    // A begin-detaching that no detach followed does not survive a restart.
    await v.engine.beginDetaching(vol.id);
    await v.engine.stop();
    const report = await v.engine.start();
    expect(report.rolledBack).toContain(vol.id);
    expect((await v.engine.getVolume(vol.id)).status).toBe('in-use');
  });
});
