// What the engine does for clients that name and register their own volumes
// (Nomad): ids chosen by the caller, claims that block an unmanage (and the
// ended ones a forced deregister drops), and secrets that come with a delete.

import * as fs from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError, InvalidStateError } from '../domain/errors.js';
import { MiB } from '../domain/types.js';
import { FakeDriver } from '../drivers/fake/fake-driver.js';
import { startTestVolumed, type TestVolumed } from '../../test/support/testing.js';

describe('caller-named volumes, claims and secrets', () => {
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
