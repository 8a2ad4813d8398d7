// The engine's promises under races and admin overrides: quotas hold, every
// task locks what it changes, cancelled work rolls back, attachment writes are
// compare-and-set, engine state is not user-writable, and no dependents are
// missed past a page; volumes named by their callers never take over storage
// left behind, ended claims are told from live ones. Each test fails on the
// defect it names.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError, InvalidStateError } from '../domain/errors.js';
import { GiB, MiB } from '../domain/types.js';
import { FakeDriver } from '../drivers/fake/fake-driver.js';
import { withLatency } from '../../test/support/latency.js';
import { startTestVolumed, type TestVolumed } from '../../test/support/testing.js';

describe('engine correctness', () => {
  let v: TestVolumed;
  let fake: FakeDriver;
  beforeEach(async () => {
    v = await startTestVolumed({ pools: [{ id: 'fake', driver: 'fake' }, { id: 'local', driver: 'file' }], runner: { pollMs: 10, backoffMs: 10 } });
    fake = v.pools.driver('fake') as FakeDriver;
  });
  afterEach(async () => {
    expect(await v.engine.checkInvariants()).toEqual([]);
    await v.remove();
  });

  const ready = async (sizeBytes = MiB, pool = 'fake', extra: Record<string, unknown> = {}) => {
    const accepted = await v.engine.createVolume({ name: 'v', sizeBytes, pool, namespace: 'q', ...extra });
    expect((await v.settle(accepted)).state).toBe('success');
    return v.engine.getVolume(accepted.resource.id);
  };

  it('reserves quota when an extend is accepted: two racing extends cannot both pass', async () => {
    // Sparse 1 GiB files on a file pool whose calls are slowed, so the first extend is still at work.
    const slow = await startTestVolumed({ pools: [{ id: 'local', driver: 'file' }], wrapDriver: (d) => withLatency(d, 100) });
    try {
      await slow.engine.setQuota({ namespace: 'q', volumes: -1, gigabytes: 3, snapshots: -1 });
      const a = await slow.settle(await slow.engine.createVolume({ name: 'a', sizeBytes: GiB, namespace: 'q' }));
      const b = await slow.settle(await slow.engine.createVolume({ name: 'b', sizeBytes: GiB, namespace: 'q' }));
      const first = await slow.engine.extendVolume(a.resourceId, 2 * GiB);
      await expect(slow.engine.extendVolume(b.resourceId, 2 * GiB)).rejects.toThrow(/gigabytes limit 3/);
      expect((await slow.settle(first)).state).toBe('success');
      expect((await slow.engine.usage('q')).gigabytes).toBe(3);
      expect(await slow.engine.checkInvariants()).toEqual([]);
    } finally {
      await slow.remove();
    }
  });

  it('gives a failed extend\'s reservation back', async () => {
    await v.engine.setQuota({ namespace: 'q', volumes: -1, gigabytes: 2, snapshots: -1 });
    const vol = await ready(MiB);
    fake.failNext('extendVolume');
    const failing = await v.engine.extendVolume(vol.id, 2 * MiB);
    expect((await v.engine.getVolume(vol.id)).reservedBytes).toBe(MiB);
    expect((await v.settle(failing)).state).toBe('error');
    expect((await v.engine.getVolume(vol.id)).reservedBytes ?? 0).toBe(0);
    expect((await v.engine.usage('q')).gigabytes).toBe(1);
    await v.engine.resetVolumeStatus(vol.id, { status: 'available' });
  });

  it('rolls an extend the storage refused back to the status it had, with the reason', async () => {
    const vol = await ready(MiB);
    fake.failNext('extendVolume', new InvalidInputError('4194304 bytes is more than this file system allows a file', 'newSizeBytes'));
    expect((await v.settle(await v.engine.extendVolume(vol.id, 4 * MiB))).state).toBe('error');
    const after = await v.engine.getVolume(vol.id);
    expect([after.status, after.sizeBytes, after.reservedBytes ?? 0]).toEqual(['available', MiB, 0]);
    expect(after.lastError).toContain('more than this file system allows');
    // Any other failure leaves error_extending for an operator, as Cinder does.
    fake.failNext('extendVolume');
    await v.settle(await v.engine.extendVolume(vol.id, 4 * MiB));
    expect((await v.engine.getVolume(vol.id)).status).toBe('error_extending');
    await v.engine.resetVolumeStatus(vol.id, { status: 'available' });
  });

  it('counts quota in bytes: 24.5 GiB in use and 0.5 GiB more fit 25 GiB', async () => {
    await v.engine.setQuota({ namespace: 'q', volumes: -1, gigabytes: 25, snapshots: -1 });
    const big = await ready(24 * GiB + GiB / 2, 'local');
    const grown = await v.settle(await v.engine.extendVolume(big.id, 25 * GiB));
    expect(grown.state, grown.error ?? '').toBe('success');
    await expect(v.engine.extendVolume(big.id, 25 * GiB + 1)).rejects.toThrow(/gigabytes limit 25/);
    await v.settle(await v.engine.deleteVolume(big.id));
  });

  it('locks a clone to its new volume too: a force-delete waits for the create', async () => {
    const source = await ready(MiB);
    fake.delayNext('createVolume', 200);
    const clone = await v.engine.createVolume({ name: 'clone', sizeBytes: MiB, source: { volumeId: source.id }, namespace: 'q' });
    expect(clone.task.lockKeys).toEqual(expect.arrayContaining([clone.resource.id, source.id]));
    const removal = await v.engine.deleteVolume(clone.resource.id, { force: true });
    expect((await v.settle(removal)).state).toBe('success');
    expect((await v.settle(clone)).state).toBe('error');
    // Nothing of the clone is left on storage.
    expect(fake.bytesOf(`vol-${clone.resource.id}`)).toBeUndefined();
  });

  it('reset-status cancels queued work through its rollback: no attachment stays attaching', async () => {
    const vol = await ready(MiB);
    fake.delayNext('extendVolume', 300);
    const extend = await v.engine.extendVolume(vol.id, 2 * MiB);
    // The attach waits behind the extend (same volume).
    await v.engine.resetVolumeStatus(vol.id, { status: 'available' });
    const attach = await v.engine.attachVolume(vol.id, { node: 'n1' });
    expect(attach.task.state).toBe('queued');
    await v.engine.resetVolumeStatus(vol.id, { status: 'available', attachStatus: 'detached' });
    expect((await v.engine.getTask(attach.task.id)).state).toBe('error');
    expect(await v.engine.listAttachments(vol.id)).toEqual([]);
    await v.settle(extend);
    // And the volume can still be deleted (no attachment blocks it).
    await v.engine.resetVolumeStatus(vol.id, { status: 'available' });
    expect((await v.settle(await v.engine.deleteVolume(vol.id))).state).toBe('success');
  });

  it('a forced detach during a running attach unpublishes what the attach published', async () => {
    const vol = await ready(MiB);
    fake.delayNext('publish', 200);
    const attach = await v.engine.attachVolume(vol.id, { node: 'n1' });
    const detach = await v.engine.detachVolume(vol.id, attach.attachment.id, { force: true });
    await v.settle(attach);
    expect((await v.settle(detach)).state).toBe('success');
    expect(fake.calls.publish).toBe(1);
    expect(fake.calls.unpublish).toBe(1);
    expect(await v.engine.listAttachments(vol.id)).toEqual([]);
    expect((await v.engine.getVolume(vol.id)).status).toBe('available');
  });

  it('a failed detach of a volume reset meanwhile leaves the attachment alone', async () => {
    const vol = await ready(MiB);
    const attach = await v.settle(await v.engine.attachVolume(vol.id, { node: 'n1' }));
    const attachmentId = String(attach.items[0]?.result?.attachmentId);
    fake.delayNext('unpublish', 200).failNext('unpublish');
    const detach = await v.engine.detachVolume(vol.id, attachmentId);
    await v.engine.resetVolumeStatus(vol.id, { status: 'in-use', attachStatus: 'attached' });
    await v.settle(detach);
    // The attachment is what the detach left (detaching); the reconciler-free check: the detach failure did not flip it to attached.
    const after = await v.engine.getAttachment(attachmentId);
    expect(after.status).toBe('detaching');
    // Clean up for the invariant check: a forced detach ends it.
    await v.settle(await v.engine.detachVolume(vol.id, attachmentId, { force: true }));
  });

  it('keeps the extend-completion marker out of user-writable fields', async () => {
    const vol = await ready(MiB, 'local');
    await v.settle(await v.engine.attachVolume(vol.id, { node: 'n1' }));
    await v.settle(await v.engine.extendVolume(vol.id, 2 * MiB, { awaitCompletion: true }));
    expect((await v.engine.getVolume(vol.id)).status).toBe('extending');
    // A PATCH replacing admin metadata cannot strand the volume.
    await v.engine.updateVolume(vol.id, { adminMetadata: {} });
    const done = await v.engine.completeExtend(vol.id, true);
    expect(done.status).toBe('in-use');
    expect(done.extendAwaiting ?? null).toBeNull();
    expect(done.sizeBytes).toBe(2 * MiB);
    const attachment = (await v.engine.listAttachments(vol.id))[0];
    await v.settle(await v.engine.detachVolume(vol.id, attachment?.id ?? ''));
  });

  it('finds every dependent past the first page: 1,001 snapshots all go with a cascade delete', async () => {
    const vol = await ready(MiB);
    await v.store.transact(async (tx) => {
      for (let i = 0; i < 1001; i++) {
        await tx.insertSnapshot({ id: `s-${String(i).padStart(4, '0')}`, volumeId: vol.id, namespace: 'q', name: `s${i}`, description: '', sizeBytes: 1, status: 'available', externalId: null, readyToUse: true, labels: {}, lastError: null });
      }
    });
    const removal = await v.engine.deleteVolume(vol.id, { cascade: true });
    expect((await v.settle(removal, 60_000)).state).toBe('success');
    expect((await v.engine.listSnapshots({ volumeId: vol.id })).items).toEqual([]);
    expect((await v.engine.usage('q')).snapshots).toBe(0);
  });

  it('reads never write: listing pools and scraping counts leave the index alone', async () => {
    const before = await v.engine.latestIndex();
    await v.engine.listPools();
    await v.engine.stats();
    expect(await v.engine.latestIndex()).toBe(before);
  });

  it('reverts a file volume after a crash between the two renames, and a leftover does not block the next revert', async () => {
    const vol = await ready(MiB, 'local', { kind: 'file' });
    const dir = await v.fileOf(vol.id);
    await fs.writeFile(path.join(dir, 'data'), 'before');
    const snap = await v.engine.createSnapshot(vol.id, { name: 's' });
    await v.settle(snap);
    await fs.writeFile(path.join(dir, 'data'), 'after');
    // What a kill between "<dir> → <dir>.old" and "<dir>.reverted → <dir>" leaves.
    await fs.cp(dir, `${dir}.reverted`, { recursive: true });
    await fs.writeFile(path.join(`${dir}.reverted`, 'data'), 'before');
    await fs.rename(dir, `${dir}.old`);
    await v.settle(await v.engine.revertVolume(vol.id, snap.resource.id));
    expect(await fs.readFile(path.join(dir, 'data'), 'utf8')).toBe('before');
    await fs.writeFile(path.join(dir, 'data'), 'changed');
    await fs.mkdir(`${dir}.reverted`);
    await fs.writeFile(path.join(`${dir}.reverted`, 'stale'), 'x');
    expect((await v.settle(await v.engine.revertVolume(vol.id, snap.resource.id))).state).toBe('success');
    expect(await fs.readdir(dir)).toEqual(['data']);
    expect(await fs.readFile(path.join(dir, 'data'), 'utf8')).toBe('before');
  });

  // Clients that name and register their own volumes (Nomad): chosen ids, claims that block an unmanage, secrets on delete.
  it('creates and adopts volumes under the id the caller chose, once', async () => {
    const made = await v.engine.createVolume({ id: 'mysql-data', name: 'db', sizeBytes: MiB, pool: 'local' });
    expect((await v.settle(made)).state).toBe('success');
    expect((await v.engine.getVolume('mysql-data')).externalId).toBe('volumes/mysql-data.img');
    await expect(v.engine.createVolume({ id: 'mysql-data', name: 'again', sizeBytes: MiB })).rejects.toThrow(ConflictError);
    await expect(v.engine.createVolume({ id: '../escape', name: 'x', sizeBytes: MiB })).rejects.toThrow(InvalidInputError);
    await expect(v.engine.createVolume({ id: '.hidden', name: 'x', sizeBytes: MiB })).rejects.toThrow(/^id: must be 1-128 letters/);

    // Unmanaged, its file stays: the same id may not build over it or hand it out as new...
    await v.settle(await v.engine.unmanageVolume('mysql-data'));
    await expect(v.engine.createVolume({ id: 'mysql-data', name: 'db', sizeBytes: MiB, pool: 'local' })).rejects.toThrow(/already holds a storage object for volume id mysql-data/);
    // ...but adopting it under that id again works, keeping the bytes.
    const file = `${v.dataDir}/pools/local/volumes/mysql-data.img`;
    await fs.writeFile(file, 'kept', { flag: 'r+' });
    const adopted = await v.engine.manageVolume({ id: 'mysql-data', pool: 'local', reference: { 'source-name': 'volumes/mysql-data.img' }, accessModes: [{ accessMode: 'single-node-writer', attachmentMode: 'filesystem' }], secrets: { k: 'v' }, csi: { fsType: 'ext4', parameters: { a: 'b' }, context: {}, capacityMin: 0, capacityMax: 0 } });
    expect((await v.settle(adopted)).state).toBe('success');
    const vol = await v.engine.getVolume('mysql-data');
    expect(vol).toMatchObject({ status: 'available', accessModes: [{ accessMode: 'single-node-writer' }], csi: { fsType: 'ext4', parameters: { a: 'b' } } });
    expect(await v.engine.readVolumeSecrets('mysql-data')).toEqual({ k: 'v' });
    expect((await fs.readFile(file)).subarray(0, 4).toString()).toBe('kept');
    await expect(v.engine.manageVolume({ id: 'mysql-data', pool: 'local', reference: { 'source-name': 'volumes/mysql-data.img' } })).rejects.toThrow(ConflictError);
  });

  it('refuses to unmanage a claimed volume naming the claims; dropping ended claims keeps refusing live ones', async () => {
    const made = await v.engine.createVolume({ id: 'shared', name: 'shared', sizeBytes: MiB, pool: 'fake', multiattach: true });
    await v.settle(made);
    await v.settle(await v.engine.attachVolume('shared', { node: 'n1', instance: 'alloc-live' }));
    await v.settle(await v.engine.attachVolume('shared', { node: 'n2', instance: 'alloc-gone' }));
    // n2 is gone: its detach fails, and the claim is left in error_detaching.
    fake.failNext('unpublish');
    const gone = (await v.engine.listAttachments('shared')).find((a) => a.instance === 'alloc-gone');
    expect((await v.settle(await v.engine.detachVolume('shared', gone?.id ?? ''))).state).toBe('error');

    const refusal = v.engine.unmanageVolume('shared');
    await expect(refusal).rejects.toThrow(InvalidStateError);
    await expect(refusal).rejects.toThrow('in use by alloc-live@n1 (rw, attached), alloc-gone@n2 (rw, error_detaching)');
    await expect(v.engine.unmanageVolume('shared', { dropEndedClaims: true })).rejects.toThrow(/in use by alloc-live@n1 \(rw, attached\)\)$/);

    const live = (await v.engine.listAttachments('shared')).find((a) => a.instance === 'alloc-live');
    await v.settle(await v.engine.detachVolume('shared', live?.id ?? ''));
    await expect(v.engine.unmanageVolume('shared')).rejects.toThrow(/alloc-gone@n2/);
    expect((await v.settle(await v.engine.unmanageVolume('shared', { dropEndedClaims: true }))).state).toBe('success');
    expect(await v.engine.listAttachments('shared').catch((e: unknown) => e)).toBeInstanceOf(Error);
    expect(fake.bytesOf('vol-shared')).toBeDefined();
    await fake.deleteVolume({ id: 'shared', externalId: 'vol-shared', kind: 'block' });
  });

  it('merges the secrets a delete brings over the stored ones, in the same transaction', async () => {
    await v.settle(await v.engine.createVolume({ id: 'sealed', name: 's', sizeBytes: MiB, pool: 'fake', secrets: { user: 'u', password: 'old' } }));
    fake.failNext('deleteVolume');
    expect((await v.settle(await v.engine.deleteVolume('sealed', { secrets: { password: 'new', token: 't' } }))).state).toBe('error');
    expect(await v.engine.readVolumeSecrets('sealed')).toEqual({ user: 'u', password: 'new', token: 't' });
    // A refused delete writes nothing, secrets included.
    await v.settle(await v.engine.attachVolume('sealed', { node: 'n1' }).catch(async () => v.engine.resetVolumeStatus('sealed', { status: 'available' }).then(() => v.engine.attachVolume('sealed', { node: 'n1' }))));
    await expect(v.engine.deleteVolume('sealed', { secrets: { password: 'newer' } })).rejects.toThrow(InvalidStateError);
    expect((await v.engine.readVolumeSecrets('sealed')).password).toBe('new');
    const attachment = (await v.engine.listAttachments('sealed'))[0];
    await v.settle(await v.engine.detachVolume('sealed', attachment?.id ?? ''));
    expect((await v.settle(await v.engine.deleteVolume('sealed'))).state).toBe('success');
  });
});
