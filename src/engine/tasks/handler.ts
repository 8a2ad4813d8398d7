// What a task handler is: the driver work of one operation, and the two ways
// it ends. `run` returns the commit to apply in the transaction that marks the
// task done; `fail` applies the failure status in the transaction that marks
// it failed. Both run at most once per attempt; `run` may be repeated after a
// crash, so it must be idempotent (drivers are).

import type { Task } from '../../domain/types.js';
import type { ImageStore } from '../../images/image-store.js';
import type { Store, StoreTx } from '../../store/store.js';
import type { PoolRegistry } from '../pools.js';

export interface TaskContext {
  readonly task: Task;
  readonly store: Store;
  readonly pools: PoolRegistry;
  readonly images: ImageStore;
  /** Records progress 0–100 (throttled). */
  readonly progress: (percent: number) => void;
  /** Persists how far multi-step work got, so a resumed task continues from there. */
  readonly checkpoint: (data: Readonly<Record<string, unknown>>, apply?: (tx: StoreTx) => Promise<void>) => Promise<void>;
}

export type Commit = (tx: StoreTx) => Promise<Readonly<Record<string, unknown>> | void>;

export interface TaskHandler {
  run(ctx: TaskContext): Promise<Commit>;
  /** `cause`: what the task threw, when it ended by an error (not a cancel or a crash). */
  fail(tx: StoreTx, task: Task, message: string, cause?: unknown): Promise<void>;
}

export type HandlerRegistry = Readonly<Record<string, TaskHandler>>;
