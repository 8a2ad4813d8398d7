#!/usr/bin/env node
// `npm run bench`: drives built volumed servers over HTTP, as a user would.
//  1. create → available (?wait=true, 1 GiB sparse volumes) at concurrency 1, 16, 64;
//  2. the full lifecycle with 16 clients;
//  3. show and list req/s (16 connections) and list latency with a large store, and RSS;
//  4. recovery: many tasks in flight, kill -9, restart, time until all have ended.
// Prints a table and writes JSON to bench-results/, so runs can be compared.

import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createSweep } from './creates.js';
import { lifecycleRun } from './lifecycle.js';
import { readRun, seed } from './reads.js';
import { recoveryRun } from './recovery.js';
import { startServer } from './server.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '1,16,64' },
    clients: { type: 'string', default: '16' },
    volumes: { type: 'string', default: '1000000' },
    samples: { type: 'string', default: '500' },
    'recovery-tasks': { type: 'string', default: '10000' },
    only: { type: 'string', default: 'creates,lifecycle,reads,recovery' },
    out: { type: 'string', default: 'bench-results' },
    // Where data dirs (and so file pools) are made: creating files costs what that filesystem's state makes it.
    dir: { type: 'string', default: os.tmpdir() },
  },
});
const SECONDS = Number(values.seconds);
const only = new Set((values.only ?? '').split(','));

async function withDataDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(values.dir ?? os.tmpdir(), 'volumed-bench-'));
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const line = (cells: readonly string[], widths: readonly number[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('') + '\n';

async function main(): Promise<void> {
  const result: Record<string, unknown> = { when: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', dataDirsIn: values.dir };
  const out = process.stdout;

  if (only.has('creates')) {
    // Each concurrency on a fresh server and store: a sweep's thousands of 1 GiB
    // volumes would otherwise fill the pool's thin-provisioning room (20 x the
    // disk) and later levels would measure refusals, not creates.
    const runs = [];
    for (const concurrency of (values.concurrency ?? '').split(',').map(Number)) {
      runs.push(
        ...(await withDataDir(async (dir) => {
          const server = await startServer(dir);
          try {
            return await createSweep(`${server.url}/api/v1`, [concurrency], SECONDS, () => server.cpuSeconds());
          } finally {
            await server.stop();
          }
        })),
      );
    }
    result.creates = runs;
    out.write('\ncreate → available (?wait=true, 1 GiB sparse; a fresh server per concurrency)\n');
    const w = [14, 12, 10, 10, 10, 16];
    out.write(line(['concurrency', 'creates/s', 'p50 ms', 'p99 ms', 'errors', 'loop CPU ms/op'], w));
    for (const r of runs) out.write(line([String(r.concurrency), fmt(r.perSecond), fmt(r.p50Ms, 1), fmt(r.p99Ms, 1), String(r.errors), fmt(r.serverCpuMsPerCreate, 2)], w));
  }

  if (only.has('lifecycle')) {
    await withDataDir(async (dir) => {
      const server = await startServer(dir);
      try {
        const life = await lifecycleRun(`${server.url}/api/v1`, Number(values.clients), SECONDS, () => server.cpuSeconds());
        result.lifecycle = life;
        out.write(`\nlifecycle (create, attach, snapshot, detach, delete snapshot, delete) with ${String(life.clients)} clients: ${fmt(life.perSecond, 1)}/s, ${String(life.errors)} errors, event-loop CPU ${fmt(life.serverCpuMsPerLifecycle, 1)} ms per lifecycle\n`);
        const w = [20, 8, 10, 10];
        out.write(line(['step', 'count', 'p50 ms', 'p99 ms'], w));
        for (const [name, s] of Object.entries(life.steps)) out.write(line([name, String(s.count), fmt(s.p50, 1), fmt(s.p99, 1)], w));
        result.rssAfterWritesBytes = await server.rss();
      } finally {
        await server.stop();
      }
    });
  }

  if (only.has('reads')) {
    await withDataDir(async (dir) => {
      const ids = await seed(dir, Number(values.volumes));
      const server = await startServer(dir);
      try {
        const reads = await readRun(server.url, ids, SECONDS, Number(values.samples), () => server.cpuSeconds());
        const rss = await server.rss();
        result.reads = { ...reads, rssBytes: rss };
        out.write(`\nreads with ${String(reads.storeVolumes)} volumes in the store, ${String(reads.connections)} connections: show ${fmt(reads.showPerSecond)} req/s, list page of 100 ${fmt(reads.listPerSecond)} req/s, ${String(reads.errors)} errors, event-loop CPU ${fmt(reads.serverCpuUsPerShow)} / ${fmt(reads.serverCpuUsPerList)} µs per show / list, server RSS ${fmt(rss / 2 ** 20)} MiB\n`);
        const w = [32, 8, 10, 10];
        out.write(line(['one at a time', 'count', 'p50 ms', 'p99 ms'], w));
        for (const [name, s] of Object.entries(reads.latency)) out.write(line([name, String(s.count), fmt(s.p50, 2), fmt(s.p99, 2)], w));
      } finally {
        await server.stop();
      }
    });
  }

  if (only.has('recovery')) {
    await withDataDir(async (dir) => {
      const r = await recoveryRun(dir, Number(values['recovery-tasks']));
      result.recovery = r;
      out.write(`\nrecovery: ${String(r.inFlightAtKill)} tasks in flight (${String(r.runningAtKill)} running) at kill -9; restarted and listening in ${fmt(r.startSeconds, 2)} s; every task ended ${fmt(r.settledSeconds, 2)} s after the restart (${String(r.failed)} rolled back as failed)\n`);
    });
  }

  await fs.mkdir(values.out ?? 'bench-results', { recursive: true });
  const file = path.join(values.out ?? 'bench-results', `bench-${String(result.when).replace(/[:.]/g, '-')}.json`);
  await fs.writeFile(file, JSON.stringify(result, null, 2));
  out.write(`\nwritten to ${file}\n`);
}

await main();
