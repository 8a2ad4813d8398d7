// Reads against a large store: req/s for one volume and for a list page of
// 100 under 16 connections (autocannon), then latency percentiles of list
// pages one at a time, and the server's resident memory.

import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { openVolumed } from '../app/open.js';
import { call, Timings, type Summary } from './stats.js';

export interface ReadRun {
  readonly storeVolumes: number;
  readonly connections: number;
  readonly showPerSecond: number;
  readonly listPerSecond: number;
  readonly errors: number;
  /** Server event-loop CPU (user + system) per request, in microseconds. */
  readonly serverCpuUsPerShow: number;
  readonly serverCpuUsPerList: number;
  readonly latency: Record<string, Summary>;
}

/** Fills a data dir with `count` available volumes, through the store, in large transactions. */
export async function seed(dataDir: string, count: number): Promise<string[]> {
  const v = await openVolumed({ dataDir, runTasks: false });
  const ids: string[] = [];
  const started = Date.now();
  try {
    for (let done = 0; done < count; ) {
      const batch = Math.min(10_000, count - done);
      await v.store.transact(async (tx) => {
        for (let i = 0; i < batch; i++) {
          const n = done + i;
          const id = randomUUID();
          ids.push(id);
          await tx.insertVolume({
            id, name: `seed-${String(n)}`, namespace: `ns-${String(n % 10)}`, description: '', sizeBytes: 1024 * (1 + (n % 50)),
            status: 'available', attachStatus: 'detached', migrationStatus: 'none', previousStatus: null, poolId: 'local', typeId: null,
            externalId: null, kind: 'block', accessModes: [], mountOptions: [], bootable: false, readonly: false, multiattach: false,
            labels: { app: `app-${String(n % 100)}` }, imageMetadata: {}, adminMetadata: {}, clusters: [], aclRules: [], source: null, topology: {}, lastError: null,
          });
        }
      });
      done += batch;
    }
  } finally {
    await v.close();
  }
  process.stderr.write(`seeded ${String(count)} volumes in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return ids;
}

export async function readRun(base: string, ids: readonly string[], seconds: number, samples: number, serverCpu: () => Promise<number>): Promise<ReadRun> {
  const pick = (): string => ids[Math.floor(Math.random() * ids.length)] ?? '';
  const connections = 16;
  // A second of shows first, not counted: a fresh server compiles its hot paths then.
  await autocannon({ url: base, connections, duration: 1, requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/volumes/${pick()}` }) }] });
  const cpu0 = await serverCpu();
  const show = await autocannon({
    url: base,
    connections,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/volumes/${pick()}` }) }],
  });
  const cpu1 = await serverCpu();
  let k = 0;
  const list = await autocannon({
    url: base,
    connections,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/volumes?limit=100&namespace=ns-${String(k++ % 10)}` }) }],
  });
  const cpu2 = await serverCpu();

  const t = new Timings();
  let cursor: string | null = null;
  for (let i = 0; i < samples; i++) {
    const page: { nextCursor: string | null } = await call<{ nextCursor: string | null }>(t, 'list page (100, by name)', `${base}/api/v1/volumes?limit=100&sort=name${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    cursor = page.nextCursor;
    await call(t, 'list page (namespace + label)', `${base}/api/v1/volumes?limit=100&namespace=ns-${String(i % 10)}&label=app%3Dapp-${String(i % 100)}`);
    await call(t, 'list page (size desc)', `${base}/api/v1/volumes?limit=100&sort=sizeBytes&direction=desc`);
    await call(t, 'show volume', `${base}/api/v1/volumes/${pick()}`);
  }
  const errors = show.errors + show.non2xx + list.errors + list.non2xx;
  return {
    storeVolumes: ids.length,
    connections,
    showPerSecond: show['2xx'] / show.duration,
    listPerSecond: list['2xx'] / list.duration,
    errors,
    serverCpuUsPerShow: ((cpu1 - cpu0) * 1e6) / show['2xx'],
    serverCpuUsPerList: ((cpu2 - cpu1) * 1e6) / list['2xx'],
    latency: t.summary(),
  };
}
