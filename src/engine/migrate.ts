// Moving a volume between pools (migrate, and retype when the new type needs
// another pool). The bytes are copied with progress, the copy's checksum is
// verified, the record switches pools, and only then is the source removed.
// Each step is checkpointed, so a task resumed after a crash continues.

import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { BackendError, InvalidInputError, InvalidStateError, UnsupportedError } from '../domain/errors.js';
import { driverParameters, isCompliant } from '../domain/placement.js';
import { decideVolume, MIGRATION_STEPS, migrationFailure } from '../domain/states.js';
import type { Volume } from '../domain/types.js';
import type { Driver, VolumeRef } from '../drivers/driver.js';
import type { StoreTx } from '../store/store.js';
import { enqueueVolumeTask, mustGetVolume, finishVolume, type Accepted, type EngineContext } from './context.js';
import { volumeRef } from './pools.js';
import { choosePool } from './scheduler.js';
import type { HandlerRegistry, TaskContext } from './tasks/handler.js';
import { resolveType } from './volume-create.js';

export interface MigrateInput {
  /** Target pool; the scheduler picks one when absent. */
  readonly pool?: string;
  /** A new type (CNS: relocate with a new policy): the target must satisfy it, and the volume takes it when it switches pools. */
  readonly type?: string;
}

async function pickTarget(ctx: EngineContext, volume: Volume, poolId: string | undefined, typeRef: string | null): Promise<string> {
  const type = typeRef ? await resolveType(ctx.store, typeRef) : undefined;
  if (poolId === volume.poolId) throw new InvalidInputError(`volume ${volume.id} is already in pool ${poolId}`, 'pool');
  const pool = await choosePool(ctx.store, { kind: volume.kind, sizeBytes: volume.sizeBytes, type, poolId, excludePoolId: volume.poolId });
  return pool.id;
}

function checkMovable(ctx: EngineContext, volume: Volume, target: string, snapshots: number): void {
  const ref = { type: 'volume', id: volume.id };
  if (volume.status === 'in-use') throw new UnsupportedError(`volume ${volume.id} is attached; moving attached volumes between pools is not supported`, ref);
  if (volume.kind !== 'block') throw new UnsupportedError(`volume ${volume.id} is a file volume; only block volumes move between pools`, ref);
  if (snapshots) throw new InvalidStateError(ref, 'migrate volume', volume.status, `it has ${snapshots} snapshot(s)`);
  ctx.pools.require(volume.poolId, 'streams', 'reading volume bytes');
  ctx.pools.require(target, 'streams', 'writing volume bytes');
}

export async function migrateVolume(ctx: EngineContext, id: string, input: MigrateInput = {}): Promise<Accepted<Volume>> {
  const volume = await mustGetVolume(ctx.store, id);
  const newType = await resolveType(ctx.store, input.type);
  const target = await pickTarget(ctx, volume, input.pool, newType?.id ?? volume.typeId);
  return ctx.store.transact(async (tx) => {
    const current = await mustGetVolume(tx, id);
    decideVolume('migrate', id, current.status, current.migrationStatus);
    checkMovable(ctx, current, target, await tx.countSnapshots(id));
    const updated = await tx.updateVolume(id, { migrationStatus: MIGRATION_STEPS.start.to, lastError: null }, { modifyIndex: current.modifyIndex, migrationStatus: MIGRATION_STEPS.start.from });
    const task = await enqueueVolumeTask(ctx, tx, current, 'volume.migrate', { targetPool: target, ...(newType ? { typeId: newType.id } : {}) });
    return { resource: updated, task };
  });
}

export interface RetypeInput {
  readonly type: string;
  /** 'on-demand' moves the volume when its pool does not satisfy the new type. */
  readonly migrationPolicy?: 'never' | 'on-demand';
  /** With 'never': take the type even where the pool does not satisfy it; the volume is then non-compliant (CNS's policy reconfigure). */
  readonly allowNonCompliant?: boolean;
}

export async function retypeVolume(ctx: EngineContext, id: string, input: RetypeInput): Promise<Accepted<Volume>> {
  const type = await resolveType(ctx.store, input.type);
  if (!type) throw new InvalidInputError('is required', 'type');
  const volume = await mustGetVolume(ctx.store, id);
  const pool = await ctx.store.getPool(volume.poolId);
  const needsMove = !pool || !isCompliant(pool, type, volume.kind);
  if (needsMove && input.migrationPolicy !== 'on-demand' && !input.allowNonCompliant) {
    throw new InvalidInputError(`pool ${volume.poolId} does not satisfy type ${type.name}; retype with migrationPolicy on-demand to move the volume`, 'migrationPolicy');
  }
  const target = needsMove && input.migrationPolicy === 'on-demand' ? await pickTarget(ctx, volume, undefined, type.id) : null;
  return ctx.store.transact(async (tx) => {
    const current = await mustGetVolume(tx, id);
    const decision = decideVolume('retype', id, current.status, current.migrationStatus);
    if (target) checkMovable(ctx, current, target, await tx.countSnapshots(id));
    // A retype that moves the volume is a migration too, and goes through its steps.
    const move = target ? { migrationStatus: MIGRATION_STEPS.start.to } : {};
    const updated = await tx.updateVolume(id, { status: decision.next ?? 'retyping', previousStatus: current.status, ...move }, { modifyIndex: current.modifyIndex, ...(target ? { migrationStatus: MIGRATION_STEPS.start.from } : {}) });
    const task = await enqueueVolumeTask(ctx, tx, current, 'volume.retype', { typeId: type.id, targetPool: target });
    return { resource: updated, task };
  });
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Copies the volume to `targetPool` and switches the record over. Returns the
 * source to remove. Progress: 0–90 copying, 90–100 verifying.
 */
async function moveBytes(ctx: TaskContext, volume: Volume, targetPool: string, onSwitch: (tx: StoreTx) => Promise<void>): Promise<{ source: VolumeRef; sourceDriver: Driver }> {
  const { store, pools, task } = ctx;
  const sourceDriver = pools.driver(volume.poolId);
  const targetDriver = pools.driver(targetPool);
  const step = (await store.getTask(task.id))?.checkpoint.step;
  if (step === 'cleanup') {
    // The record already points at the target; the source is what remains.
    const cp = (await store.getTask(task.id))?.checkpoint ?? {};
    return { source: { id: volume.id, externalId: String(cp.sourceExternalId), kind: volume.kind }, sourceDriver: pools.driver(String(cp.sourcePool)) };
  }
  await ctx.checkpoint({ step: 'copy' }, (tx) => tx.updateVolume(volume.id, { migrationStatus: MIGRATION_STEPS.copy.to }, { migrationStatus: MIGRATION_STEPS.copy.from }).then(() => undefined));
  const created = await targetDriver.createVolume({ id: volume.id, sizeBytes: volume.sizeBytes, kind: volume.kind });
  const target: VolumeRef = { id: volume.id, externalId: created.externalId, kind: volume.kind };
  let sourceSum: string;
  try {
    sourceSum = await copyVerified(ctx, sourceDriver, volumeRef(volume), targetDriver, target);
  } catch (e) {
    // Nothing points at the copy yet: remove it so a failed move leaves no orphan.
    await targetDriver.deleteVolume(target).catch(() => undefined);
    throw e;
  }
  ctx.progress(95);
  const source = volumeRef(volume);
  await ctx.checkpoint({ step: 'cleanup', sourcePool: volume.poolId, sourceExternalId: volume.externalId, checksum: sourceSum }, async (tx) => {
    await tx.updateVolume(volume.id, { poolId: targetPool, externalId: created.externalId, migrationStatus: MIGRATION_STEPS.switch.to }, { migrationStatus: MIGRATION_STEPS.switch.from });
    await onSwitch(tx);
  });
  return { source, sourceDriver };
}

/** Streams source → target with progress, then reads the target back; returns the checksum. */
async function copyVerified(ctx: TaskContext, sourceDriver: Driver, source: VolumeRef, targetDriver: Driver, target: VolumeRef): Promise<string> {
  const { stream, sizeBytes } = await sourceDriver.readVolume(source);
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  stream.on('error', (e) => hashing.destroy(e));
  await targetDriver.writeVolume(target, stream.pipe(hashing), sizeBytes, (done, total) => ctx.progress((done / total) * 90));
  const sourceSum = hash.digest('hex');
  const targetSum = await sha256Of((await targetDriver.readVolume(target)).stream);
  if (sourceSum !== targetSum) {
    throw new BackendError(`checksum of the copy of volume ${source.id} does not match (${targetSum} != ${sourceSum})`, { transient: true });
  }
  return sourceSum;
}

export const migrateHandlers: HandlerRegistry = {
  'volume.migrate': {
    async run(ctx) {
      const volume = await mustGetVolume(ctx.store, ctx.task.resourceId);
      const targetPool = String(ctx.task.params.targetPool);
      const typeId = ctx.task.params.typeId;
      const { source, sourceDriver } = await moveBytes(ctx, volume, targetPool, (tx) => (typeof typeId === 'string' ? tx.updateVolume(volume.id, { typeId }).then(() => undefined) : Promise.resolve()));
      await sourceDriver.deleteVolume(source);
      return async (tx) => {
        await tx.updateVolume(volume.id, { migrationStatus: MIGRATION_STEPS.finish.to }, { migrationStatus: MIGRATION_STEPS.finish.from });
        return { pool: targetPool };
      };
    },
    async fail(tx, task, message) {
      const volume = await tx.getVolume(task.resourceId);
      if (!volume) return;
      // After the switch the volume lives in its new pool; only the old copy's removal failed.
      const switched = task.checkpoint.step === 'cleanup';
      await tx.updateVolume(volume.id, { migrationStatus: migrationFailure(switched), lastError: message });
    },
  },
  'volume.retype': {
    async run(ctx) {
      const volume = await mustGetVolume(ctx.store, ctx.task.resourceId);
      const typeId = String(ctx.task.params.typeId);
      const targetPool = ctx.task.params.targetPool;
      if (typeof targetPool === 'string') {
        const { source, sourceDriver } = await moveBytes(ctx, volume, targetPool, (tx) => tx.updateVolume(volume.id, { typeId }).then(() => undefined));
        await sourceDriver.deleteVolume(source);
      } else {
        // Staying put: storage that can change a volume in place takes the new type's parameters.
        const driver = ctx.pools.driver(volume.poolId);
        const parameters = driverParameters(await ctx.store.getType(typeId));
        if (driver.modifyVolume && Object.keys(parameters).length) await driver.modifyVolume(volumeRef(volume), parameters);
      }
      return async (tx) => {
        const current = await mustGetVolume(tx, volume.id);
        await tx.updateVolume(
          volume.id,
          { typeId, status: current.previousStatus ?? 'available', migrationStatus: typeof targetPool === 'string' ? 'success' : current.migrationStatus, lastError: null },
          { status: ['retyping'] },
        );
        return { typeId, pool: current.poolId };
      };
    },
    async fail(tx, task, message) {
      const volume = await tx.getVolume(task.resourceId);
      if (!volume || volume.status !== 'retyping') return;
      const switched = task.checkpoint.step === 'cleanup';
      await finishVolume(tx, volume.id, 'retype', 'failure', {
        lastError: message,
        ...(task.params.targetPool ? { migrationStatus: migrationFailure(switched) } : {}),
      });
    },
  },
};

