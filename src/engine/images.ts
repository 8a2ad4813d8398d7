// Images: a volume's bytes uploaded to the local image store, images uploaded
// as raw bytes, and volumes reimaged from them.

import { newId } from './ids.js';
import type { Readable } from 'node:stream';
import { InvalidInputError, InvalidStateError, NotFoundError, UnsupportedError } from '../domain/errors.js';
import { decideVolume } from '../domain/states.js';
import type { Image, Volume } from '../domain/types.js';
import { checkName, checkNamespace } from '../domain/validation.js';
import { enqueueVolumeTask, mustGetVolume, finishVolume, type Accepted, type EngineContext } from './context.js';
import { volumeRef } from './pools.js';
import type { HandlerRegistry } from './tasks/handler.js';

/** Largest raw image accepted through an upload. */
export const MAX_IMAGE_BYTES = 1024 ** 4;

function requireBlock(volume: Volume, what: string): void {
  if (volume.kind !== 'block') throw new UnsupportedError(`volume ${volume.id} is a file volume; ${what} works on block volumes`, { type: 'volume', id: volume.id });
}

export interface UploadAccepted extends Accepted<Volume> {
  readonly image: Image;
}

export async function uploadVolumeToImage(ctx: EngineContext, volumeId: string, input: { imageName: string }): Promise<UploadAccepted> {
  const name = checkName(input.imageName, 'imageName');
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, volumeId);
    const decision = decideVolume('uploadImage', volumeId, volume.status, volume.migrationStatus);
    requireBlock(volume, 'upload to image');
    ctx.pools.require(volume.poolId, 'streams', 'reading volume bytes');
    const image = await tx.insertImage({
      id: newId(),
      name,
      namespace: volume.namespace,
      status: 'saving',
      sizeBytes: 0,
      checksum: null,
      diskFormat: 'raw',
      containerFormat: 'bare',
      sourceVolumeId: volumeId,
    });
    const updated = await tx.updateVolume(volumeId, { status: decision.next ?? 'uploading', previousStatus: volume.status }, { modifyIndex: volume.modifyIndex });
    const task = await enqueueVolumeTask(ctx, tx, volume, 'volume.upload-image', { imageId: image.id });
    return { resource: updated, image, task };
  });
}

export async function reimageVolume(ctx: EngineContext, volumeId: string, imageId: string): Promise<Accepted<Volume>> {
  return ctx.store.transact(async (tx) => {
    const volume = await mustGetVolume(tx, volumeId);
    const decision = decideVolume('reimage', volumeId, volume.status, volume.migrationStatus);
    requireBlock(volume, 'reimage');
    const image = await tx.getImage(imageId);
    if (!image) throw new InvalidInputError(`no such image: ${imageId}`, 'imageId');
    if (image.status !== 'active') throw new InvalidStateError({ type: 'image', id: imageId }, 'reimage from image', image.status);
    if (image.sizeBytes > volume.sizeBytes) throw new InvalidInputError(`image ${imageId} (${image.sizeBytes} bytes) is larger than volume ${volumeId} (${volume.sizeBytes} bytes)`, 'imageId');
    ctx.pools.require(volume.poolId, 'streams', 'writing volume bytes');
    const updated = await tx.updateVolume(volumeId, { status: decision.next ?? 'downloading', previousStatus: volume.status }, { modifyIndex: volume.modifyIndex });
    const task = await enqueueVolumeTask(ctx, tx, volume, 'volume.reimage', { imageId });
    return { resource: updated, task };
  });
}

/** Registers an image and stores its raw bytes; the image is active when the bytes are whole. */
export async function createImageFromBytes(ctx: EngineContext, input: { name: string; namespace?: string }, data: Readable): Promise<Image> {
  const name = checkName(input.name);
  const namespace = checkNamespace(input.namespace ?? 'default');
  const image = await ctx.store.transact((tx) =>
    tx.insertImage({ id: newId(), name, namespace, status: 'saving', sizeBytes: 0, checksum: null, diskFormat: 'raw', containerFormat: 'bare', sourceVolumeId: null }),
  );
  try {
    const stored = await ctx.images.write(image.id, data, MAX_IMAGE_BYTES);
    return await ctx.store.transact((tx) => tx.updateImage(image.id, { status: 'active', sizeBytes: stored.sizeBytes, checksum: stored.checksum }));
  } catch (e) {
    await ctx.images.remove(image.id);
    await ctx.store.transact((tx) => tx.deleteImage(image.id));
    throw e;
  }
}

export async function deleteImage(ctx: EngineContext, id: string): Promise<void> {
  const image = await ctx.store.getImage(id);
  if (!image) throw new NotFoundError('image', id);
  const users = await ctx.store.volumesFromSource(id, ['downloading']);
  if (users.length) throw new InvalidStateError({ type: 'image', id }, 'delete image', image.status, `volume ${users[0]?.id ?? ''} is being made from it`);
  await ctx.store.transact((tx) => tx.deleteImage(id));
  await ctx.images.remove(id);
}

export const imageHandlers: HandlerRegistry = {
  'volume.upload-image': {
    async run({ task, store, pools, images, progress }) {
      const volume = await mustGetVolume(store, task.resourceId);
      const imageId = String(task.params.imageId);
      const { stream, sizeBytes } = await pools.driver(volume.poolId).readVolume(volumeRef(volume));
      const stored = await images.write(imageId, stream, sizeBytes, (done, total) => progress((done / total) * 100));
      return async (tx) => {
        await tx.updateImage(imageId, { status: 'active', sizeBytes: stored.sizeBytes, checksum: stored.checksum });
        await finishVolume(tx, volume.id, 'uploadImage', 'success', { lastError: null });
        return { imageId, checksum: stored.checksum };
      };
    },
    async fail(tx, task, message) {
      const imageId = String(task.params.imageId);
      if (await tx.getImage(imageId)) await tx.updateImage(imageId, { status: 'killed' });
      await finishVolume(tx, task.resourceId, 'uploadImage', 'failure', { lastError: message });
    },
  },
  'volume.reimage': {
    async run({ task, store, pools, images, progress }) {
      const volume = await mustGetVolume(store, task.resourceId);
      const image = await images.read(String(task.params.imageId));
      await pools.driver(volume.poolId).writeVolume(volumeRef(volume), image.stream, volume.sizeBytes, (done, total) => progress((done / total) * 100));
      return async (tx) => {
        await finishVolume(tx, volume.id, 'reimage', 'success', { lastError: null });
      };
    },
    async fail(tx, task, message) {
      await finishVolume(tx, task.resourceId, 'reimage', 'failure', { lastError: message });
    },
  },
};
