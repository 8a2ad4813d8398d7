import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStoreLists } from '../store-lists.conformance.js';
import { describeStore, newVolume } from '../store.conformance.js';
import { SqliteStore } from './sqlite-store.js';

describeStore('sqlite', () => SqliteStore.open(':memory:'));
describeStoreLists('sqlite', () => SqliteStore.open(':memory:'));

// As a server runs it: a file, a read connection beside the writer, checkpoints on their own thread.
const fileStores: string[] = [];
const openFileStore = async (): Promise<SqliteStore> => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-sqlite-file-'));
  fileStores.push(dir);
  return SqliteStore.open(path.join(dir, 'volumed.db'));
};
describeStore('sqlite file', openFileStore);
describeStoreLists('sqlite file', openFileStore);
afterAll(async () => {
  for (const dir of fileStores) await fs.rm(dir, { recursive: true, force: true });
});

describe('SqliteStore indexes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-sqlite-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('follows commits of this process and of another sharing the file in the index it answers', async () => {
    const file = path.join(dir, 'shared.db');
    const a = await SqliteStore.open(file);
    const b = await SqliteStore.open(file);
    try {
      const start = await a.latestIndex();
      const v = await a.transact((tx) => tx.insertVolume(newVolume({ name: 'first' })));
      expect(await a.latestIndex()).toBe(v.modifyIndex);
      expect(await a.latestIndex()).toBeGreaterThan(start);
      // Another process's store sees the commit at once: in the index, and in what it reads.
      expect(await b.latestIndex()).toBe(v.modifyIndex);
      const renamed = await b.transact((tx) => tx.updateVolume(v.id, { name: 'second' }));
      expect(await a.latestIndex()).toBe(renamed.modifyIndex);
      expect(JSON.parse((await a.getVolumeJson(v.id)) ?? '{}')).toMatchObject({ name: 'second' });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('never shows a read what an open commit group wrote, and shows it once committed', async () => {
    const store = await SqliteStore.open(path.join(dir, 'isolation.db'));
    try {
      const before = newVolume({ name: 'before' });
      await store.transact((tx) => tx.insertVolume(before));
      const during = newVolume({ name: 'during' });
      const seen = await store.transact(async (tx) => {
        await tx.insertVolume(during);
        await tx.updateVolume(before.id, { name: 'renamed' });
        // Reads outside the transaction, while it is open on the writer.
        return { volume: await store.getVolume(during.id), renamed: (await store.getVolume(before.id))?.name, listed: (await store.listVolumes({})).items.length };
      });
      expect(seen).toEqual({ volume: undefined, renamed: 'before', listed: 1 });
      expect((await store.getVolume(during.id))?.name).toBe('during');
      expect((await store.getVolume(before.id))?.name).toBe('renamed');
    } finally {
      await store.close();
    }
  });

  it('answers every list sort and filter from an index, never a full scan or sort', async () => {
    const file = path.join(dir, 'plan.db');
    let last: { sql: string; params: readonly unknown[] } = { sql: '', params: [] };
    const store = await SqliteStore.open(file, { onQuery: (sql, params) => (last = { sql, params }) });
    const raw = new Sqlite(file, { readonly: true });
    try {
      await store.transact(async (tx) => {
        for (let i = 0; i < 20; i++) await tx.insertVolume(newVolume({ name: `v${String(i)}`, labels: { app: 'x' } }));
      });
      const queries = [
        {},
        { sort: 'name' as const },
        { sort: 'sizeBytes' as const, direction: 'desc' as const },
        { namespace: 'default' },
        { namespace: 'default', sort: 'name' as const },
        { status: ['available' as const] },
        { namePrefix: 'v1', sort: 'name' as const },
        { namespace: 'default', labels: { app: 'x' } },
        { namespace: 'default', labels: { app: 'x' }, sort: 'sizeBytes' as const },
      ];
      for (const q of queries) {
        const first = await store.listVolumes({ ...q, limit: 5 });
        await store.listVolumes({ ...q, limit: 5, ...(first.nextCursor ? { cursor: first.nextCursor } : {}) });
        const plan = raw.prepare(`EXPLAIN QUERY PLAN ${last.sql}`).all(...(last.params as unknown[])) as { detail: string }[];
        const details = plan.map((p) => p.detail).join('\n');
        expect(details, JSON.stringify(q)).not.toMatch(/SCAN volumes(?! USING)/);
        expect(details, JSON.stringify(q)).not.toMatch(/TEMP B-TREE/);
        // Within a namespace a label is looked up per volume, not gathered into a list of every volume that has it.
        if (q.labels) expect(details, JSON.stringify(q)).not.toMatch(/LIST SUBQUERY/);
      }
    } finally {
      raw.close();
      await store.close();
    }
  });
});

describe('SqliteStore write-ahead log', () => {
  it('keeps the log bounded under steady commits, checkpointed off the event loop', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-wal-'));
    const file = path.join(dir, 'wal.db');
    const limit = 64;
    const store = await SqliteStore.open(file, { walLimitPages: limit, checkpointEveryMs: 20 });
    try {
      let largest = 0;
      let written = 0;
      // Commits one after another with no pause for longer than a few checkpoint intervals:
      // volumes with a large label each, several pages of log per commit.
      const until = Date.now() + 1500;
      for (let round = 0; Date.now() < until; round++) {
        written += 10;
        await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.transact((tx) => tx.insertVolume(newVolume({ name: `v-${String(round)}-${String(i)}`, labels: { blob: 'x'.repeat(900) } })))),
        );
        largest = Math.max(largest, (await fs.stat(`${file}-wal`)).size);
      }
      expect(await store.countVolumesByStatus()).toEqual({ available: written });
      // Without the hold before a commit, steady writes never let the log start over: it grew with every page written.
      expect(largest).toBeLessThan(16 * 1024 * 1024);
    } finally {
      await store.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
