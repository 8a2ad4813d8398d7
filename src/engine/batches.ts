// Batches (CNS): one request carries many specs, each of which becomes its
// own engine operation (and task); the batch is a task whose items are those
// outcomes, in input order. A spec refused at once (bad input, wrong state)
// is an item with its fault; the others run as their tasks do. The batch's
// stored state says whether any spec was scheduled (error only when none
// was); while it is read, its items and live state come from their tasks.

import { errorMessage, InvalidInputError, isVolumedError } from '../domain/errors.js';
import type { Task, TaskItem, TaskState } from '../domain/types.js';
import type { StoreReader } from '../store/store.js';
import type { EngineContext } from './context.js';
import { newId } from './ids.js';

export interface BatchOutcome {
  readonly resourceId: string;
  /** The engine task doing the item's work; none when the item was done at once. */
  readonly task?: Task;
  /** What the item's answer needs beyond its resource and task. */
  readonly result?: Readonly<Record<string, unknown>>;
}

export type BatchStep = () => Promise<BatchOutcome>;

export interface BatchInput {
  /** Names the batch: its task's operation is `batch.<operation>`. */
  readonly operation: string;
  readonly namespace: string;
  readonly steps: readonly BatchStep[];
  /** Kept with the batch for its surface (who asked, what each spec named). */
  readonly params?: Readonly<Record<string, unknown>>;
}

/** What an item's fault says beyond its message, so each surface can name it in its own dialect. */
export interface ItemError {
  readonly code: string;
  /** The error's class (e.g. AlreadyManagedError), where the code alone is too coarse. */
  readonly name?: string;
  readonly field?: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
}

export const isBatch = (task: Task): boolean => task.operation.startsWith('batch.');

function failedItem(index: number, e: unknown): TaskItem {
  const error: ItemError = isVolumedError(e)
    ? { code: e.code, name: e.name, ...(e instanceof InvalidInputError && e.field ? { field: e.field } : {}), ...(e.resource ? { resourceType: e.resource.type, resourceId: e.resource.id } : {}) }
    : { code: 'backend_error' };
  return { index, resourceId: error.resourceType === 'volume' || error.resourceType === 'snapshot' ? (error.resourceId ?? null) : null, state: 'error', result: { error }, fault: errorMessage(e) };
}

/** Runs every step in order, each in its own transaction, and records the batch. */
export async function submitBatch(ctx: EngineContext, input: BatchInput): Promise<Task> {
  if (input.steps.length === 0) throw new InvalidInputError('must hold at least one spec', 'specs');
  const received = new Date().toISOString();
  const items: TaskItem[] = [];
  for (const [index, step] of input.steps.entries()) {
    try {
      const outcome = await step();
      const result = { ...(outcome.result ?? {}), ...(outcome.task ? { taskId: outcome.task.id } : {}) };
      items.push({ index, resourceId: outcome.resourceId, state: outcome.task ? outcome.task.state : 'success', result, fault: null });
    } catch (e) {
      items.push(failedItem(index, e));
    }
  }
  const scheduled = items.filter((i) => i.fault === null);
  const now = new Date().toISOString();
  return ctx.store.transact((tx) =>
    tx.insertTask({
      id: newId(),
      operation: `batch.${input.operation}`,
      namespace: input.namespace,
      state: scheduled.length ? 'success' : 'error',
      progress: scheduled.length ? 0 : 100,
      lockKeys: [],
      resourceType: 'volume',
      resourceId: scheduled[0]?.resourceId ?? '',
      params: { ...(input.params ?? {}), specs: input.steps.length },
      checkpoint: {},
      items,
      attempts: 1,
      error: scheduled.length ? null : `no spec could be scheduled: ${items[0]?.fault ?? ''}`,
      notBefore: now,
      leaseOwner: null,
      leaseExpiresAt: null,
      startedAt: received,
      finishedAt: scheduled.length ? null : now,
    }),
  );
}

const ended = (state: TaskState): boolean => state === 'success' || state === 'error';

/** The batch as it stands: each item as its task is, and the batch running until they have all ended. */
export async function composeBatch(reader: StoreReader, batch: Task): Promise<Task> {
  if (batch.state === 'error') return batch;
  let progressSum = 0;
  let finished: string | null = null;
  let live = 0;
  let begun = false;
  const items: TaskItem[] = [];
  for (const item of batch.items) {
    const taskId = item.result?.taskId;
    const child = typeof taskId === 'string' ? await reader.getTask(taskId) : undefined;
    if (!child) {
      items.push(item);
      progressSum += 100;
      continue;
    }
    const childResult = child.items[0]?.result ?? {};
    items.push({ ...item, state: child.state, result: { ...childResult, ...item.result }, fault: child.state === 'error' ? (child.error ?? 'failed') : null });
    progressSum += ended(child.state) ? 100 : child.progress;
    if (!ended(child.state)) live++;
    if (child.startedAt) begun = true;
    if (child.finishedAt && (!finished || child.finishedAt > finished)) finished = child.finishedAt;
  }
  const state: TaskState = live === 0 ? 'success' : begun ? 'running' : 'queued';
  return {
    ...batch,
    state,
    items,
    progress: state === 'success' ? 100 : Math.floor(progressSum / Math.max(1, items.length)),
    finishedAt: state === 'success' ? (finished ?? batch.startedAt) : null,
    updatedAt: finished && finished > batch.updatedAt ? finished : batch.updatedAt,
  };
}
