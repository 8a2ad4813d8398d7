// The full lifecycle (create, attach, snapshot, detach, delete snapshot,
// delete), each step waited for, with N clients in parallel. The steps depend
// on each other's answers, so each client is a loop rather than a load tool.

import { randomUUID } from 'node:crypto';
import type { Volume } from '../domain/types.js';
import { call, Timings, type Summary } from './stats.js';

export interface LifecycleRun {
  readonly clients: number;
  readonly seconds: number;
  readonly lifecycles: number;
  readonly perSecond: number;
  readonly errors: number;
  /** Server event-loop CPU (user + system) per lifecycle (six operations), in milliseconds. */
  readonly serverCpuMsPerLifecycle: number;
  readonly steps: Record<string, Summary>;
}

async function client(base: string, t: Timings, deadline: number, errors: { count: number }): Promise<number> {
  let done = 0;
  while (Date.now() < deadline) {
    const start = performance.now();
    try {
      const { volume } = await call<{ volume: Volume }>(t, 'create', `${base}/volumes?wait=true`, 'POST', { name: `bench-${randomUUID()}`, sizeBytes: 1024 ** 2, pool: 'local', namespace: 'bench-life' });
      if (volume.status !== 'available') throw new Error(`create ended ${volume.status}`);
      const { attachment } = await call<{ attachment: { id: string; status: string } }>(t, 'attach', `${base}/volumes/${volume.id}/attachments?wait=true`, 'POST', { node: 'bench-node' });
      if (attachment.status !== 'attached') throw new Error(`attach ended ${attachment.status}`);
      const { snapshot } = await call<{ snapshot: { id: string; status: string } }>(t, 'snapshot', `${base}/volumes/${volume.id}/snapshots?wait=true`, 'POST', { name: 's', force: true });
      if (snapshot.status !== 'available') throw new Error(`snapshot ended ${snapshot.status}`);
      await call(t, 'detach', `${base}/volumes/${volume.id}/attachments/${attachment.id}?wait=true`, 'DELETE');
      await call(t, 'delete snapshot', `${base}/snapshots/${snapshot.id}?wait=true`, 'DELETE');
      await call(t, 'delete', `${base}/volumes/${volume.id}?wait=true`, 'DELETE');
      t.add('lifecycle', performance.now() - start);
      done++;
    } catch (e) {
      errors.count++;
      process.stderr.write(`lifecycle error: ${(e as Error).message}\n`);
    }
  }
  return done;
}

export async function lifecycleRun(base: string, clients: number, seconds: number, serverCpu: () => Promise<number>): Promise<LifecycleRun> {
  // A second of the same load first, not counted: a fresh server compiles its hot paths then.
  await Promise.all(Array.from({ length: clients }, () => client(base, new Timings(), Date.now() + 1000, { count: 0 })));
  const t = new Timings();
  const cpuBefore = await serverCpu();
  const errors = { count: 0 };
  const started = Date.now();
  const counts = await Promise.all(Array.from({ length: clients }, () => client(base, t, started + seconds * 1000, errors)));
  const elapsed = (Date.now() - started) / 1000;
  const lifecycles = counts.reduce((a, b) => a + b, 0);
  const cpu = (await serverCpu()) - cpuBefore;
  return { clients, seconds: elapsed, lifecycles, perSecond: lifecycles / elapsed, errors: errors.count, serverCpuMsPerLifecycle: lifecycles ? (cpu * 1000) / lifecycles : NaN, steps: t.summary() };
}
