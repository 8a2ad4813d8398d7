// Attachments claimed before their host is known (Cinder's attachments API:
// create without a connector, then update with one, then complete). A
// reserved attachment holds the volume for its instance; connecting it starts
// the same attach task as a direct attach.

import { checkAttachmentAllowed, effectiveAccessMode } from '../domain/access-modes.js';
import { ConflictError, InvalidStateError, NotFoundError } from '../domain/errors.js';
import { ATTACHMENT_TRANSITIONS, decideVolume } from '../domain/states.js';
import { checkAttachMode, checkAttachName } from '../domain/validation.js';
import type { Attachment } from '../domain/types.js';
import { enqueueVolumeTask, mustGetVolume, type EngineContext } from './context.js';
import type { AttachAccepted } from './attachments.js';
import { newId } from './ids.js';

export interface ReserveInput {
  readonly instance: string;
  readonly mode?: 'rw' | 'ro';
}

/** Claims the volume for an instance: the volume becomes reserved (or stays in-use when it may be shared). */
export async function reserveAttachment(ctx: EngineContext, volumeId: string, input: ReserveInput): Promise<Attachment> {
  checkAttachName(input.instance, 'instance');
  const mode = checkAttachMode(input.mode);
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, volumeId);
    const existing = await tx.listAttachments(volumeId);
    const shared = volume.status === 'in-use' || volume.status === 'reserved';
    if (shared && !volume.multiattach) {
      throw new InvalidStateError({ type: 'volume', id: volumeId }, 'reserve volume', volume.status, 'it is not multiattach', ['available']);
    }
    if (!shared) decideVolume('reserve', volumeId, volume.status, volume.migrationStatus);
    const access = effectiveAccessMode(volume, {});
    checkAttachmentAllowed(volume, existing, { node: `reserved:${input.instance}`, instance: input.instance, mode, accessMode: access.accessMode });
    const attachment = await tx.insertAttachment({
      id: newId(),
      volumeId,
      namespace: volume.namespace,
      instance: input.instance,
      node: '',
      mode,
      accessMode: access.accessMode,
      attachmentMode: access.attachmentMode,
      mountpoint: null,
      connector: {},
      connectionInfo: null,
      status: ATTACHMENT_TRANSITIONS.reserve.working,
    });
    if (!shared) await tx.updateVolume(volumeId, { status: 'reserved' }, { modifyIndex: volume.modifyIndex });
    return attachment;
  });
}

/** The host is known now: attach there (a task publishes and the attachment ends attached). */
export async function connectAttachment(ctx: EngineContext, attachmentId: string, input: { node: string; connector?: Readonly<Record<string, unknown>>; mountpoint?: string }): Promise<AttachAccepted> {
  checkAttachName(input.node, 'connector.host');
  return ctx.store.transact(async (tx) => {
    const attachment = await tx.getAttachment(attachmentId);
    if (!attachment) throw new NotFoundError('attachment', attachmentId);
    const volume = await mustGetVolume(tx, attachment.volumeId);
    if (attachment.status !== 'reserved') {
      throw new InvalidStateError({ type: 'attachment', id: attachmentId }, 'connect attachment', attachment.status, 'only a reserved attachment takes a connector', ATTACHMENT_TRANSITIONS.connect.from);
    }
    const decision = decideVolume('attach', volume.id, volume.status, volume.migrationStatus);
    ctx.pools.require(volume.poolId, 'publish', 'attaching volumes');
    const others = (await tx.listAttachments(volume.id)).filter((a) => a.id !== attachmentId);
    checkAttachmentAllowed(volume, others, { node: input.node, instance: attachment.instance, mode: attachment.mode, accessMode: attachment.accessMode });
    const connecting = await tx.updateAttachment(
      attachmentId,
      { status: ATTACHMENT_TRANSITIONS.connect.working, node: input.node, connector: { ...(input.connector ?? {}) }, ...(input.mountpoint ? { mountpoint: input.mountpoint } : {}) },
      ATTACHMENT_TRANSITIONS.connect.from,
    );
    const updated = await tx.updateVolume(
      volume.id,
      { status: decision.next ?? 'attaching', attachStatus: 'attaching', previousStatus: volume.status },
      { modifyIndex: volume.modifyIndex },
    );
    const task = await enqueueVolumeTask(ctx, tx, volume, 'volume.attach', { attachmentId });
    return { resource: updated, attachment: connecting, task };
  });
}

/** Drops a reserved attachment; the volume is available again when nothing else holds it. */
export async function releaseAttachment(ctx: EngineContext, attachmentId: string): Promise<void> {
  await ctx.store.transact(async (tx) => {
    const attachment = await tx.getAttachment(attachmentId);
    if (!attachment) throw new NotFoundError('attachment', attachmentId);
    if (!(ATTACHMENT_TRANSITIONS.release.from as readonly string[]).includes(attachment.status)) {
      throw new InvalidStateError({ type: 'attachment', id: attachmentId }, 'release attachment', attachment.status, 'only a reserved attachment is released; detach an attached one', ATTACHMENT_TRANSITIONS.release.from);
    }
    await tx.deleteAttachment(attachmentId);
    const volume = await mustGetVolume(tx, attachment.volumeId);
    const left = (await tx.listAttachments(volume.id)).length;
    if (volume.status === 'reserved' && left === 0) {
      decideVolume('unreserve', volume.id, volume.status, volume.migrationStatus);
      await tx.updateVolume(volume.id, { status: 'available' }, { modifyIndex: volume.modifyIndex });
    }
  });
}

/** Cinder's attachment-complete: the host has connected; only an attachment whose attach has ended may complete. */
export async function completeAttachment(ctx: EngineContext, attachmentId: string): Promise<Attachment> {
  const attachment = await ctx.store.getAttachment(attachmentId);
  if (!attachment) throw new NotFoundError('attachment', attachmentId);
  if (attachment.status === 'attached') return attachment;
  if (attachment.status === 'attaching') throw new ConflictError(`attachment ${attachmentId} is still attaching; complete it once its attach task has ended`, { type: 'attachment', id: attachmentId });
  throw new InvalidStateError({ type: 'attachment', id: attachmentId }, 'complete attachment', attachment.status, 'give it a connector first', ['attaching', 'attached']);
}
