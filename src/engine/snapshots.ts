// Snapshots: create, delete, update, and adopting or releasing existing ones.
// Snapshot tasks lock their volume, so they queue behind work on it.

import { newId } from './ids.js';
import { ConflictError, InvalidInputError, InvalidStateError } from '../domain/errors.js';
import { decideSnapshot, WORKING_SNAPSHOT_STATUSES } from '../domain/states.js';
import { SNAPSHOT_STATUSES, type Snapshot, type SnapshotStatus } from '../domain/types.js';
import { checkLabels, checkDisplayName } from '../domain/validation.js';
import type { StoreTx } from '../store/store.js';
import { enqueue, mustGetSnapshot, mustGetVolume, type Accepted, type EngineContext } from './context.js';
import { mergeSecrets } from './secrets.js';
import { snapshotRef, volumeRef } from './pools.js';
import { checkQuota } from './quotas.js';
import type { HandlerRegistry } from './tasks/handler.js';

export interface CreateSnapshotInput {
  readonly name: string;
  readonly description?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Cinder's force: snapshot an attached volume. */
  readonly force?: boolean;
  readonly secrets?: Readonly<Record<string, string>>;
}

export interface ManageSnapshotInput {
  readonly volumeId: string;
  readonly reference: Readonly<Record<string, string>>;
  readonly name?: string;
  readonly description?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

function newSnapshotRecord(volumeId: string, namespace: string, fields: { name: string; description?: string | undefined; labels: Record<string, string> }) {
  return {
    id: newId(),
    volumeId,
    namespace,
    name: fields.name,
    description: fields.description ?? '',
    sizeBytes: 0,
    externalId: null,
    readyToUse: false,
    labels: fields.labels,
    lastError: null,
  };
}

export async function createSnapshot(ctx: EngineContext, volumeId: string, input: CreateSnapshotInput): Promise<Accepted<Snapshot>> {
  const name = checkDisplayName(input.name);
  const labels = checkLabels(input.labels);
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, volumeId);
    const allowed = input.force ? ['available', 'in-use'] : ['available'];
    if (!allowed.includes(volume.status) || volume.migrationStatus === 'migrating' || volume.migrationStatus === 'starting') {
      throw new InvalidStateError({ type: 'volume', id: volumeId }, 'snapshot volume', volume.status, input.force ? undefined : 'use force to snapshot an attached volume');
    }
    ctx.pools.require(volume.poolId, 'snapshot', 'snapshots');
    await checkQuota(tx, volume.namespace, { snapshots: 1 }, ctx.quotaDefaults);
    const transition = decideSnapshot('create', 'new', null);
    const snapshot = await tx.insertSnapshot({ ...newSnapshotRecord(volumeId, volume.namespace, { name, description: input.description, labels }), sizeBytes: volume.sizeBytes, status: transition.working ?? 'creating' });
    if (input.secrets && Object.keys(input.secrets).length) await tx.setSnapshotSecrets(snapshot.id, ctx.secrets.seal(checkLabels(input.secrets, 'secrets')));
    const task = await enqueue(ctx, tx, { operation: 'snapshot.create', namespace: volume.namespace, lockKeys: [volumeId], resourceType: 'snapshot', resourceId: snapshot.id });
    return { resource: snapshot, task };
  });
}

async function startSnapshotAction(
  ctx: EngineContext,
  id: string,
  action: 'delete' | 'forceDelete' | 'unmanage',
  operation: string,
  secrets?: Readonly<Record<string, string>>,
): Promise<Accepted<Snapshot>> {
  return ctx.store.transact(async (tx) => {
    const snap = await mustGetSnapshot(tx, id);
    await mergeSecrets(ctx, tx, 'snapshot', id, secrets);
    const t = decideSnapshot(action, id, snap.status);
    const dependents = await tx.volumesFromSource(id, ['creating']);
    if (dependents.length) throw new InvalidStateError({ type: 'snapshot', id }, `${action} snapshot`, snap.status, `volume ${dependents[0]?.id ?? ''} is being created from it`);
    const updated = await tx.updateSnapshot(id, { status: t.working ?? 'deleting' }, { modifyIndex: snap.modifyIndex });
    const task = await enqueue(ctx, tx, { operation, namespace: snap.namespace, lockKeys: [snap.volumeId], resourceType: 'snapshot', resourceId: id });
    return { resource: updated, task };
  });
}

export function deleteSnapshot(ctx: EngineContext, id: string, options: { force?: boolean; secrets?: Readonly<Record<string, string>> } = {}): Promise<Accepted<Snapshot>> {
  return startSnapshotAction(ctx, id, options.force ? 'forceDelete' : 'delete', 'snapshot.delete', options.secrets);
}

export function unmanageSnapshot(ctx: EngineContext, id: string): Promise<Accepted<Snapshot>> {
  return startSnapshotAction(ctx, id, 'unmanage', 'snapshot.unmanage');
}

export async function updateSnapshot(ctx: EngineContext, id: string, patch: { name?: string; description?: string; labels?: Record<string, string> }): Promise<Snapshot> {
  const fields = {
    ...(patch.name !== undefined ? { name: checkDisplayName(patch.name) } : {}),
    ...(patch.description !== undefined ? { description: patch.description } : {}),
    ...(patch.labels !== undefined ? { labels: checkLabels(patch.labels) } : {}),
  };
  return ctx.store.transact(async (tx) => {
    const snap = await mustGetSnapshot(tx, id);
    return tx.updateSnapshot(id, fields, { modifyIndex: snap.modifyIndex });
  });
}

/**
 * Admin: set a snapshot's status (Cinder's os-reset_status). Only to a resting
 * status, and not while a task works on the snapshot: a working status
 * without its task would never end.
 */
export async function resetSnapshotStatus(ctx: EngineContext, id: string, status: SnapshotStatus): Promise<Snapshot> {
  if (!SNAPSHOT_STATUSES.includes(status) || WORKING_SNAPSHOT_STATUSES.includes(status)) {
    throw new InvalidInputError(`must be one of ${SNAPSHOT_STATUSES.filter((s) => !WORKING_SNAPSHOT_STATUSES.includes(s)).join(', ')}`, 'status');
  }
  return ctx.store.transact(async (tx) => {
    const snap = await mustGetSnapshot(tx, id);
    decideSnapshot('resetStatus', id, snap.status);
    const live = await tx.liveTasksFor(id);
    if (live.length) throw new ConflictError(`task ${live[0]?.id ?? ''} is working on snapshot ${id}; wait for it to end`, { type: 'snapshot', id });
    return tx.updateSnapshot(id, { status, readyToUse: status === 'available' }, { modifyIndex: snap.modifyIndex });
  });
}

export async function manageSnapshot(ctx: EngineContext, input: ManageSnapshotInput): Promise<Accepted<Snapshot>> {
  const labels = checkLabels(input.labels);
  const volume = await mustGetVolume(ctx.store, input.volumeId);
  const driver = ctx.pools.require(volume.poolId, 'manage', 'manage existing snapshots');
  // The driver checks the reference before anything is written.
  const found = await driver.manageExistingSnapshot('check', input.reference);
  return ctx.store.transact(async (tx) => {
    await assertSnapshotNotManaged(tx, found.externalId);
    await checkQuota(tx, volume.namespace, { snapshots: 1 }, ctx.quotaDefaults);
    const t = decideSnapshot('manage', 'new', null);
    const record = newSnapshotRecord(volume.id, volume.namespace, { name: input.name ?? found.externalId, description: input.description, labels });
    const snapshot = await tx.insertSnapshot({ ...record, status: t.working ?? 'managing', externalId: found.externalId, sizeBytes: found.sizeBytes });
    const task = await enqueue(ctx, tx, { operation: 'snapshot.manage', namespace: volume.namespace, lockKeys: [volume.id], resourceType: 'snapshot', resourceId: snapshot.id, params: { reference: input.reference } });
    return { resource: snapshot, task };
  });
}

async function assertSnapshotNotManaged(tx: StoreTx, externalId: string): Promise<void> {
  const managed = (await tx.findSnapshotsByExternalId([externalId])).get(externalId);
  if (managed) throw new ConflictError(`${externalId} is already managed as snapshot ${managed}`, { type: 'snapshot', id: managed });
}

export const snapshotHandlers: HandlerRegistry = {
  'snapshot.create': {
    async run({ task, store, pools }) {
      const snap = await mustGetSnapshot(store, task.resourceId);
      const volume = await mustGetVolume(store, snap.volumeId);
      const created = await pools.driver(volume.poolId).createSnapshot(snap.id, volumeRef(volume));
      return async (tx) => {
        await tx.updateSnapshot(snap.id, { status: 'available', externalId: created.externalId, sizeBytes: created.sizeBytes || volume.sizeBytes, readyToUse: created.readyToUse }, { status: ['creating'] });
        return { externalId: created.externalId };
      };
    },
    async fail(tx, task, message) {
      const snap = await tx.getSnapshot(task.resourceId);
      if (snap?.status === 'creating') await tx.updateSnapshot(snap.id, { status: 'error', lastError: message });
    },
  },
  'snapshot.delete': {
    async run({ task, store, pools }) {
      const snap = await store.getSnapshot(task.resourceId);
      if (!snap) return () => Promise.resolve({ alreadyGone: true });
      const volume = await mustGetVolume(store, snap.volumeId);
      await pools.driver(volume.poolId).deleteSnapshot(snapshotRef(snap, volume));
      return async (tx) => {
        if (await tx.getSnapshot(snap.id)) await tx.deleteSnapshot(snap.id);
      };
    },
    async fail(tx, task, message) {
      const snap = await tx.getSnapshot(task.resourceId);
      if (snap?.status === 'deleting') await tx.updateSnapshot(snap.id, { status: 'error_deleting', lastError: message });
    },
  },
  'snapshot.manage': {
    async run({ task, store, pools }) {
      const snap = await mustGetSnapshot(store, task.resourceId);
      const volume = await mustGetVolume(store, snap.volumeId);
      const found = await pools.driver(volume.poolId).manageExistingSnapshot(snap.id, task.params.reference as Record<string, string>);
      return async (tx) => {
        await tx.updateSnapshot(snap.id, { status: 'available', externalId: found.externalId, sizeBytes: found.sizeBytes || volume.sizeBytes, readyToUse: true }, { status: ['managing'] });
      };
    },
    async fail(tx, task, message) {
      const snap = await tx.getSnapshot(task.resourceId);
      if (snap?.status === 'managing') await tx.updateSnapshot(snap.id, { status: 'error_managing', lastError: message });
    },
  },
  'snapshot.unmanage': {
    async run({ task, store }) {
      const snap = await mustGetSnapshot(store, task.resourceId);
      // The file driver keeps bytes on unmanage; nothing to ask of storage.
      return async (tx) => {
        await tx.deleteSnapshot(snap.id);
        return { externalId: snap.externalId };
      };
    },
    async fail(tx, task, message) {
      const snap = await tx.getSnapshot(task.resourceId);
      if (snap?.status === 'unmanaging') await tx.updateSnapshot(snap.id, { status: 'available', lastError: message });
    },
  },
};
