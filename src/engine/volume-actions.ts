// Actions on an existing volume that keep it where it is: extend (and its
// completion), revert to a snapshot, field updates, and the admin's reset.

import { ConflictError, InvalidInputError, InvalidStateError, NotFoundError, UnsupportedError } from '../domain/errors.js';
import { decideVolume } from '../domain/states.js';
import { checkAclRules } from '../domain/nfs-access.js';
import type { AclRule, AttachStatus, ContainerCluster, MigrationStatus, Volume, VolumeStatus } from '../domain/types.js';
import { checkLabels, checkDisplayName, checkSize, checkVolumeStatus } from '../domain/validation.js';
import type { VolumePatch } from '../store/store.js';
import { enqueueVolumeTask, mustGetSnapshot, mustGetVolume, finishVolume, type Accepted, type EngineContext } from './context.js';
import { snapshotRef, volumeRef } from './pools.js';
import { checkQuota } from './quotas.js';
import { room } from './scheduler.js';
import type { HandlerRegistry } from './tasks/handler.js';

export interface ExtendOptions {
  /** For attached volumes: stay `extending` until the node confirms with completeExtend. */
  readonly awaitCompletion?: boolean;
}

export async function extendVolume(ctx: EngineContext, id: string, newSizeBytes: number, options: ExtendOptions = {}): Promise<Accepted<Volume>> {
  const sizeBytes = checkSize(newSizeBytes, 'newSizeBytes');
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, id);
    const online = volume.status === 'in-use';
    const decision = decideVolume(online ? 'extendOnline' : 'extend', id, volume.status, volume.migrationStatus);
    ctx.pools.require(volume.poolId, 'extend', 'extend');
    if (online) ctx.pools.require(volume.poolId, 'onlineExtend', 'extending attached volumes');
    if (sizeBytes <= volume.sizeBytes) throw new InvalidInputError(`must be larger than the current size, ${volume.sizeBytes} bytes`, 'newSizeBytes');
    // An extend is placed as a create is: within the pool's largest volume, its room (thin ratio included) and the quota.
    const pool = await tx.getPool(volume.poolId);
    const largest = pool?.capacity.maxVolumeBytes;
    if (largest !== undefined && sizeBytes > largest) throw new InvalidInputError(`${sizeBytes} bytes is more than pool ${volume.poolId} can make: its largest volume is ${largest} bytes`, 'newSizeBytes');
    const growth = sizeBytes - volume.sizeBytes;
    const free = pool ? await room(tx, pool) : Infinity;
    if (growth > free) throw new ConflictError(`pool ${volume.poolId} has not enough room to grow volume ${id} by ${growth} bytes (${free} bytes free)`, { type: 'volume', id });
    await checkQuota(tx, volume.namespace, { bytes: growth }, ctx.quotaDefaults);
    // The growth counts against the quota from now on, so a second extend sees it; released when the task ends.
    const updated = await tx.updateVolume(
      id,
      { status: decision.next ?? 'extending', previousStatus: volume.status, reservedBytes: sizeBytes - volume.sizeBytes },
      { modifyIndex: volume.modifyIndex },
    );
    const task = await enqueueVolumeTask(ctx, tx, volume, 'volume.extend', { sizeBytes, awaitCompletion: online && options.awaitCompletion === true });
    return { resource: updated, task };
  });
}

/** The node's answer to an online extend (admin): success → in-use, else error_extending. */
export async function completeExtend(ctx: EngineContext, id: string, succeeded: boolean): Promise<Volume> {
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, id);
    decideVolume('completeExtend', id, volume.status, volume.migrationStatus);
    if (!volume.extendAwaiting) {
      throw new InvalidStateError({ type: 'volume', id }, 'complete extend of volume', volume.status, 'no extend awaits completion');
    }
    return tx.updateVolume(
      id,
      succeeded
        ? { status: 'in-use', extendAwaiting: null, lastError: null }
        : { status: 'error_extending', extendAwaiting: null, lastError: 'the node reported that the extend failed' },
      { modifyIndex: volume.modifyIndex },
    );
  });
}

export async function revertVolume(ctx: EngineContext, id: string, snapshotId: string): Promise<Accepted<Volume>> {
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, id);
    const decision = decideVolume('revert', id, volume.status, volume.migrationStatus);
    const snap = await tx.getSnapshot(snapshotId);
    if (!snap || snap.volumeId !== id) throw new InvalidInputError(`volume ${id} has no snapshot ${snapshotId}`, 'snapshotId');
    if (snap.status !== 'available') throw new InvalidStateError({ type: 'snapshot', id: snapshotId }, 'revert to snapshot', snap.status);
    ctx.pools.require(volume.poolId, 'revertToSnapshot', 'revert to snapshot');
    const updated = await tx.updateVolume(id, { status: decision.next ?? 'reverting', previousStatus: volume.status }, { modifyIndex: volume.modifyIndex });
    const task = await enqueueVolumeTask(ctx, tx, volume, 'volume.revert', { snapshotId });
    return { resource: updated, task };
  });
}

export interface VolumeFieldsUpdate {
  readonly name?: string;
  readonly description?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly bootable?: boolean;
  readonly readonly?: boolean;
  readonly imageMetadata?: Readonly<Record<string, string>>;
  readonly adminMetadata?: Readonly<Record<string, string>>;
  readonly clusters?: readonly ContainerCluster[];
  readonly aclRules?: readonly AclRule[];
  readonly mountOptions?: readonly string[];
  /** Compare-and-set: refuse if the volume changed since this index. */
  readonly modifyIndex?: number;
}

export async function updateVolume(ctx: EngineContext, id: string, update: VolumeFieldsUpdate): Promise<Volume> {
  const patch: VolumePatch = {
    ...(update.name !== undefined ? { name: checkDisplayName(update.name) } : {}),
    ...(update.description !== undefined ? { description: update.description } : {}),
    ...(update.labels !== undefined ? { labels: checkLabels(update.labels) } : {}),
    ...(update.bootable !== undefined ? { bootable: update.bootable } : {}),
    ...(update.readonly !== undefined ? { readonly: update.readonly } : {}),
    ...(update.imageMetadata !== undefined ? { imageMetadata: checkLabels(update.imageMetadata, 'imageMetadata') } : {}),
    ...(update.adminMetadata !== undefined ? { adminMetadata: checkLabels(update.adminMetadata, 'adminMetadata') } : {}),
    ...(update.clusters !== undefined ? { clusters: [...update.clusters] } : {}),
    ...(update.aclRules !== undefined ? { aclRules: checkAclRules(update.aclRules) } : {}),
    ...(update.mountOptions !== undefined ? { mountOptions: [...update.mountOptions] } : {}),
  };
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, id);
    if (volume.status === 'deleting') throw new InvalidStateError({ type: 'volume', id }, 'update volume', volume.status);
    if (patch.aclRules && volume.kind !== 'file') throw new UnsupportedError(`volume ${id} is a block volume; ACL rules apply to file volumes`, { type: 'volume', id });
    return tx.updateVolume(id, patch, { modifyIndex: update.modifyIndex ?? volume.modifyIndex });
  });
}

export interface ResetStatusInput {
  readonly status?: VolumeStatus;
  readonly attachStatus?: AttachStatus;
  readonly migrationStatus?: MigrationStatus;
}

/** Admin: set statuses as asked; queued work on the volume is cancelled so no task acts on a stale status. */
export async function resetVolumeStatus(ctx: EngineContext, id: string, input: ResetStatusInput): Promise<Volume> {
  if (input.status === undefined && input.attachStatus === undefined && input.migrationStatus === undefined) {
    throw new InvalidInputError('give at least one of status, attachStatus, migrationStatus', 'status');
  }
  const status = input.status === undefined ? undefined : checkVolumeStatus(input.status);
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, id);
    decideVolume('resetStatus', id, volume.status, volume.migrationStatus);
    // Cancelling runs each task's own rollback (attachments, migration status,
    // cascade snapshots), then the admin's statuses are applied over it.
    for (const task of await tx.liveTasksFor(id)) {
      if (task.state === 'queued') await ctx.cancelTask(tx, task, `cancelled: volume ${id} status was reset by an admin`);
    }
    return tx.updateVolume(id, {
      ...(status !== undefined ? { status } : {}),
      ...(input.attachStatus !== undefined ? { attachStatus: input.attachStatus } : {}),
      ...(input.migrationStatus !== undefined ? { migrationStatus: input.migrationStatus } : {}),
    });
  });
}

export const volumeActionHandlers: HandlerRegistry = {
  'volume.extend': {
    async run({ task, store, pools }) {
      const volume = await mustGetVolume(store, task.resourceId);
      const wanted = Number(task.params.sizeBytes);
      const { sizeBytes } = await pools.driver(volume.poolId).extendVolume(volumeRef(volume), wanted);
      return async (tx) => {
        const grown = { sizeBytes: Math.max(sizeBytes, wanted), reservedBytes: 0 };
        // Awaiting the node's completion, the volume stays extending (completeExtend ends it).
        if (task.params.awaitCompletion === true) await tx.updateVolume(volume.id, { ...grown, extendAwaiting: task.id }, { status: ['extending'] });
        else await finishVolume(tx, volume.id, 'extend', 'success', { ...grown, lastError: null });
        return { sizeBytes: grown.sizeBytes };
      };
    },
    async fail(tx, task, message, cause) {
      // The storage refused the size before changing anything (a file system's largest file, a plugin's
      // OUT_OF_RANGE): the volume goes back to what it was, with the reason, as a refused create would leave nothing.
      if (cause instanceof InvalidInputError) await finishVolume(tx, task.resourceId, 'extend', 'success', { lastError: message });
      else await finishVolume(tx, task.resourceId, 'extend', 'failure', { lastError: message });
      // The reservation goes whatever the status became (an admin may have reset it).
      const volume = await tx.getVolume(task.resourceId);
      if (volume?.reservedBytes) await tx.updateVolume(volume.id, { reservedBytes: 0 });
    },
  },
  'volume.revert': {
    async run({ task, store, pools }) {
      const volume = await mustGetVolume(store, task.resourceId);
      const snap = await mustGetSnapshot(store, String(task.params.snapshotId)).catch(() => {
        throw new NotFoundError('snapshot', String(task.params.snapshotId));
      });
      await pools.driver(volume.poolId).revertToSnapshot(volumeRef(volume), snapshotRef(snap, volume));
      return async (tx) => {
        await finishVolume(tx, volume.id, 'revert', 'success', { sizeBytes: Math.max(volume.sizeBytes, snap.sizeBytes), lastError: null });
      };
    },
    async fail(tx, task, message) {
      await finishVolume(tx, task.resourceId, 'revert', 'failure', { lastError: message });
    },
  },
};
