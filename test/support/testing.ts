// Helpers for tests that drive a real engine on file pools in a temp dir.

import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { openVolumed, type OpenOptions, type Volumed } from '../../src/app/open.js';
import type { Task } from '../../src/domain/types.js';

export interface TestVolumed extends Volumed {
  /** Waits for a task to end and returns it; fails the test if it does not end in time. */
  settle(task: Task | { task: Task }, timeoutMs?: number): Promise<Task>;
  /** The absolute path of a volume's file on its pool. */
  fileOf(volumeId: string): Promise<string>;
  remove(): Promise<void>;
}

export async function startTestVolumed(options: Partial<OpenOptions> = {}): Promise<TestVolumed> {
  const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-test-')));
  const v = await openVolumed({
    dataDir,
    pools: [
      { id: 'local', driver: 'file' },
      { id: 'fast', driver: 'file' },
    ],
    runner: { pollMs: 20, backoffMs: 20 },
    ...options,
  });
  await v.engine.start();
  return {
    ...v,
    async settle(t, timeoutMs = 20_000) {
      const task = 'task' in t ? t.task : t;
      const done = await v.engine.waitForTask(task.id, timeoutMs);
      if (done.state !== 'success' && done.state !== 'error') throw new Error(`task ${task.id} (${task.operation}) still ${done.state}`);
      return done;
    },
    async fileOf(volumeId) {
      const volume = await v.engine.getVolume(volumeId);
      const pool = await v.store.getPool(volume.poolId);
      const root = typeof pool?.config.root === 'string' ? pool.config.root : path.join(v.dataDir, 'pools', volume.poolId);
      if (!volume.externalId) throw new Error(`volume ${volumeId} has no externalId`);
      return path.join(root, volume.externalId);
    },
    async remove() {
      await v.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
