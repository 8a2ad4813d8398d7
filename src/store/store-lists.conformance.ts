// The listing half of the Store conformance suite: pages, sorts, filters and
// cursors, as every surface's lists rely on them. Call
// `describeStoreLists(name, open)` beside `describeStore` from the
// implementation's test file.

import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../domain/errors.js';
import type { Volume } from '../domain/types.js';
import { newVolume } from './store.conformance.js';
import type { Store } from './store.js';

export function describeStoreLists(name: string, open: () => Promise<Store>): void {
  describe(`Store conformance, lists: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('pages through volumes with no duplicates or gaps, for every sort', async () => {
      const ids: string[] = [];
      await store.transact(async (tx) => {
        for (let i = 0; i < 57; i++) {
          const v = await tx.insertVolume(newVolume({ name: `v${String(i % 10)}`, sizeBytes: (i % 7) * 1024, namespace: i % 2 ? 'a' : 'b' }));
          ids.push(v.id);
        }
      });
      for (const sort of ['createdAt', 'name', 'sizeBytes', 'id'] as const) {
        for (const direction of ['asc', 'desc'] as const) {
          const seen: Volume[] = [];
          let cursor: string | undefined;
          do {
            const page = await store.listVolumes({ sort, direction, limit: 8, ...(cursor ? { cursor } : {}) });
            seen.push(...page.items);
            cursor = page.nextCursor ?? undefined;
          } while (cursor);
          expect(new Set(seen.map((v) => v.id)).size).toBe(57);
          const keys = seen.map((v) => (sort === 'name' ? v.name : sort === 'sizeBytes' ? v.sizeBytes : sort === 'id' ? v.id : v.createdAt));
          const sorted = [...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
          expect(keys).toEqual(direction === 'asc' ? sorted : sorted.reverse());
        }
      }
    });

    it('filters by namespace, status, pool, name prefix, labels and creation time', async () => {
      await store.transact(async (tx) => {
        await tx.insertVolume(newVolume({ name: 'web-1', namespace: 'prod', labels: { app: 'web', tier: 'front' } }));
        await tx.insertVolume(newVolume({ name: 'web-2', namespace: 'prod', labels: { app: 'web' }, status: 'error' }));
        await tx.insertVolume(newVolume({ name: 'db-1', namespace: 'prod', labels: { app: 'db' }, poolId: 'fast' }));
        await tx.insertVolume(newVolume({ name: 'web-3', namespace: 'dev', labels: { app: 'web' } }));
      });
      const names = async (q: Parameters<Store['listVolumes']>[0]): Promise<string[]> =>
        (await store.listVolumes({ ...q, sort: 'name' })).items.map((v) => v.name);
      expect(await names({ namespace: 'prod' })).toEqual(['db-1', 'web-1', 'web-2']);
      expect(await names({ status: ['error'] })).toEqual(['web-2']);
      expect(await names({ poolId: 'fast' })).toEqual(['db-1']);
      expect(await names({ namePrefix: 'web-' })).toEqual(['web-1', 'web-2', 'web-3']);
      expect(await names({ labels: { app: 'web', tier: 'front' } })).toEqual(['web-1']);
      expect(await names({ labels: { app: 'web' }, namespace: 'prod' })).toEqual(['web-1', 'web-2']);
      expect(await names({ labels: { app: 'web', tier: 'front' }, namespace: 'prod' })).toEqual(['web-1']);
      expect(await names({ labels: { app: 'web' }, namespace: 'dev' })).toEqual(['web-3']);
      expect(await names({ createdAfter: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
      expect(await names({ createdBefore: new Date(Date.now() + 60_000).toISOString() })).toHaveLength(4);
    });

    it('lists by id: prefix, from an id on, and volumes attached on nodes by prefix; snapshots by pool', async () => {
      const [a, , c] = await store.transact(async (tx) => [
        await tx.insertVolume(newVolume({ id: 'web-a', poolId: 'local' })),
        await tx.insertVolume(newVolume({ id: 'web-b', poolId: 'fast' })),
        await tx.insertVolume(newVolume({ id: 'db-a', poolId: 'fast' })),
      ]);
      const ids = async (q: Parameters<Store['listVolumes']>[0]): Promise<string[]> => (await store.listVolumes({ ...q, sort: 'id' })).items.map((v) => v.id);
      expect(await ids({})).toEqual(['db-a', 'web-a', 'web-b']);
      expect(await ids({ idPrefix: 'web-' })).toEqual(['web-a', 'web-b']);
      expect(await ids({ idFrom: 'web-a' })).toEqual(['web-a', 'web-b']);
      expect(await ids({ idFrom: 'web-aa', idPrefix: 'web' })).toEqual(['web-b']);
      const attachment = (volumeId: string, node: string) => ({
        id: randomUUID(), volumeId, namespace: 'default', instance: 'i', node, mode: 'rw' as const, accessMode: 'single-node-writer' as const,
        attachmentMode: 'filesystem' as const, mountpoint: null, connector: {}, connectionInfo: null, status: 'attached' as const,
      });
      const onNode = await store.transact(async (tx) => {
        await tx.insertAttachment(attachment(c?.id ?? '', 'node-1'));
        return tx.insertAttachment(attachment(a?.id ?? '', ''));
      });
      // A reserved claim learns its node when it connects: the node index follows.
      await store.transact((tx) => tx.updateAttachment(onNode.id, { node: 'node-2' }));
      expect(await ids({ attachedNodePrefix: 'node-' })).toEqual(['db-a', 'web-a']);
      expect(await ids({ attachedNodePrefix: 'node-2' })).toEqual(['web-a']);
      expect(await ids({ attachedNodePrefix: 'other' })).toEqual([]);
      await store.transact((tx) =>
        tx.insertSnapshot({ id: randomUUID(), volumeId: c?.id ?? '', namespace: 'default', name: 's', description: '', sizeBytes: 1, status: 'available', externalId: null, readyToUse: true, labels: {}, lastError: null }),
      );
      expect((await store.listSnapshots({ poolId: 'fast' })).items.map((x) => x.volumeId)).toEqual(['db-a']);
      expect((await store.listSnapshots({ poolId: 'local' })).items).toEqual([]);
    });

    it('answers the same page as JSON text as it does as records', async () => {
      await store.transact(async (tx) => {
        for (let i = 0; i < 5; i++) await tx.insertVolume(newVolume({ name: `j${String(i)}`, labels: { i: String(i) } }));
      });
      const q = { sort: 'name' as const, limit: 3 };
      const records = await store.listVolumes(q);
      const json = await store.listVolumesJson(q);
      expect(JSON.parse(json.json)).toEqual(records.items);
      expect([json.count, json.nextCursor]).toEqual([3, records.nextCursor]);
      const first = records.items[0];
      expect(JSON.parse((await store.getVolumeJson(first?.id ?? '')) ?? 'null')).toEqual(first);
      expect(await store.getVolumeJson('missing')).toBeUndefined();
    });

    it('keeps the label index in step with label changes', async () => {
      const v = await store.transact((tx) => tx.insertVolume(newVolume({ labels: { app: 'old' } })));
      await store.transact((tx) => tx.updateVolume(v.id, { labels: { app: 'new' } }));
      expect((await store.listVolumes({ labels: { app: 'old' } })).items).toHaveLength(0);
      expect((await store.listVolumes({ labels: { app: 'new' } })).items).toHaveLength(1);
    });

    it('refuses a malformed cursor or one made for another sort, naming the field', async () => {
      await expect(store.listVolumes({ cursor: 'not-a-cursor' })).rejects.toThrow(/cursor/);
      await store.transact(async (tx) => {
        for (let i = 0; i < 3; i++) await tx.insertVolume(newVolume());
      });
      const page = await store.listVolumes({ limit: 1 });
      expect(page.nextCursor).not.toBeNull();
      await expect(store.listVolumes({ sort: 'name', cursor: page.nextCursor ?? '' })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(store.listVolumes({ limit: 0 })).rejects.toThrow(/limit/);
    });

    it('filters lists to a set of namespaces and lists the namespaces in use', async () => {
      await store.transact(async (tx) => {
        await tx.insertVolume(newVolume({ namespace: 'a' }));
        await tx.insertVolume(newVolume({ namespace: 'b' }));
        await tx.insertVolume(newVolume({ namespace: 'c' }));
      });
      expect((await store.listVolumes({ namespaces: ['a', 'c'] })).items.map((v) => v.namespace).sort()).toEqual(['a', 'c']);
      expect((await store.listVolumes({ namespaces: [] })).items).toEqual([]);
      expect(await store.listNamespaces()).toEqual(['a', 'b', 'c']);
    });
  });
}
