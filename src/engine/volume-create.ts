// Creating a volume: empty, from a snapshot, from another volume, or from an
// image. The request reserves the record (creating/downloading) and a task in
// one transaction; the task asks the driver and commits the outcome.

import { newId } from './ids.js';
import { ConflictError, InvalidInputError, InvalidStateError } from '../domain/errors.js';
import { driverParameters, typeKind, typeWantsMultiattach } from '../domain/placement.js';
import { decideVolume, type VolumeAction } from '../domain/states.js';
import type { AccessModeRequest, AclRule, ContainerCluster, CsiAttributes, Task, Volume, VolumeKind, VolumeSource, VolumeType } from '../domain/types.js';
import { checkAccessModes, checkLabels, checkDisplayName, checkNamespace, checkRecordId, checkSize } from '../domain/validation.js';
import { checkAclRules } from '../domain/nfs-access.js';
import type { CreateVolumeRequest as DriverCreate } from '../drivers/driver.js';
import type { StoreReader } from '../store/store.js';
import { enqueue, mustGetSnapshot, mustGetVolume, newVolumeRecord, finishVolume, type Accepted, type EngineContext } from './context.js';
import { snapshotRef, volumeRef } from './pools.js';
import { checkQuota } from './quotas.js';
import { choosePool } from './scheduler.js';
import type { HandlerRegistry } from './tasks/handler.js';

export interface CreateVolumeInput {
  /** The caller's id for the volume (Nomad's); a new one when absent. */
  readonly id?: string;
  readonly name: string;
  readonly sizeBytes: number;
  readonly namespace?: string;
  readonly description?: string;
  /** Volume type by name or id. */
  readonly type?: string;
  readonly pool?: string;
  /** Candidate pools (CNS datastores); the scheduler picks among them. */
  readonly pools?: readonly string[];
  readonly kind?: VolumeKind;
  readonly accessModes?: readonly AccessModeRequest[];
  readonly mountOptions?: readonly string[];
  readonly source?: VolumeSource;
  readonly labels?: Readonly<Record<string, string>>;
  readonly imageMetadata?: Readonly<Record<string, string>>;
  readonly bootable?: boolean;
  readonly readonly?: boolean;
  readonly multiattach?: boolean;
  readonly clusters?: readonly ContainerCluster[];
  readonly aclRules?: readonly AclRule[];
  readonly topology?: Readonly<Record<string, string>>;
  /** CSI-style secrets: sealed at rest, never returned. */
  readonly secrets?: Readonly<Record<string, string>>;
  readonly csi?: CsiAttributes;
}

export async function resolveType(reader: StoreReader, ref: string | undefined, field = 'type'): Promise<VolumeType | undefined> {
  if (ref === undefined) return undefined;
  const type = await reader.getType(ref);
  if (!type) throw new InvalidInputError(`no such volume type: ${ref}`, field);
  return type;
}

interface Placement {
  readonly action: VolumeAction;
  readonly poolId: string;
  readonly driverSource: DriverCreate['source'];
  readonly minSize: number;
}

/** Where the new volume goes and what it is made from; clones stay in their source's pool. */
async function place(ctx: EngineContext, input: CreateVolumeInput, kind: VolumeKind, type: VolumeType | undefined): Promise<Placement> {
  const { store, pools } = ctx;
  const source = input.source;
  if (source && 'snapshotId' in source) {
    const snap = await mustGetSnapshot(store, source.snapshotId).catch(() => {
      throw new InvalidInputError(`no such snapshot: ${source.snapshotId}`, 'source.snapshotId');
    });
    if (snap.status !== 'available') throw new InvalidStateError({ type: 'snapshot', id: snap.id }, 'create a volume from snapshot', snap.status);
    const parent = await mustGetVolume(store, snap.volumeId);
    if (parent.kind !== kind) throw new InvalidInputError(`snapshot ${snap.id} is of a ${parent.kind} volume`, 'kind');
    pools.require(parent.poolId, 'createFromSnapshot', 'creating volumes from snapshots');
    return { action: 'createFromSnapshot', poolId: parent.poolId, driverSource: { snapshot: snapshotRef(snap, parent) }, minSize: snap.sizeBytes };
  }
  if (source && 'volumeId' in source) {
    const parent = await store.getVolume(source.volumeId);
    if (!parent) throw new InvalidInputError(`no such volume: ${source.volumeId}`, 'source.volumeId');
    if (!['available', 'in-use'].includes(parent.status)) throw new InvalidStateError({ type: 'volume', id: parent.id }, 'clone volume', parent.status);
    if (parent.kind !== kind) throw new InvalidInputError(`volume ${parent.id} is a ${parent.kind} volume`, 'kind');
    pools.require(parent.poolId, 'cloneVolume', 'cloning volumes');
    return { action: 'createFromVolume', poolId: parent.poolId, driverSource: { volume: volumeRef(parent) }, minSize: parent.sizeBytes };
  }
  let minSize = 0;
  if (source && 'imageId' in source) {
    const image = await store.getImage(source.imageId);
    if (!image) throw new InvalidInputError(`no such image: ${source.imageId}`, 'source.imageId');
    if (image.status !== 'active') throw new InvalidStateError({ type: 'image', id: image.id }, 'create a volume from image', image.status);
    if (kind !== 'block') throw new InvalidInputError('only block volumes can be made from images', 'kind');
    minSize = image.sizeBytes;
  }
  const pool = await choosePool(store, { kind, sizeBytes: input.sizeBytes, type, poolId: input.pool, poolIds: input.pools });
  if (source && 'imageId' in source) pools.require(pool.id, 'streams', 'writing image data');
  return { action: source ? 'createFromImage' : 'create', poolId: pool.id, driverSource: undefined, minSize };
}

export async function createVolume(ctx: EngineContext, input: CreateVolumeInput): Promise<Accepted<Volume>> {
  const name = checkDisplayName(input.name);
  const sizeBytes = checkSize(input.sizeBytes);
  const namespace = checkNamespace(input.namespace ?? 'default');
  const labels = checkLabels(input.labels);
  const accessModes = checkAccessModes(input.accessModes);
  const type = await resolveType(ctx.store, input.type);
  const kind = input.kind ?? typeKind(type) ?? 'block';
  if (kind !== 'block' && kind !== 'file') throw new InvalidInputError('must be block or file', 'kind');
  const placement = await place(ctx, input, kind, type);
  const aclRules = checkAclRules(input.aclRules ?? []);
  if (aclRules.length && kind !== 'file') throw new InvalidInputError('access rules apply to file volumes only', 'aclRules');
  if (input.pools?.length && !input.pools.includes(placement.poolId)) {
    throw new InvalidInputError(`a copy is made in its source's pool ${placement.poolId}, which is not among the candidates`, 'pools');
  }
  if (input.pool !== undefined && input.pool !== placement.poolId) {
    throw new InvalidInputError(`a copy is made in its source's pool ${placement.poolId}; migrate it afterwards`, 'pool');
  }
  if (sizeBytes < placement.minSize) throw new InvalidInputError(`must be at least the source's size, ${placement.minSize} bytes`, 'sizeBytes');
  const id = input.id === undefined ? newId() : checkRecordId(input.id);
  if (input.id !== undefined) {
    // A chosen id may name storage a deregistered volume left behind: never build over it, nor hand it out as new.
    await checkIdFree(ctx.store, id);
    if (await ctx.pools.driver(placement.poolId).volumeExists(volumeRef({ id, externalId: null, kind }))) {
      throw new ConflictError(`pool ${placement.poolId} already holds a storage object for volume id ${id} that no volume owns; register it, or choose another id`, { type: 'volume', id });
    }
  }
  const decision = decideVolume(placement.action, id, null);
  return ctx.store.transact(async (tx) => {
    if (input.id !== undefined) await checkIdFree(tx, id);
    await checkQuota(tx, namespace, { volumes: 1, bytes: sizeBytes }, ctx.quotaDefaults);
    const volume = await tx.insertVolume(
      newVolumeRecord(
        { id, name, namespace, sizeBytes, status: decision.next ?? 'creating', poolId: placement.poolId, kind },
        {
          description: input.description ?? '',
          typeId: type?.id ?? null,
          accessModes,
          mountOptions: [...(input.mountOptions ?? [])],
          bootable: input.bootable ?? false,
          readonly: input.readonly ?? false,
          multiattach: input.multiattach ?? typeWantsMultiattach(type),
          labels,
          imageMetadata: { ...(input.imageMetadata ?? {}) },
          clusters: [...(input.clusters ?? [])],
          aclRules,
          source: input.source ?? null,
          topology: { ...(input.topology ?? {}) },
          ...(input.csi ? { csi: input.csi } : {}),
        },
      ),
    );
    if (input.secrets && Object.keys(input.secrets).length) await tx.setVolumeSecrets(id, ctx.secrets.seal(checkLabels(input.secrets, 'secrets')));
    // The task changes the new volume and reads its source: it holds both, so
    // neither a force-delete of the new one nor work on the source runs beside it.
    const source = placement.driverSource;
    const sourceVolume = source && 'snapshot' in source ? source.snapshot.volume.id : source && 'volume' in source ? source.volume.id : null;
    const task = await enqueue(ctx, tx, {
      operation: 'volume.create',
      namespace,
      lockKeys: sourceVolume ? [id, sourceVolume] : [id],
      freshLockKeys: input.id === undefined && !sourceVolume,
      resourceType: 'volume',
      resourceId: id,
      params: { source: placement.driverSource ?? null },
    });
    return { resource: volume, task };
  });
}

/** A caller-chosen id must not name a volume already (in any namespace). */
export async function checkIdFree(reader: StoreReader, id: string): Promise<void> {
  const taken = await reader.getVolume(id);
  if (taken) throw new ConflictError(`volume ${id} already exists (namespace ${taken.namespace}, status ${taken.status})`, { type: 'volume', id });
}

/** The create actions, which share one handler (their working statuses differ). */
const CREATE_ACTIONS: readonly VolumeAction[] = ['create', 'createFromSnapshot', 'createFromVolume', 'createFromImage'];

export const createHandlers: HandlerRegistry = {
  'volume.create': {
    async run({ task, store, pools, images, progress }) {
      const volume = await mustGetVolume(store, task.resourceId);
      const driver = pools.driver(volume.poolId);
      const source = task.params.source as DriverCreate['source'] | null;
      const type = volume.typeId ? await store.getType(volume.typeId) : undefined;
      // The CO's own parameters (Nomad's), less the two volumed reads itself.
      const { kind: _kind, type: _type, ...coParameters } = volume.csi?.parameters ?? {};
      const parameters = { ...driverParameters(type), ...coParameters };
      const created = await driver.createVolume({
        id: volume.id,
        sizeBytes: volume.sizeBytes,
        kind: volume.kind,
        ...(source ? { source } : {}),
        ...(Object.keys(parameters).length ? { parameters } : {}),
        ...(Object.keys(volume.topology).length ? { topology: volume.topology } : {}),
      });
      if (volume.source && 'imageId' in volume.source) {
        const image = await images.read(volume.source.imageId);
        await driver.writeVolume({ ...volumeRef(volume), externalId: created.externalId }, image.stream, volume.sizeBytes, (done, total) => progress((done / total) * 100));
      }
      return async (tx) => {
        await finishVolume(tx, volume.id, CREATE_ACTIONS, 'success', { externalId: created.externalId, sizeBytes: Math.max(volume.sizeBytes, created.sizeBytes), lastError: null });
        return { externalId: created.externalId };
      };
    },
    async fail(tx, task: Task, message) {
      await finishVolume(tx, task.resourceId, CREATE_ACTIONS, 'failure', { lastError: message });
    },
  },
};
