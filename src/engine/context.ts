// What every engine module shares: the store, the pools, the image store, and
// the way to queue a task in the same transaction as the status it reserves.

import { newId } from './ids.js';
import { InvalidStateError, NotFoundError } from '../domain/errors.js';
import { resolveOutcome, VOLUME_TRANSITIONS, type VolumeAction } from '../domain/states.js';
import type { Quota, Snapshot, Task, Volume } from '../domain/types.js';
import type { ImageStore } from '../images/image-store.js';
import type { SecretBox } from '../security/secret-box.js';
import type { NewVolume, Store, StoreReader, StoreTx, VolumePatch } from '../store/store.js';
import type { PoolRegistry } from './pools.js';
import type { DirectClaim } from './tasks/runner.js';

export interface EngineContext {
  readonly store: Store;
  readonly pools: PoolRegistry;
  readonly images: ImageStore;
  readonly quotaDefaults: Omit<Quota, 'namespace'>;
  /** Seals volume and snapshot secrets before they reach the store. */
  readonly secrets: SecretBox;
  /** Tells the runner there is work (no-op when this process runs no tasks). */
  readonly wake: () => void;
  /** A free running slot for a task being enqueued now (undefined when this process runs no tasks, or none is free). */
  readonly offerSlot: () => DirectClaim | undefined;
  /** Ends a queued task as failed, running its handler's rollback in the caller's transaction. */
  readonly cancelTask: (tx: StoreTx, task: Task, message: string) => Promise<void>;
}

export interface TaskSpec {
  readonly operation: string;
  readonly namespace: string;
  /** Every volume the task changes or reads (see Task.lockKeys). */
  readonly lockKeys: readonly string[];
  readonly resourceType: Task['resourceType'];
  readonly resourceId: string;
  readonly params?: Readonly<Record<string, unknown>>;
  /** The lock keys are ids made for this request (a new volume's): no task can hold them yet. */
  readonly freshLockKeys?: boolean;
}

/** A task on one volume, serialized with every other task on it. */
export function enqueueVolumeTask(ctx: EngineContext, tx: StoreTx, volume: Pick<Volume, 'id' | 'namespace'>, operation: string, params?: Readonly<Record<string, unknown>>): Promise<Task> {
  return enqueue(ctx, tx, { operation, namespace: volume.namespace, lockKeys: [volume.id], resourceType: 'volume', resourceId: volume.id, ...(params ? { params } : {}) });
}

/**
 * Writes a task in the caller's transaction. When this process has a free
 * running slot and nothing else holds the task's lock, the task is written as
 * running and starts the moment the transaction commits; otherwise it is
 * queued and the runner is woken after the commit.
 */
export async function enqueue(ctx: EngineContext, tx: StoreTx, spec: TaskSpec): Promise<Task> {
  const now = new Date().toISOString();
  let claim = ctx.offerSlot();
  if (claim) tx.afterRollback(() => claim?.release());
  if (claim && !spec.freshLockKeys && (await tx.lockBusy(spec.lockKeys))) {
    claim.release();
    claim = undefined;
  }
  const task = await tx.insertTask({
    id: newId(),
    operation: spec.operation,
    namespace: spec.namespace,
    state: claim ? 'running' : 'queued',
    progress: 0,
    lockKeys: [...new Set(spec.lockKeys)],
    resourceType: spec.resourceType,
    resourceId: spec.resourceId,
    params: spec.params ?? {},
    checkpoint: {},
    items: [],
    attempts: claim ? 1 : 0,
    error: null,
    notBefore: now,
    leaseOwner: claim?.owner ?? null,
    leaseExpiresAt: claim?.leaseExpiresAt ?? null,
    startedAt: claim ? now : null,
    finishedAt: null,
  });
  const direct = claim;
  tx.afterCommit(direct ? () => direct.adopt(task) : ctx.wake);
  return task;
}

export async function mustGetVolume(reader: StoreReader, id: string): Promise<Volume> {
  const v = await reader.getVolume(id);
  if (!v) throw new NotFoundError('volume', id);
  return v;
}

export async function mustGetSnapshot(reader: StoreReader, id: string): Promise<Snapshot> {
  const s = await reader.getSnapshot(id);
  if (!s) throw new NotFoundError('snapshot', id);
  return s;
}

/** The result the engine gives for an accepted asynchronous request. */
export interface Accepted<T> {
  readonly task: Task;
  readonly resource: T;
}

/**
 * Ends an action's work on a volume with the status the transition table
 * gives for `end` (success or failure), together with `patch`. It applies only
 * while the volume is still in that action's working status (several actions
 * may be named when they share a handler): an admin may have reset it
 * meanwhile, which fails a success (compare-and-set) and skips a failure.
 */
export async function finishVolume(tx: StoreTx, id: string, actions: VolumeAction | readonly VolumeAction[], end: 'success' | 'failure', patch: VolumePatch = {}): Promise<Volume | undefined> {
  const volume = await tx.getVolume(id);
  const names: readonly VolumeAction[] = typeof actions === 'string' ? [actions] : actions;
  const transition = volume && names.map((a) => VOLUME_TRANSITIONS[a]).find((t) => t.working === volume.status);
  if (!volume || !transition) {
    if (end === 'failure') return undefined;
    if (!volume) throw new NotFoundError('volume', id);
    throw new InvalidStateError({ type: 'volume', id }, `finish ${names.join('/')} of volume`, volume.status, 'its status was changed meanwhile');
  }
  const outcome = transition[end];
  // A fixed status (a create's `available`) does not depend on the attachments.
  const attachmentsLeft = outcome.to === 'status' ? 0 : (await tx.listAttachments(id)).length;
  const status = resolveOutcome(outcome, { previous: volume.previousStatus ?? (attachmentsLeft ? 'in-use' : 'available'), attachmentsLeft });
  if (status === 'removed') throw new Error(`finishVolume cannot remove volume ${id}; the handler removes the record`);
  return tx.updateVolume(id, { ...patch, status }, { status: [volume.status], modifyIndex: volume.modifyIndex });
}

type VolumeEssentials = Pick<NewVolume, 'id' | 'name' | 'namespace' | 'sizeBytes' | 'status' | 'poolId' | 'kind'>;

/** A new volume record: the essentials, and Cinder's defaults for the rest. */
export function newVolumeRecord(essentials: VolumeEssentials, rest: Partial<NewVolume> = {}): NewVolume {
  return {
    description: '',
    attachStatus: 'detached',
    migrationStatus: 'none',
    previousStatus: null,
    typeId: null,
    externalId: null,
    accessModes: [],
    mountOptions: [],
    bootable: false,
    readonly: false,
    multiattach: false,
    labels: {},
    imageMetadata: {},
    adminMetadata: {},
    clusters: [],
    aclRules: [],
    source: null,
    topology: {},
    lastError: null,
    ...rest,
    ...essentials,
  };
}
