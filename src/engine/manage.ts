// Adopting storage volumed did not make (Cinder manage existing), and listing
// what a pool holds that could be adopted.

import { newId } from './ids.js';
import { AlreadyManagedError, InvalidInputError } from '../domain/errors.js';
import { decideVolume } from '../domain/states.js';
import { placementProblems } from '../domain/placement.js';
import { GiB, roundUpToGiB, type AccessModeRequest, type CsiAttributes, type ManageableObject, type ContainerCluster, type Quota, type Task, type Volume, type VolumeKind } from '../domain/types.js';
import { checkAccessModes, checkLabels, checkDisplayName, checkName, checkNamespace, checkRecordId } from '../domain/validation.js';
import type { Driver, ManageableCandidate } from '../drivers/driver.js';
import type { StoreReader, StoreTx } from '../store/store.js';
import { enqueue, mustGetVolume, newVolumeRecord, finishVolume, type Accepted, type EngineContext } from './context.js';
import { volumeRef } from './pools.js';
import { checkQuota } from './quotas.js';
import type { HandlerRegistry } from './tasks/handler.js';
import { checkIdFree, resolveType } from './volume-create.js';

export interface ManageVolumeInput {
  /** The caller's id for the volume (Nomad's); a new one when absent. */
  readonly id?: string;
  readonly pool: string;
  readonly reference: Readonly<Record<string, string>>;
  readonly name?: string;
  readonly namespace?: string;
  readonly description?: string;
  readonly type?: string;
  readonly kind?: VolumeKind;
  readonly labels?: Readonly<Record<string, string>>;
  readonly bootable?: boolean;
  readonly accessModes?: readonly AccessModeRequest[];
  readonly mountOptions?: readonly string[];
  readonly topology?: Readonly<Record<string, string>>;
  /** CSI-style secrets: sealed at rest, never returned. */
  readonly secrets?: Readonly<Record<string, string>>;
  readonly csi?: CsiAttributes;
  readonly clusters?: readonly ContainerCluster[];
  /** Cinder sizes are whole GiB: grow the object to the next GiB when adopting. */
  readonly roundToGiB?: boolean;
  /**
   * Cinder's way: write the volume (managing, size 0) at once and check the
   * reference, the type and the quota in the task, so a bad reference ends
   * in error_managing with the reason, instead of refusing the request.
   */
  readonly checkLater?: boolean;
}

export async function manageVolume(ctx: EngineContext, input: ManageVolumeInput): Promise<Accepted<Volume>> {
  if (typeof input.reference !== 'object' || input.reference === null) throw new InvalidInputError('must be an object', 'reference');
  const namespace = checkNamespace(input.namespace ?? 'default');
  const labels = checkLabels(input.labels);
  const kind = input.kind ?? 'block';
  const type = await resolveType(ctx.store, input.type);
  const pool = await ctx.store.getPool(input.pool);
  if (!pool) throw new InvalidInputError(`no such pool: ${input.pool}`, 'pool');
  const driver = ctx.pools.require(pool.id, 'manage', 'manage existing');
  const id = input.id === undefined ? newId() : checkRecordId(input.id);
  const accessModes = checkAccessModes(input.accessModes);
  if (input.id !== undefined) await checkIdFree(ctx.store, id);
  if (input.checkLater) return manageLater(ctx, id, input, { namespace, labels, kind, typeId: type?.id ?? null, poolId: pool.id });
  // The driver checks the reference (inside the pool, no links, right kind) before anything is written.
  const found = await driver.manageExisting(id, input.reference, kind);
  const sizeBytes = input.roundToGiB ? Math.max(1, roundUpToGiB(found.sizeBytes)) * GiB : Math.max(found.sizeBytes, 1);
  const name = checkName(input.name ?? found.externalId);
  const decision = decideVolume('manage', id, null);
  return ctx.store.transact(async (tx) => {
    const managed = (await tx.findVolumesByExternalId(pool.id, [found.externalId])).get(found.externalId);
    if (managed) throw new AlreadyManagedError(found.externalId, pool.id, managed);
    if (input.id !== undefined) await checkIdFree(tx, id);
    await checkQuota(tx, namespace, { volumes: 1, bytes: sizeBytes }, ctx.quotaDefaults);
    const volume = await tx.insertVolume(
      newVolumeRecord(
        { id, name, namespace, sizeBytes, status: decision.next ?? 'managing', poolId: pool.id, kind },
        {
          description: input.description ?? '',
          typeId: type?.id ?? null,
          externalId: found.externalId,
          bootable: input.bootable ?? false,
          labels,
          accessModes,
          mountOptions: [...(input.mountOptions ?? [])],
          topology: { ...(input.topology ?? {}) },
          clusters: [...(input.clusters ?? [])],
          ...(input.csi ? { csi: input.csi } : {}),
        },
      ),
    );
    if (input.secrets && Object.keys(input.secrets).length) await tx.setVolumeSecrets(id, ctx.secrets.seal(checkLabels(input.secrets, 'secrets')));
    const task = await enqueue(ctx, tx, { operation: 'volume.manage', namespace, lockKeys: [id], resourceType: 'volume', resourceId: id, params: { reference: input.reference } });
    return { resource: volume, task };
  });
}

async function manageLater(
  ctx: EngineContext,
  id: string,
  input: ManageVolumeInput,
  fields: { namespace: string; labels: Record<string, string>; kind: VolumeKind; typeId: string | null; poolId: string },
): Promise<Accepted<Volume>> {
  const name = input.name === undefined ? '' : checkDisplayName(input.name);
  const decision = decideVolume('manage', id, null);
  return ctx.store.transact(async (tx) => {
    await checkQuota(tx, fields.namespace, { volumes: 1 }, ctx.quotaDefaults);
    const volume = await tx.insertVolume(
      newVolumeRecord(
        { id, name, namespace: fields.namespace, sizeBytes: 0, status: decision.next ?? 'managing', poolId: fields.poolId, kind: fields.kind },
        { description: input.description ?? '', typeId: fields.typeId, bootable: input.bootable ?? false, labels: fields.labels },
      ),
    );
    const params = { reference: input.reference, checkLater: true, roundToGiB: input.roundToGiB ?? false, quotaDefaults: ctx.quotaDefaults };
    const task = await enqueue(ctx, tx, { operation: 'volume.manage', namespace: fields.namespace, lockKeys: [id], resourceType: 'volume', resourceId: id, params });
    return { resource: volume, task };
  });
}

/** The checks a deferred manage makes in its task: the type must fit the pool. */
async function checkTypeFits(store: StoreReader, volume: Volume): Promise<void> {
  if (!volume.typeId) return;
  const [type, pool] = await Promise.all([store.getType(volume.typeId), store.getPool(volume.poolId)]);
  if (!type || !pool) return;
  const problems = placementProblems(pool, type, volume.kind);
  if (problems.length) throw new InvalidInputError(`volume type ${type.name} does not match pool ${pool.id}: ${problems.join('; ')}`, 'type');
}

function toManageable(c: ManageableCandidate, managedId: string | undefined): ManageableObject {
  const reason = managedId ? 'already managed' : c.reasonNotSafe;
  return {
    reference: c.reference,
    sizeBytes: c.sizeBytes,
    sizeGiB: roundUpToGiB(c.sizeBytes),
    safeToManage: reason === null,
    reasonNotSafe: reason,
    managedId: managedId ?? null,
    extraInfo: { kind: c.kind, externalId: c.externalId },
    ...(c.sourceVolumeId !== undefined ? { sourceReference: { volumeId: c.sourceVolumeId } } : {}),
  };
}

export async function listManageableVolumes(ctx: EngineContext, poolId: string): Promise<ManageableObject[]> {
  const driver = ctx.pools.require(poolId, 'manage', 'manage existing');
  const candidates = await driver.listManageableVolumes();
  const managed = await ctx.store.findVolumesByExternalId(poolId, candidates.map((c) => c.externalId));
  return candidates.map((c) => toManageable(c, managed.get(c.externalId)));
}

export async function listManageableSnapshots(ctx: EngineContext, poolId: string): Promise<ManageableObject[]> {
  const driver = ctx.pools.require(poolId, 'manage', 'manage existing snapshots');
  const candidates = await driver.listManageableSnapshots();
  const managed = await ctx.store.findSnapshotsByExternalId(candidates.map((c) => c.externalId));
  return candidates.map((c) => toManageable(c, managed.get(c.externalId)));
}

export const manageHandlers: HandlerRegistry = {
  'volume.manage': {
    async run({ task, store, pools }) {
      const volume = await mustGetVolume(store, task.resourceId);
      const driver = pools.driver(volume.poolId);
      if (task.params.checkLater === true) return manageChecked({ task, store, driver, volume });
      const found = await driver.manageExisting(volume.id, task.params.reference as Record<string, string>, volume.kind);
      // Adopted at a rounded size: grow the object to match (extend never shrinks, keeps bytes).
      if (volume.kind === 'block' && found.sizeBytes < volume.sizeBytes) await driver.extendVolume({ ...volumeRef(volume), externalId: found.externalId }, volume.sizeBytes);
      return async (tx) => {
        await finishVolume(tx, volume.id, 'manage', 'success', { externalId: found.externalId, lastError: null });
        return { externalId: found.externalId, sizeBytes: volume.sizeBytes };
      };
    },
    async fail(tx, task, message) {
      await finishVolume(tx, task.resourceId, 'manage', 'failure', { lastError: message });
    },
  },
};

/** The task of a deferred manage: every check the request skipped, then the same adoption. */
async function manageChecked({ task, store, driver, volume }: { task: Task; store: StoreReader; driver: Driver; volume: Volume }): Promise<(tx: StoreTx) => Promise<Record<string, unknown>>> {
  await checkTypeFits(store, volume);
  const found = await driver.manageExisting(volume.id, task.params.reference as Record<string, string>, volume.kind);
  const sizeBytes = task.params.roundToGiB === true ? Math.max(1, roundUpToGiB(found.sizeBytes)) * GiB : Math.max(found.sizeBytes, 1);
  const quotaDefaults = (task.params.quotaDefaults ?? undefined) as Omit<Quota, 'namespace'> | undefined;
  const check = async (reader: StoreReader): Promise<void> => {
    const managed = (await reader.findVolumesByExternalId(volume.poolId, [found.externalId])).get(found.externalId);
    if (managed && managed !== volume.id) throw new AlreadyManagedError(found.externalId, volume.poolId, managed);
    await checkQuota(reader, volume.namespace, { bytes: sizeBytes }, quotaDefaults);
  };
  await check(store);
  // Grown to the rounded size (extend keeps bytes, never shrinks), outside the transaction.
  if (volume.kind === 'block' && found.sizeBytes < sizeBytes) await driver.extendVolume({ ...volumeRef(volume), externalId: found.externalId }, sizeBytes);
  return async (tx) => {
    // Again where it counts: a racing manage or create may have come first.
    await check(tx);
    await finishVolume(tx, volume.id, 'manage', 'success', { externalId: found.externalId, sizeBytes, lastError: null, ...(volume.name === '' ? { name: found.externalId } : {}) });
    return { externalId: found.externalId, sizeBytes };
  };
}
