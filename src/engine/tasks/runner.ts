// Runs queued tasks: claims them with a lease, at most `concurrency` at once
// and one per lock key (volume), retries transient driver errors with backoff,
// and commits each outcome in one transaction with the task's final state.

import { randomUUID } from 'node:crypto';
import { BackendError, errorMessage, InvalidStateError, NotFoundError } from '../../domain/errors.js';
import type { Task } from '../../domain/types.js';
import type { ImageStore } from '../../images/image-store.js';
import type { Store, StoreTx } from '../../store/store.js';
import type { PoolRegistry } from '../pools.js';
import type { HandlerRegistry, TaskContext } from './handler.js';

export interface RunnerOptions {
  readonly concurrency?: number;
  readonly pollMs?: number;
  readonly maxAttempts?: number;
  readonly backoffMs?: number;
  readonly leaseMs?: number;
  /** How often a task may be cut off by a crash and resumed before it is failed (a task that kills its process must not loop forever). */
  readonly maxInterruptions?: number;
  readonly logger?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** A running slot promised to a task that a request is enqueueing, so it starts the moment it commits. */
export interface DirectClaim {
  readonly owner: string;
  readonly leaseExpiresAt: string;
  /** The task committed as running under this claim: run it. */
  adopt(task: Task): void;
  /** The task was queued instead, or its transaction rolled back. */
  release(): void;
}

/** File-pool work is a few syscalls per task: many may run at once. */
export const DEFAULT_CONCURRENCY = 256;

export class TaskRunner {
  readonly owner = `runner-${randomUUID()}`;
  private readonly concurrency: number;
  private readonly pollMs: number;
  readonly maxAttempts: number;
  private readonly backoffMs: number;
  readonly leaseMs: number;
  readonly maxInterruptions: number;
  private readonly running = new Map<string, Promise<void>>();
  /** Slots promised to tasks whose enqueueing transaction has not committed yet. */
  private promised = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private pumping = false;
  private pumped: Promise<void> = Promise.resolve();
  private repump = false;
  /**
   * Whether a queued task may be waiting (for a slot, a lock or its time).
   * Most tasks start running straight from the request (offer()), so when a
   * task ends there is usually nothing queued: the claim query runs only
   * when something may be.
   */
  private queuedMayWait = true;
  private wakeups = 0;

  constructor(
    private readonly store: Store,
    private readonly pools: PoolRegistry,
    private readonly images: ImageStore,
    private readonly handlers: HandlerRegistry,
    private readonly options: RunnerOptions = {},
  ) {
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.pollMs = options.pollMs ?? 250;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.backoffMs = options.backoffMs ?? 500;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.maxInterruptions = options.maxInterruptions ?? 20;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.wake();
  }

  /** Stops claiming; waits for tasks under way to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // A claim under way launches what it claimed: wait for it, then for everything launched.
    await this.pumped;
    await Promise.allSettled([...this.running.values()]);
  }

  /**
   * A slot for a task being enqueued right now, if one is free: the request's
   * transaction then writes the task as running, and no claim transaction or
   * poll stands between the request and the work.
   */
  offer(): DirectClaim | undefined {
    if (this.stopped || this.running.size + this.promised >= this.concurrency) return undefined;
    this.promised++;
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      this.promised--;
      return true;
    };
    return {
      owner: this.owner,
      leaseExpiresAt: new Date(Date.now() + this.leaseMs).toISOString(),
      adopt: (task) => {
        if (settle()) this.launch(task);
      },
      release: () => {
        if (settle()) this.wake();
      },
    };
  }

  private launch(task: Task): void {
    const done = this.execute(task).finally(() => {
      this.running.delete(task.id);
      if (this.queuedMayWait) this.lookForWork();
    });
    this.running.set(task.id, done);
  }

  /** Looks for work now (called after a task is queued, and on every poll). */
  wake(): void {
    this.queuedMayWait = true;
    this.wakeups++;
    this.lookForWork();
  }

  private lookForWork(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.repump = true;
      return;
    }
    this.pumping = true;
    this.pumped = this.pump()
      .catch((e: unknown) => this.options.logger?.('task claim failed', { error: errorMessage(e) }))
      .finally(() => {
        this.pumping = false;
        if (this.repump) {
          this.repump = false;
          this.lookForWork();
        }
      });
  }

  private async pump(): Promise<void> {
    while (!this.stopped && this.running.size + this.promised < this.concurrency) {
      const free = this.concurrency - this.running.size - this.promised;
      const wakeups = this.wakeups;
      const candidates = await this.store.listClaimableTasks(new Date().toISOString(), free);
      if (!candidates.length) {
        // None may start now; if none is queued at all (and none was queued meanwhile), ending tasks need not look again.
        if (!(await this.store.hasQueuedTasks()) && wakeups === this.wakeups) this.queuedMayWait = false;
        return;
      }
      // One transaction claims them all (each still checked against its lock).
      const claimed = await this.claimAll(candidates);
      for (const task of claimed) this.launch(task);
      if (claimed.length === 0) return;
    }
  }

  private async claimAll(candidates: readonly Task[]): Promise<Task[]> {
    const now = Date.now();
    try {
      return await this.store.transact(async (tx) => {
        const claimed: Task[] = [];
        for (const candidate of candidates) {
          // The lock key must still be free: another runner (or a sibling here) may have taken it.
          if ((await tx.lockHolders(candidate.lockKeys)).length) continue;
          try {
            claimed.push(
              await tx.updateTask(
                candidate.id,
                (current) => ({
                  state: 'running',
                  attempts: current.attempts + 1,
                  leaseOwner: this.owner,
                  leaseExpiresAt: new Date(now + this.leaseMs).toISOString(),
                  startedAt: current.startedAt ?? new Date(now).toISOString(),
                }),
                ['queued'],
              ),
            );
          } catch (e) {
            // Claimed by someone else in between (no longer queued), or gone.
            if (e instanceof InvalidStateError || e instanceof NotFoundError) continue;
            throw e;
          }
        }
        return claimed;
      });
    } catch (e) {
      this.options.logger?.('task claim failed', { error: errorMessage(e) });
      return [];
    }
  }

  private async execute(task: Task): Promise<void> {
    const handler = this.handlers[task.operation];
    if (!handler) {
      await this.finishWithError(task, `no handler for operation ${task.operation}`);
      return;
    }
    let lastProgress = task.progress;
    let progressWrite: Promise<unknown> = Promise.resolve();
    const renew = setInterval(() => {
      progressWrite = progressWrite.then(() => this.touch(task.id, { leaseExpiresAt: new Date(Date.now() + this.leaseMs).toISOString() }));
    }, Math.max(1000, this.leaseMs / 3));
    const ctx: TaskContext = {
      task,
      store: this.store,
      pools: this.pools,
      images: this.images,
      progress: (percent) => {
        const p = Math.max(0, Math.min(99, Math.floor(percent)));
        if (p < lastProgress + 5) return;
        lastProgress = p;
        progressWrite = progressWrite.then(() => this.touch(task.id, { progress: p }));
      },
      checkpoint: async (data, apply) => {
        await progressWrite;
        await this.store.transact(async (tx) => {
          if (apply) await apply(tx);
          await tx.updateTask(task.id, { checkpoint: { ...((await tx.getTask(task.id))?.checkpoint ?? {}), ...data } }, ['running'], true);
        });
      },
    };
    try {
      const commit = await handler.run(ctx);
      clearInterval(renew);
      await progressWrite;
      await this.store.transact(async (tx) => {
        const result = (await commit(tx)) ?? {};
        await tx.updateTask(task.id, { state: 'success', progress: 100, finishedAt: new Date().toISOString(), leaseOwner: null, leaseExpiresAt: null, error: null, items: task.items.length ? task.items : [{ index: 0, resourceId: task.resourceId, state: 'success', result, fault: null }] }, ['running']);
      });
    } catch (e) {
      clearInterval(renew);
      await progressWrite.catch(() => undefined);
      const message = errorMessage(e);
      const current = await this.store.getTask(task.id);
      const attempts = current?.attempts ?? task.attempts;
      if (e instanceof BackendError && e.transient && attempts < this.maxAttempts) {
        const delay = this.backoffMs * 2 ** (attempts - 1);
        this.options.logger?.('task retry', { task: task.id, operation: task.operation, attempts, delay, error: message });
        await this.store
          .transact((tx) => tx.updateTask(task.id, { state: 'queued', error: message, leaseOwner: null, leaseExpiresAt: null, notBefore: new Date(Date.now() + delay).toISOString() }, ['running']))
          .catch(() => undefined);
        return;
      }
      await this.finishWithError(task, message, e);
    }
  }

  private async touch(id: string, patch: { progress?: number; leaseExpiresAt?: string }): Promise<void> {
    await this.store.transact((tx) => tx.updateTask(id, patch, ['running'], true)).catch(() => undefined);
  }

  /** Ends a task that has not started as failed, with its handler's rollback, in the caller's transaction. */
  async cancel(tx: StoreTx, task: Task, message: string): Promise<void> {
    const handler = this.handlers[task.operation];
    if (handler) await handler.fail(tx, task, message);
    await failTask(tx, task, message);
  }

  /** Applies the handler's failure status and ends the task, in one transaction. */
  async finishWithError(task: Task, message: string, cause?: unknown): Promise<void> {
    const handler = this.handlers[task.operation];
    this.options.logger?.('task failed', { task: task.id, operation: task.operation, error: message });
    await this.store.transact(async (tx) => {
      if (handler) await handler.fail(tx, task, message, cause);
      await failTask(tx, task, message);
    });
  }
}

export async function failTask(tx: StoreTx, task: Task, message: string): Promise<void> {
  await tx.updateTask(task.id, {
    state: 'error',
    error: message,
    finishedAt: new Date().toISOString(),
    leaseOwner: null,
    leaseExpiresAt: null,
    items: task.items.length ? task.items : [{ index: 0, resourceId: task.resourceId, state: 'error', result: null, fault: message }],
  });
}
