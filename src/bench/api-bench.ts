#!/usr/bin/env node
// `npm run bench`: starts a server on a temp data dir and drives it over HTTP.
//  1. full lifecycle (create → attach → snapshot → detach → delete snapshot →
//     delete) with N concurrent clients: lifecycles/s and p50/p99 per step;
//  2. show and list-page latency with a large store (100k volumes).
// Prints a table and writes JSON to bench-results/.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openVolumed } from '../app/open.js';
import type { Volume } from '../domain/types.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '10' },
    volumes: { type: 'string', default: '100000' },
    samples: { type: 'string', default: '500' },
    out: { type: 'string', default: 'bench-results' },
  },
});
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);
const VOLUMES = Number(values.volumes);
const SAMPLES = Number(values.samples);
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli/main.js');

function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

class Timings {
  readonly byName = new Map<string, number[]>();
  add(name: string, ms: number): void {
    const list = this.byName.get(name) ?? [];
    list.push(ms);
    this.byName.set(name, list);
  }
  summary(): Record<string, { count: number; p50: number; p99: number; mean: number }> {
    const out: Record<string, { count: number; p50: number; p99: number; mean: number }> = {};
    for (const [name, list] of this.byName) {
      const sorted = [...list].sort((a, b) => a - b);
      out[name] = { count: list.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: list.reduce((a, b) => a + b, 0) / list.length };
    }
    return out;
  }
}

async function seed(dataDir: string, count: number): Promise<string[]> {
  const v = await openVolumed({ dataDir, runTasks: false });
  const ids: string[] = [];
  const started = Date.now();
  try {
    for (let done = 0; done < count; ) {
      const batch = Math.min(5000, count - done);
      await v.store.transact(async (tx) => {
        for (let i = 0; i < batch; i++) {
          const id = randomUUID();
          ids.push(id);
          await tx.insertVolume({
            id, name: `seed-${done + i}`, namespace: `ns-${(done + i) % 10}`, description: '', sizeBytes: 1024 * (1 + ((done + i) % 50)),
            status: 'available', attachStatus: 'detached', migrationStatus: 'none', previousStatus: null, poolId: 'local', typeId: null,
            externalId: null, kind: 'block', accessModes: [], mountOptions: [], bootable: false, readonly: false, multiattach: false,
            labels: { app: `app-${(done + i) % 100}` }, imageMetadata: {}, adminMetadata: {}, clusters: [], aclRules: [], source: null, topology: {}, lastError: null,
          });
        }
      });
      done += batch;
    }
  } finally {
    await v.close();
  }
  process.stderr.write(`seeded ${count} volumes in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return ids;
}

async function startServer(dataDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, VOLUMED_LOG_LEVEL: 'warn' } });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return {
    url,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function call<T>(t: Timings, name: string, url: string, method = 'GET', body?: unknown): Promise<T> {
  const start = performance.now();
  const res = await fetch(url, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  const json = (await res.json()) as T;
  t.add(name, performance.now() - start);
  if (!res.ok) throw new Error(`${name}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function lifecycle(base: string, t: Timings, deadline: number): Promise<number> {
  let done = 0;
  while (Date.now() < deadline) {
    const start = performance.now();
    const { volume } = await call<{ volume: Volume }>(t, 'create', `${base}/volumes?wait=true`, 'POST', { name: `bench-${randomUUID()}`, sizeBytes: 1024 ** 2, pool: 'local', namespace: 'bench' });
    const { attachment } = await call<{ attachment: { id: string } }>(t, 'attach', `${base}/volumes/${volume.id}/attachments?wait=true`, 'POST', { node: 'bench-node' });
    const { snapshot } = await call<{ snapshot: { id: string } }>(t, 'snapshot', `${base}/volumes/${volume.id}/snapshots?wait=true`, 'POST', { name: 's', force: true });
    await call(t, 'detach', `${base}/volumes/${volume.id}/attachments/${attachment.id}?wait=true`, 'DELETE');
    await call(t, 'delete snapshot', `${base}/snapshots/${snapshot.id}?wait=true`, 'DELETE');
    await call(t, 'delete', `${base}/volumes/${volume.id}?wait=true`, 'DELETE');
    t.add('lifecycle', performance.now() - start);
    done++;
  }
  return done;
}

async function main(): Promise<void> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-bench-'));
  try {
    const ids = await seed(dataDir, VOLUMES);
    const server = await startServer(dataDir);
    const base = `${server.url}/api/v1`;
    try {
      const life = new Timings();
      const started = Date.now();
      const counts = await Promise.all(Array.from({ length: CLIENTS }, () => lifecycle(base, life, started + SECONDS * 1000)));
      const elapsed = (Date.now() - started) / 1000;
      const lifecycles = counts.reduce((a, b) => a + b, 0);

      const reads = new Timings();
      const pick = (): string => ids[Math.floor(Math.random() * ids.length)] ?? '';
      let cursor: string | null = null;
      for (let i = 0; i < SAMPLES; i++) {
        await call(reads, 'show volume', `${base}/volumes/${pick()}`);
        const page: { nextCursor: string | null } = await call<{ nextCursor: string | null }>(reads, 'list page (100, by name)', `${base}/volumes?limit=100&sort=name${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        cursor = page.nextCursor;
        await call(reads, 'list page (namespace + label)', `${base}/volumes?limit=100&namespace=ns-${i % 10}&label=app%3Dapp-${i % 100}`);
        await call(reads, 'list page (size desc)', `${base}/volumes?limit=100&sort=sizeBytes&direction=desc`);
      }
      const result = {
        when: new Date().toISOString(),
        node: process.version,
        cpus: os.cpus().length,
        clients: CLIENTS,
        seconds: elapsed,
        storeVolumes: VOLUMES,
        lifecyclesPerSecond: lifecycles / elapsed,
        lifecycle: life.summary(),
        reads: reads.summary(),
      };
      const rows = [...Object.entries(result.lifecycle), ...Object.entries(result.reads)];
      process.stdout.write(`\nlifecycles: ${lifecycles} in ${elapsed.toFixed(1)} s with ${CLIENTS} clients = ${result.lifecyclesPerSecond.toFixed(2)} /s (store holds ${VOLUMES} volumes)\n\n`);
      process.stdout.write(`${'operation'.padEnd(32)}${'count'.padStart(8)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'mean ms'.padStart(10)}\n`);
      for (const [name, s] of rows) {
        process.stdout.write(`${name.padEnd(32)}${String(s.count).padStart(8)}${s.p50.toFixed(1).padStart(10)}${s.p99.toFixed(1).padStart(10)}${s.mean.toFixed(1).padStart(10)}\n`);
      }
      await fs.mkdir(values.out ?? 'bench-results', { recursive: true });
      const file = path.join(values.out ?? 'bench-results', `api-${result.when.replace(/[:.]/g, '-')}.json`);
      await fs.writeFile(file, JSON.stringify(result, null, 2));
      process.stdout.write(`\nwritten to ${file}\n`);
    } finally {
      await server.stop();
    }
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

await main();
