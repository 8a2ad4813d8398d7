// Crash recovery: a worker process runs tasks on real file pools and is
// killed with SIGKILL in the middle of create, delete, snapshot and migrate
// tasks, then restarted. Afterwards nothing may be left in a working status,
// no task running, no file orphaned or lost, and every byte where it belongs.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVolumed, type Volumed } from '../../src/app/open.js';
import { WORKING_SNAPSHOT_STATUSES, WORKING_VOLUME_STATUSES } from '../../src/domain/states.js';
import type { Task, Volume } from '../../src/domain/types.js';

const WORKER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/engine-worker.js');
const MiB = 1024 * 1024;
const POOLS = ['local', 'fast'];
const ROUNDS = 5;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Worker {
  readonly child: ChildProcess;
  readonly lines: Promise<string>;
}

function startWorker(dataDir: string): Worker {
  const child = spawn(process.execPath, [WORKER, '--data-dir', dataDir, '--pools', POOLS.join(','), '--latency-ms', '120'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const lines = new Promise<string>((resolve) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
    });
    child.on('exit', () => resolve(out));
  });
  return { child, lines };
}

async function kill(w: Worker, signal: NodeJS.Signals): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const exited = new Promise((r) => w.child.once('exit', r));
  w.child.kill(signal);
  await exited;
}

describe('crash recovery (SIGKILL mid-task)', () => {
  let dataDir: string;
  let v: Volumed;
  let worker: Worker | undefined;

  beforeAll(async () => {
    if (!existsSync(WORKER)) throw new Error(`${WORKER} is missing: run npm run build first (npm test does)`);
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-crash-'));
    // This process only queues work; the worker runs it.
    v = await openVolumed({ dataDir, pools: POOLS.map((id) => ({ id, driver: 'file' as const })), runTasks: false });
  });

  afterAll(async () => {
    if (worker) await kill(worker, 'SIGKILL');
    await v.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const fileOf = (vol: Volume): string => path.join(dataDir, 'pools', vol.poolId, vol.externalId ?? '');

  async function waitForTasks(ids: readonly string[], timeoutMs = 60_000): Promise<Task[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const tasks = await Promise.all(ids.map((id) => v.engine.getTask(id)));
      if (tasks.every((t) => t.state === 'success' || t.state === 'error')) return tasks;
      if (Date.now() > deadline) throw new Error(`tasks still open: ${tasks.filter((t) => t.state !== 'success' && t.state !== 'error').map((t) => `${t.operation}:${t.state}`).join(', ')}`);
      await sleep(100);
    }
  }

  it('leaves no working status, no running task, no orphaned or lost file', async () => {
    worker = startWorker(dataDir);
    // Volumes with known bytes: some to snapshot and clone, some to migrate back and forth.
    const contents = new Map<string, string>();
    const seedTasks: string[] = [];
    const seeds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const a = await v.engine.createVolume({ name: `seed-${i}`, sizeBytes: 8 * MiB, pool: POOLS[i % 2] ?? 'local' });
      seeds.push(a.resource.id);
      seedTasks.push(a.task.id);
    }
    await waitForTasks(seedTasks);
    for (const id of seeds) {
      const vol = await v.engine.getVolume(id);
      const data = Buffer.concat([randomBytes(4 * MiB), Buffer.alloc(4 * MiB)]);
      await fs.writeFile(fileOf(vol), data);
      contents.set(id, sha(data));
    }
    const [snapSource, cloneSource, ...movers] = seeds;
    if (!snapSource || !cloneSource) throw new Error('seeds missing');

    const allTasks: string[] = [...seedTasks];
    const deletable: string[] = [];
    let interrupted = 0;
    let resumed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const queued: Task[] = [];
      queued.push((await v.engine.createVolume({ name: `empty-${round}`, sizeBytes: 16 * MiB })).task);
      const clone = await v.engine.createVolume({ name: `clone-${round}`, sizeBytes: 8 * MiB, source: { volumeId: cloneSource } });
      contents.set(clone.resource.id, contents.get(cloneSource) ?? '');
      queued.push(clone.task);
      queued.push((await v.engine.createSnapshot(snapSource, { name: `snap-${round}` })).task);
      // Delete a volume made in an earlier round, once its create has finished.
      for (const id of [...deletable]) {
        if ((await v.engine.getVolume(id)).status !== 'available') continue;
        deletable.splice(deletable.indexOf(id), 1);
        queued.push((await v.engine.deleteVolume(id)).task);
        break;
      }
      for (const id of movers) {
        const vol = await v.engine.getVolume(id);
        if (vol.status !== 'available' || !['none', 'success'].includes(vol.migrationStatus)) continue;
        queued.push((await v.engine.migrateVolume(id, { pool: vol.poolId === 'local' ? 'fast' : 'local' })).task);
      }
      allTasks.push(...queued.map((t) => t.id));
      deletable.push(queued[0]?.resourceId ?? '');

      // Let the worker get into the middle of things, then pull the plug.
      await sleep(150 + Math.floor(Math.random() * 300));
      interrupted += (await v.store.listRunningTasks()).length;
      await kill(worker, 'SIGKILL');
      worker = startWorker(dataDir);
      const report = JSON.parse(await worker.lines) as { resumed: string[] };
      resumed += report.resumed.length;
    }
    const tasks = await waitForTasks(allTasks);
    console.log(`crash test: ${ROUNDS} SIGKILLs, ${interrupted} tasks running at kill time, ${resumed} resumed, ${tasks.length} tasks in all`);

    // The test really interrupted running work, and recovery really resumed it.
    expect(interrupted).toBeGreaterThan(0);
    expect(resumed).toBeGreaterThan(0);
    const failed = tasks.filter((t) => t.state !== 'success');
    expect(failed.map((t) => `${t.operation}: ${t.error ?? ''}`)).toEqual([]);
    expect(await v.store.listRunningTasks()).toEqual([]);

    const volumes = (await v.store.listVolumes({ limit: 1000 })).items;
    expect(volumes.filter((x) => WORKING_VOLUME_STATUSES.includes(x.status)).map((x) => `${x.id}:${x.status}`)).toEqual([]);
    expect(volumes.filter((x) => x.migrationStatus !== 'none' && x.migrationStatus !== 'success')).toEqual([]);
    const snapshots = (await v.store.listSnapshots({ limit: 1000 })).items;
    expect(snapshots.filter((s) => WORKING_SNAPSHOT_STATUSES.includes(s.status))).toEqual([]);
    expect(snapshots).toHaveLength(ROUNDS);

    // Nothing lost: every record has its file, with the bytes it should have.
    for (const vol of volumes) {
      expect(vol.status).toBe('available');
      const st = await fs.stat(fileOf(vol));
      expect(st.size).toBe(vol.sizeBytes);
      const want = contents.get(vol.id);
      if (want) expect(sha(await fs.readFile(fileOf(vol))), `${vol.name} bytes`).toBe(want);
    }
    for (const s of snapshots) {
      const source = volumes.find((x) => x.id === s.volumeId);
      expect(source).toBeDefined();
      await expect(fs.stat(path.join(dataDir, 'pools', source?.poolId ?? '', s.externalId ?? ''))).resolves.toBeDefined();
    }

    // Nothing orphaned: every file in the pools has a record, and no half-made work is left.
    const recorded = new Set([
      ...volumes.map((x) => fileOf(x)),
      ...snapshots.map((s) => path.join(dataDir, 'pools', volumes.find((x) => x.id === s.volumeId)?.poolId ?? '', s.externalId ?? '')),
    ]);
    for (const pool of POOLS) {
      const root = path.join(dataDir, 'pools', pool);
      for (const name of await fs.readdir(path.join(root, 'volumes'))) expect(recorded, `orphan ${pool}/volumes/${name}`).toContain(path.join(root, 'volumes', name));
      for (const dir of await fs.readdir(path.join(root, 'snapshots'))) {
        for (const name of await fs.readdir(path.join(root, 'snapshots', dir))) expect(recorded, `orphan snapshot ${name}`).toContain(path.join(root, 'snapshots', dir, name));
      }
      expect(await fs.readdir(path.join(root, '.tmp'))).toEqual([]);
    }
    expect(await v.engine.reportOrphans()).toEqual([]);
    // The same promises, as the engine's own invariant checker states them.
    expect(await v.engine.checkInvariants()).toEqual([]);
    await kill(worker, 'SIGTERM');
  }, 180_000);
});
