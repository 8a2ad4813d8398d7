// Recovery after kill -9: queue many creates, let a server start on them,
// kill it with SIGKILL mid-work, restart it, and time how long until every
// task has ended (finished or rolled back).

import { openVolumed } from '../app/open.js';
import { startServer } from './server.js';

export interface RecoveryRun {
  readonly queued: number;
  readonly inFlightAtKill: number;
  readonly runningAtKill: number;
  /** From the restart (process spawned) to listening. */
  readonly startSeconds: number;
  /** From the restart to no task queued or running. */
  readonly settledSeconds: number;
  readonly failed: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function tasksByState(dataDir: string): Promise<Readonly<Record<string, number>>> {
  const v = await openVolumed({ dataDir, runTasks: false });
  try {
    return await v.store.countTasksByState();
  } finally {
    await v.close();
  }
}

/** One state a question: each is a seek in the (state, created) index, where both at once would sort every queued task. */
async function pending(url: string): Promise<boolean> {
  for (const state of ['queued', 'running']) {
    const res = await fetch(`${url}/api/v1/tasks?state=${state}&limit=1`);
    if (((await res.json()) as { tasks: unknown[] }).tasks.length > 0) return true;
  }
  return false;
}

export async function recoveryRun(dataDir: string, tasks: number): Promise<RecoveryRun> {
  const v = await openVolumed({ dataDir, runTasks: false });
  try {
    for (let i = 0; i < tasks; i++) await v.engine.createVolume({ name: `r-${String(i)}`, sizeBytes: 1024 ** 2, namespace: 'bench-recovery' });
  } finally {
    await v.close();
  }
  // Let a server claim work, then kill it in the middle of it.
  const first = await startServer(dataDir);
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${first.url}/api/v1/tasks?state=success&limit=1`);
    if (((await res.json()) as { tasks: unknown[] }).tasks.length) break;
    await sleep(5);
  }
  await first.kill9();
  const atKill = await tasksByState(dataDir);

  const restarted = Date.now();
  const second = await startServer(dataDir);
  const startSeconds = (Date.now() - restarted) / 1000;
  try {
    while (await pending(second.url)) await sleep(20);
    const settledSeconds = (Date.now() - restarted) / 1000;
    await second.stop();
    const after = await tasksByState(dataDir);
    return {
      queued: tasks,
      inFlightAtKill: (atKill.queued ?? 0) + (atKill.running ?? 0),
      runningAtKill: atKill.running ?? 0,
      startSeconds,
      settledSeconds,
      failed: after.error ?? 0,
    };
  } finally {
    await second.stop();
  }
}
