// The one test suite every Store implementation must pass (SQLite now,
// PostgreSQL later): call `describeStore(name, open)` from the
// implementation's test file.

import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidStateError } from '../domain/errors.js';
import type { Pool, Volume } from '../domain/types.js';
import type { NewVolume, Store } from './store.js';

export function newVolume(overrides: Partial<NewVolume> = {}): NewVolume {
  return {
    id: randomUUID(),
    name: 'vol',
    namespace: 'default',
    description: '',
    sizeBytes: 1024 * 1024,
    status: 'available',
    attachStatus: 'detached',
    migrationStatus: 'none',
    previousStatus: null,
    poolId: 'local',
    typeId: null,
    externalId: null,
    kind: 'block',
    accessModes: [],
    mountOptions: [],
    bootable: false,
    readonly: false,
    multiattach: false,
    labels: {},
    imageMetadata: {},
    adminMetadata: {},
    clusters: [],
    aclRules: [],
    source: null,
    topology: {},
    lastError: null,
    ...overrides,
  };
}

export function describeStore(name: string, open: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('stamps every write with a new index and an event', async () => {
      const before = await store.latestIndex();
      const v = await store.transact((tx) => tx.insertVolume(newVolume({ name: 'a' })));
      expect(v.createIndex).toBe(before + 1);
      expect(v.modifyIndex).toBe(before + 1);
      const updated = await store.transact((tx) => tx.updateVolume(v.id, { description: 'x' }));
      expect(updated.modifyIndex).toBe(before + 2);
      expect(updated.createIndex).toBe(before + 1);
      const events = await store.listEvents(before, 10);
      expect(events.map((e) => [e.index, e.topic, e.type])).toEqual([
        [before + 1, 'volume', 'created'],
        [before + 2, 'volume', 'updated'],
      ]);
    });

    it('rolls back every change of a failed transaction', async () => {
      const before = await store.latestIndex();
      const id = randomUUID();
      await expect(
        store.transact(async (tx) => {
          await tx.insertVolume(newVolume({ id }));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.getVolume(id)).toBeUndefined();
      expect(await store.latestIndex()).toBe(before);
      expect(await store.listEvents(before, 10)).toEqual([]);
    });

    it('compare-and-set on status: of two racing transitions exactly one wins', async () => {
      const v = await store.transact((tx) => tx.insertVolume(newVolume()));
      const attempt = (): Promise<Volume> => store.transact((tx) => tx.updateVolume(v.id, { status: 'attaching' }, { status: ['available'] }));
      const results = await Promise.allSettled([attempt(), attempt()]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const failed = results.find((r) => r.status === 'rejected');
      expect(failed?.status === 'rejected' && failed.reason).toBeInstanceOf(InvalidStateError);
      expect(String(failed?.status === 'rejected' && (failed.reason as Error).message)).toContain(v.id);
    });

    it('compare-and-set on modifyIndex refuses a stale write', async () => {
      const v = await store.transact((tx) => tx.insertVolume(newVolume()));
      await store.transact((tx) => tx.updateVolume(v.id, { description: 'first' }, { modifyIndex: v.modifyIndex }));
      await expect(store.transact((tx) => tx.updateVolume(v.id, { description: 'second' }, { modifyIndex: v.modifyIndex }))).rejects.toBeInstanceOf(ConflictError);
      expect((await store.getVolume(v.id))?.description).toBe('first');
    });

    it('reads a volume in a transaction as that transaction last wrote it', async () => {
      const v = await store.transact((tx) => tx.insertVolume(newVolume({ name: 'before' })));
      const seen = await store.transact(async (tx) => {
        const read = await tx.getVolume(v.id);
        await tx.updateVolume(v.id, { name: 'renamed' }, { modifyIndex: read?.modifyIndex ?? -1 });
        const renamed = await tx.getVolume(v.id);
        // The record read after the update carries the new modify index: a second compare-and-set on it holds.
        await tx.updateVolume(v.id, { description: 'twice' }, { modifyIndex: renamed?.modifyIndex ?? -1 });
        const twice = await tx.getVolume(v.id);
        await tx.deleteVolume(v.id);
        return { read: read?.name, renamed: renamed?.name, twice: twice?.description, deleted: await tx.getVolume(v.id) };
      });
      expect(seen).toEqual({ read: 'before', renamed: 'renamed', twice: 'twice', deleted: undefined });
      expect(await store.getVolume(v.id)).toBeUndefined();
    });

    it('claims queued tasks oldest first, one per lock key', async () => {
      const now = new Date().toISOString();
      const task = (lockKey: string | null, id = randomUUID(), more: readonly string[] = []) => ({
        id,
        operation: 'test',
        namespace: 'default',
        state: 'queued' as const,
        progress: 0,
        lockKeys: [...(lockKey ? [lockKey] : []), ...more],
        resourceType: 'volume' as const,
        resourceId: lockKey ?? id,
        params: {},
        checkpoint: {},
        items: [],
        attempts: 0,
        error: null,
        notBefore: now,
        leaseOwner: null,
        leaseExpiresAt: null,
        startedAt: null,
        finishedAt: null,
      });
      const a1 = await store.transact((tx) => tx.insertTask(task('A')));
      const a2 = await store.transact((tx) => tx.insertTask(task('A')));
      const b1 = await store.transact((tx) => tx.insertTask(task('B')));
      // a2 waits behind a1 even while a1 is only queued: first come, first served per key.
      let claimable = await store.listClaimableTasks(new Date(Date.now() + 1000).toISOString(), 10);
      expect(claimable.map((t) => t.id)).toEqual([a1.id, b1.id]);
      await store.transact((tx) => tx.updateTask(a1.id, { state: 'running' }, ['queued']));
      claimable = await store.listClaimableTasks(new Date(Date.now() + 1000).toISOString(), 10);
      expect(claimable.map((t) => t.id)).toEqual([b1.id]);
      await expect(store.transact((tx) => tx.updateTask(a1.id, { state: 'running' }, ['queued']))).rejects.toBeInstanceOf(InvalidStateError);
      expect((await store.activeTaskFor('A'))?.id).toBe(a2.id);
      // A task with two keys waits for both; the lock goes when the task ends.
      const ab = await store.transact((tx) => tx.insertTask(task('B', randomUUID(), ['C'])));
      const c1 = await store.transact((tx) => tx.insertTask(task('C')));
      expect(await store.lockBusy(['C'])).toBe(true);
      expect((await store.lockHolders(['A', 'C'])).map((t) => t.id)).toEqual([a1.id]);
      await store.transact((tx) => tx.updateTask(b1.id, { state: 'running' }, ['queued']));
      claimable = await store.listClaimableTasks(new Date(Date.now() + 1000).toISOString(), 10);
      expect(claimable.map((t) => t.id)).toEqual([]);
      await store.transact((tx) => tx.updateTask(b1.id, { state: 'success' }, ['running']));
      await store.transact((tx) => tx.updateTask(a1.id, { state: 'error' }, ['running']));
      claimable = await store.listClaimableTasks(new Date(Date.now() + 1000).toISOString(), 10);
      expect(claimable.map((t) => t.id)).toEqual([a2.id, ab.id]);
      // What a restart rolls back: records in a working status that no queued or running task works on.
      await store.transact(async (tx) => {
        for (const [id, status] of [['A', 'creating'], ['stranded-1', 'deleting'], ['stranded-2', 'extending'], ['resting', 'available']] as const) await tx.insertVolume(newVolume({ id, status }));
      });
      const working = ['creating', 'deleting', 'extending'] as const;
      expect((await store.listVolumesWithoutTask(working, null, 10)).map((v) => v.id)).toEqual(['stranded-1', 'stranded-2']);
      expect((await store.listVolumesWithoutTask(working, 'stranded-1', 10)).map((v) => v.id)).toEqual(['stranded-2']);
      expect(await store.listSnapshotsWithoutTask(['creating'], null, 10)).toEqual([]);
      expect(claimable.map((t) => t.id)).not.toContain(c1.id);
    });

    it('counts usage per namespace and provisioned bytes per pool', async () => {
      await store.transact(async (tx) => {
        const v = await tx.insertVolume(newVolume({ namespace: 'q', sizeBytes: 3 * 1024 ** 3, poolId: 'p1' }));
        await tx.insertVolume(newVolume({ namespace: 'q', sizeBytes: 1, poolId: 'p1' }));
        await tx.insertSnapshot({
          id: randomUUID(), volumeId: v.id, namespace: 'q', name: 's', description: '', sizeBytes: 1, status: 'available',
          externalId: null, readyToUse: true, labels: {}, lastError: null,
        });
        await tx.setQuota({ namespace: 'q', volumes: 5, gigabytes: 10, snapshots: 1 });
      });
      expect(await store.usage('q')).toEqual({ volumes: 2, gigabytes: 4, bytes: 3 * 1024 ** 3 + 1, snapshots: 1 });
      expect(await store.provisionedBytes('p1')).toBe(3 * 1024 ** 3 + 1);
      // Totals follow resizes, moves between pools, and deletions.
      const [big, small] = (await store.listVolumes({ namespace: 'q', sort: 'sizeBytes', direction: 'desc' })).items;
      await store.transact((tx) => tx.updateVolume(big?.id ?? '', { sizeBytes: 5 * 1024 ** 3, poolId: 'p2' }));
      expect(await store.provisionedBytes('p1')).toBe(1);
      expect(await store.provisionedBytes('p2')).toBe(5 * 1024 ** 3);
      const snap = (await store.listSnapshots({ namespace: 'q' })).items[0];
      await store.transact(async (tx) => {
        await tx.deleteSnapshot(snap?.id ?? '');
        await tx.deleteVolume(small?.id ?? '');
      });
      expect(await store.usage('q')).toEqual({ volumes: 1, gigabytes: 5, bytes: 5 * 1024 ** 3, snapshots: 0 });
      expect(await store.provisionedBytes('p1')).toBe(0);
      expect(await store.getQuota('q')).toEqual({ namespace: 'q', volumes: 5, gigabytes: 10, snapshots: 1 });
    });

    it('lists pools as last committed, also after a change to one', async () => {
      const pool = (id: string, totalBytes: number): Pool => ({
        id, driver: 'fake', config: {}, topology: {},
        capabilities: { kinds: ['block'], snapshot: false, createFromSnapshot: false, cloneVolume: false, revertToSnapshot: false, extend: false, onlineExtend: false, publish: false, manage: false, listVolumes: false, streams: false, thinProvisioning: true },
        capacity: { totalBytes, freeBytes: totalBytes },
      });
      await store.transact((tx) => tx.upsertPool(pool('pa', 10)));
      expect((await store.listPools()).map((p) => [p.id, p.capacity.totalBytes])).toEqual([['pa', 10]]);
      await store.transact((tx) => tx.upsertPool(pool('pa', 20)));
      expect((await store.listPools()).map((p) => [p.id, p.capacity.totalBytes])).toEqual([['pa', 20]]);
      // A change that rolls back leaves the list as it was.
      await expect(store.transact(async (tx) => {
        await tx.upsertPool(pool('pb', 1));
        throw new Error('no');
      })).rejects.toThrow('no');
      expect((await store.listPools()).map((p) => p.id)).toEqual(['pa']);
      await store.transact((tx) => tx.upsertPool(pool('pb', 1)));
      expect((await store.listPools()).map((p) => p.id)).toEqual(['pa', 'pb']);
    });

    it('wakes a blocking wait when an index passes', async () => {
      const start = await store.latestIndex();
      const waiting = store.waitForIndex(start, 5000);
      await store.transact((tx) => tx.insertVolume(newVolume()));
      expect(await waiting).toBe(start + 1);
      expect(await store.waitForIndex(start + 1, 50)).toBe(start + 1);
    });

    it('commits concurrent transactions together, each all-or-nothing with its own index', async () => {
      const start = await store.latestIndex();
      const kept = newVolume({ name: 'kept' });
      const dropped = newVolume({ name: 'dropped' });
      const committed: string[] = [];
      // Started in the same turn: they share one commit, and one of them fails half-way.
      const results = await Promise.allSettled([
        store.transact(async (tx) => {
          tx.afterCommit(() => committed.push('first'));
          return tx.insertVolume(kept);
        }),
        store.transact(async (tx) => {
          tx.afterCommit(() => committed.push('second'));
          await tx.insertVolume(dropped);
          throw new Error('changed its mind');
        }),
        store.transact(async (tx) => tx.index),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await store.getVolume(kept.id)).toBeDefined();
      expect(await store.getVolume(dropped.id)).toBeUndefined();
      expect(committed).toEqual(['first']);
      // Indexes stay dense: the failed one gave its index back.
      expect(await store.latestIndex()).toBe(start + 2);
      expect((results[2] as PromiseFulfilledResult<number>).value).toBe(start + 2);
      const events = await store.listEvents(start, 100);
      expect(events.map((e) => e.key)).not.toContain(dropped.id);
    });

    it('wakes a watcher only for the keys and topics it asked about', async () => {
      const a = await store.transact((tx) => tx.insertVolume(newVolume({ name: 'a' })));
      const b = await store.transact((tx) => tx.insertVolume(newVolume({ name: 'b' })));
      const watcher = store.watch({ keys: [a.id] });
      try {
        await store.transact((tx) => tx.updateVolume(b.id, { description: 'not a' }));
        expect(await watcher.next(50)).toBeUndefined();
        await store.transact((tx) => tx.updateVolume(a.id, { description: 'a' }));
        const change = await watcher.next(1000);
        expect(change).toMatchObject({ topic: 'volume', type: 'updated', key: a.id });
        expect((change?.payload as { description?: string }).description).toBe('a');
      } finally {
        watcher.close();
      }
      const before = await store.latestIndex();
      let woke = false;
      const onSnapshots = store.waitForIndex(before, 10_000, undefined, { topics: ['snapshot'] }).finally(() => (woke = true));
      await store.transact((tx) => tx.updateVolume(a.id, { description: 'again' }));
      // Reads run in order: after these, a waiter woken by the volume change would have answered.
      for (let i = 0; i < 3; i++) await store.latestIndex();
      await new Promise((r) => setImmediate(r));
      expect(woke).toBe(false);
      await store.transact((tx) =>
        tx.insertSnapshot({ id: randomUUID(), volumeId: a.id, namespace: a.namespace, name: 's', description: '', sizeBytes: 1, status: 'available', externalId: null, readyToUse: true, labels: {}, lastError: null }),
      );
      // The volume change did not wake the wait on snapshots; the snapshot did.
      expect(await onSnapshots).toBe(before + 2);
      // A change already made after the index answers at once.
      expect(await store.waitForIndex(before, 10_000, undefined, { keys: [a.id] })).toBe(before + 2);
    });

    it('keeps types unique by name and finds them by id or name', async () => {
      const t = await store.transact((tx) => tx.insertType({ id: randomUUID(), name: 'gold', description: '', isPublic: true, extraSpecs: { pool: 'fast' } }));
      expect((await store.getType('gold'))?.id).toBe(t.id);
      expect((await store.getType(t.id))?.name).toBe('gold');
      await expect(store.transact((tx) => tx.insertType({ id: randomUUID(), name: 'gold', description: '', isPublic: true, extraSpecs: {} }))).rejects.toBeInstanceOf(ConflictError);
    });

    it('keeps ACL policies and tokens, bootstraps once, and stores secrets outside the record', async () => {
      const now = new Date().toISOString();
      await store.transact(async (tx) => {
        await tx.upsertPolicy({ name: 'dev', description: '', rules: [{ namespace: 'dev', capabilities: ['write-volume'] }], createdAt: now });
        await tx.insertToken({ id: 't1', name: 'ci', policies: ['dev'], management: false, createdAt: now }, 'hash-1');
        await tx.markAclBootstrapped();
      });
      await expect(store.transact((tx) => tx.markAclBootstrapped())).rejects.toBeInstanceOf(ConflictError);
      expect((await store.findTokenBySecretHash('hash-1'))?.id).toBe('t1');
      expect(await store.findTokenBySecretHash('nope')).toBeUndefined();
      expect((await store.listPolicies()).map((p) => p.name)).toEqual(['dev']);
      const events = await store.listEvents(0, 100, ['acl']);
      expect(JSON.stringify(events)).not.toContain('hash-1');
      await store.transact((tx) => tx.deleteToken('t1'));
      expect(await store.getToken('t1')).toBeUndefined();

      const v = await store.transact((tx) => tx.insertVolume(newVolume({ namespace: 'dev' })));
      await store.transact((tx) => tx.setVolumeSecrets(v.id, 'ciphertext'));
      expect(await store.getVolumeSecrets(v.id)).toBe('ciphertext');
      expect(JSON.stringify(await store.getVolume(v.id))).not.toContain('ciphertext');
    });

  });
}
