// Deleting a volume (with its snapshots when cascading; with its attachments
// too when forced) and unmanaging one (the record goes, the bytes stay).

import { errorMessage, InvalidStateError } from '../domain/errors.js';
import { WORKING_SNAPSHOT_STATUSES, decideSnapshot, decideVolume } from '../domain/states.js';
import type { Attachment, Volume } from '../domain/types.js';
import { mergeSecrets } from './secrets.js';
import type { StoreTx } from '../store/store.js';
import { enqueueVolumeTask, mustGetVolume, finishVolume, type Accepted, type EngineContext } from './context.js';
import { snapshotRef, volumeRef } from './pools.js';
import type { HandlerRegistry } from './tasks/handler.js';

export interface DeleteOptions {
  /** Delete the volume's snapshots too. */
  readonly cascade?: boolean;
  /** Admin: from any status, detaching and deleting whatever hangs on it. */
  readonly force?: boolean;
  /** Secrets for the driver's delete, merged over the stored ones. */
  readonly secrets?: Readonly<Record<string, string>>;
}

export interface UnmanageOptions {
  /** Drop the claims of consumers that have ended (attachments that failed); live ones still refuse. */
  readonly dropEndedClaims?: boolean;
}

/** Attachments whose consumer is gone: the attach or the detach failed. */
const ENDED_ATTACHMENTS: readonly string[] = ['error_attaching', 'error_detaching'];

function claimList(attachments: readonly Attachment[]): string {
  return attachments.map((a) => `${a.instance}@${a.node} (${a.mode}, ${a.status})`).join(', ');
}

export async function deleteVolume(ctx: EngineContext, id: string, options: DeleteOptions = {}): Promise<Accepted<Volume>> {
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, id);
    const ref = { type: 'volume', id };
    const decision = decideVolume(options.force ? 'forceDelete' : 'delete', id, volume.status, volume.migrationStatus);
    const snapshots = await tx.snapshotsOf(id);
    await mergeSecrets(ctx, tx, 'volume', id, options.secrets);
    if (!options.force) {
      const attachments = await tx.listAttachments(id);
      if (attachments.length) {
        throw new InvalidStateError(ref, 'delete volume', volume.status, `attached to ${claimList(attachments)}; detach first`);
      }
      if (snapshots.length && !options.cascade) {
        throw new InvalidStateError(ref, 'delete volume', volume.status, `it has ${snapshots.length} snapshot(s): ${snapshots.map((s) => s.id).join(', ')}; delete them or use cascade`);
      }
    }
    for (const snap of snapshots) {
      decideSnapshot(options.force ? 'forceDelete' : 'delete', snap.id, snap.status);
      await tx.updateSnapshot(snap.id, { status: 'deleting' });
    }
    const updated = await tx.updateVolume(id, { status: decision.next ?? 'deleting', previousStatus: volume.status }, { modifyIndex: volume.modifyIndex });
    const task = await enqueueVolumeTask(ctx, tx, volume, 'volume.delete', { force: options.force ?? false });
    return { resource: updated, task };
  });
}

export async function unmanageVolume(ctx: EngineContext, id: string, options: UnmanageOptions = {}): Promise<Accepted<Volume>> {
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, id);
    const attachments = await tx.listAttachments(id);
    const blocking = options.dropEndedClaims ? attachments.filter((a) => !ENDED_ATTACHMENTS.includes(a.status)) : attachments;
    if (blocking.length) throw new InvalidStateError({ type: 'volume', id }, 'unmanage volume', volume.status, `in use by ${claimList(blocking)}`);
    // In use only by ended claims, which go with the record: as good as available.
    const status = attachments.length && volume.status === 'in-use' ? 'available' : volume.status;
    const decision = decideVolume('unmanage', id, status, volume.migrationStatus);
    const snapshots = await tx.countSnapshots(id);
    if (snapshots) throw new InvalidStateError({ type: 'volume', id }, 'unmanage volume', volume.status, `it has ${snapshots} snapshot(s)`);
    ctx.pools.require(volume.poolId, 'manage', 'unmanage');
    const updated = await tx.updateVolume(id, { status: decision.next ?? 'unmanaging', previousStatus: volume.status }, { modifyIndex: volume.modifyIndex });
    const task = await enqueueVolumeTask(ctx, tx, volume, 'volume.unmanage');
    return { resource: updated, task };
  });
}

/** Removes a volume record with everything that hangs on it. */
async function removeVolumeRecord(tx: StoreTx, id: string): Promise<void> {
  for (const a of await tx.listAttachments(id)) await tx.deleteAttachment(a.id);
  for (const s of await tx.snapshotsOf(id)) await tx.deleteSnapshot(s.id);
  await tx.deleteVolume(id);
}

export const deleteHandlers: HandlerRegistry = {
  'volume.delete': {
    async run({ task, store, pools }) {
      const volume = await store.getVolume(task.resourceId);
      if (!volume) return () => Promise.resolve({ alreadyGone: true });
      const driver = pools.driver(volume.poolId);
      if (task.params.force === true) {
        for (const a of await store.listAttachments(volume.id)) {
          // Best effort: a forced delete must not hang on a node that is gone.
          await driver.unpublish(volumeRef(volume), a.node, a.id).catch((e: unknown) => void errorMessage(e));
        }
      }
      for (const snap of await store.snapshotsOf(volume.id)) {
        await driver.deleteSnapshot(snapshotRef(snap, volume));
      }
      await driver.deleteVolume(volumeRef(volume));
      return async (tx) => {
        if (await tx.getVolume(volume.id)) await removeVolumeRecord(tx, volume.id);
      };
    },
    async fail(tx, task, message) {
      await finishVolume(tx, task.resourceId, 'delete', 'failure', { lastError: message });
      for (const s of await tx.snapshotsOf(task.resourceId)) {
        if (WORKING_SNAPSHOT_STATUSES.includes(s.status)) await tx.updateSnapshot(s.id, { status: 'error_deleting', lastError: message });
      }
    },
  },
  'volume.unmanage': {
    async run({ task, store, pools }) {
      const volume = await mustGetVolume(store, task.resourceId);
      await pools.driver(volume.poolId).unmanage(volumeRef(volume));
      return async (tx) => {
        await removeVolumeRecord(tx, volume.id);
        return { externalId: volume.externalId };
      };
    },
    async fail(tx, task, message) {
      await finishVolume(tx, task.resourceId, 'unmanage', 'failure', { lastError: message });
    },
  },
};
