// Attaching and detaching (Cinder attachments = Nomad claims = CNS attach).
// The attachment record is written before the driver publishes, so an
// interrupted attach or detach is resumed, never forgotten.

import { newId } from './ids.js';
import { checkAttachmentAllowed, effectiveAccessMode } from '../domain/access-modes.js';
import { errorMessage, InvalidStateError, NotFoundError } from '../domain/errors.js';
import { clientAccess } from '../domain/nfs-access.js';
import { ATTACHMENT_TRANSITIONS, decideVolume } from '../domain/states.js';
import { checkAttachMode, checkAttachName } from '../domain/validation.js';
import type { AccessMode, AclRule, Attachment, AttachmentMode, Volume } from '../domain/types.js';
import { enqueueVolumeTask, mustGetVolume, type Accepted, type EngineContext, finishVolume } from './context.js';
import { volumeRef } from './pools.js';
import type { HandlerRegistry } from './tasks/handler.js';

export interface AttachInput {
  readonly node: string;
  readonly instance?: string;
  readonly mode?: 'rw' | 'ro';
  readonly mountpoint?: string;
  readonly connector?: Readonly<Record<string, unknown>>;
  readonly accessMode?: AccessMode;
  readonly attachmentMode?: AttachmentMode;
}

/** The client's address: the connector's `ip`, or the node when it is named by one. */
function clientIpOf(input: AttachInput): string | undefined {
  const ip = input.connector?.ip;
  if (typeof ip === 'string' && ip) return ip;
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(input.node) ? input.node : undefined;
}

export interface AttachAccepted extends Accepted<Volume> {
  readonly attachment: Attachment;
}

export async function attachVolume(ctx: EngineContext, volumeId: string, input: AttachInput): Promise<AttachAccepted> {
  checkAttachName(input.node, 'node');
  const askedMode = checkAttachMode(input.mode);
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, volumeId);
    const decision = decideVolume('attach', volumeId, volume.status, volume.migrationStatus);
    ctx.pools.require(volume.poolId, 'publish', 'attaching volumes');
    const access = effectiveAccessMode(volume, { accessMode: input.accessMode, attachmentMode: input.attachmentMode });
    const existing = await tx.listAttachments(volumeId);
    const instance = input.instance ?? input.node;
    // A file volume's NFS rules decide whether this client gets in, and whether it may write.
    const rule = volume.kind === 'file' ? clientAccess(volume.id, volume.aclRules, clientIpOf(input)) : undefined;
    const mode = rule?.permissions === 'READ_ONLY' ? 'ro' : askedMode;
    checkAttachmentAllowed(volume, existing, { node: input.node, instance, mode, accessMode: access.accessMode });
    const attachment = await tx.insertAttachment({
      id: newId(),
      volumeId,
      namespace: volume.namespace,
      instance,
      node: input.node,
      mode,
      accessMode: access.accessMode,
      attachmentMode: access.attachmentMode,
      mountpoint: input.mountpoint ?? null,
      connector: { ...(input.connector ?? {}) },
      connectionInfo: null,
      status: ATTACHMENT_TRANSITIONS.attach.working,
    });
    const updated = await tx.updateVolume(
      volumeId,
      { status: decision.next ?? 'attaching', attachStatus: 'attaching', previousStatus: volume.status },
      { modifyIndex: volume.modifyIndex },
    );
    const task = await enqueueVolumeTask(ctx, tx, volume, 'volume.attach', { attachmentId: attachment.id, ...(rule ? { access: rule } : {}) });
    return { resource: updated, attachment, task };
  });
}

export async function detachVolume(ctx: EngineContext, volumeId: string, attachmentId: string, options: { force?: boolean } = {}): Promise<AttachAccepted> {
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, volumeId);
    const attachment = await tx.getAttachment(attachmentId);
    if (!attachment || attachment.volumeId !== volumeId) throw new NotFoundError('attachment', attachmentId);
    const decision = decideVolume(options.force ? 'forceDetach' : 'detach', volumeId, volume.status, volume.migrationStatus);
    if (!options.force) refuseWhileDetachRuns(volume, 'detach volume');
    const step = ATTACHMENT_TRANSITIONS[options.force ? 'forceDetach' : 'detach'];
    const detaching = await tx.updateAttachment(attachmentId, { status: step.working }, step.from);
    const updated = await tx.updateVolume(
      volumeId,
      { status: decision.next ?? 'detaching', attachStatus: 'detaching', previousStatus: volume.status === 'detaching' ? 'in-use' : volume.status },
      { modifyIndex: volume.modifyIndex },
    );
    const task = await enqueueVolumeTask(ctx, tx, volume, 'volume.detach', { attachmentId, force: options.force ?? false });
    return { resource: updated, attachment: detaching, task };
  });
}

/**
 * Synchronous status holds around an attach or detach that a host performs:
 * Cinder's os-reserve / os-unreserve and os-begin_detaching / os-roll_detaching.
 */
export async function holdVolume(ctx: EngineContext, volumeId: string, action: 'reserve' | 'unreserve' | 'beginDetaching' | 'rollDetaching'): Promise<Volume> {
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, volumeId);
    const decision = decideVolume(action, volumeId, volume.status, volume.migrationStatus);
    if (action === 'rollDetaching') refuseWhileDetachRuns(volume, 'roll detaching volume');
    return tx.updateVolume(volumeId, { status: decision.next ?? volume.status }, { modifyIndex: volume.modifyIndex });
  });
}

/** Status 'detaching' is either begin-detaching (attachStatus untouched) or a detach task at work (attachStatus 'detaching'). */
function refuseWhileDetachRuns(volume: Volume, action: string): void {
  if (volume.status === 'detaching' && volume.attachStatus === 'detaching') {
    throw new InvalidStateError({ type: 'volume', id: volume.id }, action, volume.status, 'a detach is already running');
  }
}

export const attachmentHandlers: HandlerRegistry = {
  'volume.attach': {
    async run({ task, store, pools }) {
      const volume = await mustGetVolume(store, task.resourceId);
      const attachmentId = String(task.params.attachmentId);
      const attachment = await store.getAttachment(attachmentId);
      if (!attachment) throw new NotFoundError('attachment', attachmentId);
      const connectionInfo = await pools.driver(volume.poolId).publish({
        volume: volumeRef(volume),
        node: attachment.node,
        readonly: attachment.mode === 'ro' || volume.readonly,
        attachmentId,
        ...(task.params.access ? { access: task.params.access as AclRule } : {}),
      });
      return async (tx) => {
        const current = await tx.getAttachment(attachmentId);
        if (current?.status === ATTACHMENT_TRANSITIONS.forceDetach.working) {
          // A forced detach overtook this attach: record what was published; that detach unpublishes it.
          await tx.updateAttachment(attachmentId, { connectionInfo }, ['detaching']);
          return { attachmentId, connectionInfo, overtakenBy: 'detach' };
        }
        await tx.updateAttachment(attachmentId, { status: ATTACHMENT_TRANSITIONS.attach.success, connectionInfo }, [ATTACHMENT_TRANSITIONS.attach.working]);
        await finishVolume(tx, volume.id, 'attach', 'success', { attachStatus: 'attached', lastError: null });
        return { attachmentId, connectionInfo };
      };
    },
    async fail(tx, task, message) {
      const attachmentId = String(task.params.attachmentId);
      // Only an attachment this attach still owns goes; one a detach has taken over is that detach's to end.
      if ((await tx.getAttachment(attachmentId))?.status === ATTACHMENT_TRANSITIONS.attach.working) await tx.deleteAttachment(attachmentId);
      await finishVolume(tx, task.resourceId, 'attach', 'failure', { attachStatus: 'error_attaching', lastError: message });
    },
  },
  'volume.detach': {
    async run({ task, store, pools }) {
      const volume = await mustGetVolume(store, task.resourceId);
      const attachmentId = String(task.params.attachmentId);
      const attachment = await store.getAttachment(attachmentId);
      if (attachment) {
        const unpublish = pools.driver(volume.poolId).unpublish(volumeRef(volume), attachment.node, attachmentId);
        // A forced detach goes on when the node cannot be reached.
        if (task.params.force === true) await unpublish.catch((e: unknown) => void errorMessage(e));
        else await unpublish;
      }
      return async (tx) => {
        if (await tx.getAttachment(attachmentId)) await tx.deleteAttachment(attachmentId);
        const left = (await tx.listAttachments(volume.id)).length;
        await finishVolume(tx, volume.id, ['detach', 'forceDetach'], 'success', { attachStatus: left ? 'attached' : 'detached', lastError: null });
        return { attachmentId, attachmentsLeft: left };
      };
    },
    async fail(tx, task, message) {
      const attachmentId = String(task.params.attachmentId);
      // Only while the volume is still this detach's (not reset or deleted meanwhile) does the attachment go back.
      const volume = await tx.getVolume(task.resourceId);
      if (!volume || volume.status !== 'detaching') return;
      const attachment = await tx.getAttachment(attachmentId);
      if (attachment?.status === ATTACHMENT_TRANSITIONS.detach.working) await tx.updateAttachment(attachmentId, { status: ATTACHMENT_TRANSITIONS.detach.failure }, [ATTACHMENT_TRANSITIONS.detach.working]);
      await finishVolume(tx, volume.id, ['detach', 'forceDetach'], 'failure', { attachStatus: 'error_detaching', lastError: message });
    },
  },
};
