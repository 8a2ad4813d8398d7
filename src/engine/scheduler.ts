// Picks a pool for a new or moving volume: first every pool that satisfies the
// type and kind, then the one with the most room.

import { ConflictError, InvalidInputError } from '../domain/errors.js';
import { placementProblems } from '../domain/placement.js';
import type { Pool, VolumeKind, VolumeType } from '../domain/types.js';
import type { StoreReader } from '../store/store.js';

/** Thin pools may promise this many times their size, as Cinder's default max_over_subscription_ratio. */
export const OVERSUBSCRIPTION_RATIO = 20;

export interface PlacementRequest {
  readonly kind: VolumeKind;
  readonly sizeBytes: number;
  readonly type: VolumeType | undefined;
  /** A pool the caller named; it must still satisfy the type. */
  readonly poolId?: string | undefined;
  /** Candidate pools (CNS datastores): the best of these that fits. */
  readonly poolIds?: readonly string[] | undefined;
  readonly excludePoolId?: string;
}

/** Bytes a pool can still promise: free space, or for a thin pool its oversubscribed size less what it promised. */
export async function room(reader: StoreReader, pool: Pool): Promise<number> {
  if (pool.capabilities.thinProvisioning) {
    return pool.capacity.totalBytes * OVERSUBSCRIPTION_RATIO - (await reader.provisionedBytes(pool.id));
  }
  return pool.capacity.freeBytes;
}

export async function choosePool(reader: StoreReader, req: PlacementRequest): Promise<Pool> {
  const all = await reader.listPools();
  const candidates = req.poolId !== undefined ? all.filter((p) => p.id === req.poolId) : all.filter((p) => p.id !== req.excludePoolId);
  if (req.poolId !== undefined && candidates.length === 0) throw new InvalidInputError(`no such pool: ${req.poolId}`, 'pool');
  if (req.poolIds?.length) {
    const unknown = req.poolIds.filter((id) => !all.some((p) => p.id === id));
    if (unknown.length) throw new InvalidInputError(`no such pool: ${unknown.join(', ')}`, 'pools');
  }
  const eligible = req.poolIds?.length ? candidates.filter((p) => req.poolIds?.includes(p.id)) : candidates;
  const reasons: string[] = [];
  let best: { pool: Pool; room: number } | undefined;
  for (const pool of eligible) {
    const problems = placementProblems(pool, req.type, req.kind);
    const free = await room(reader, pool);
    const largest = pool.capacity.maxVolumeBytes;
    if (largest !== undefined && req.sizeBytes > largest) problems.push(`its largest volume is ${largest} bytes`);
    else if (free < req.sizeBytes) problems.push(`not enough room (${free} bytes free, ${req.sizeBytes} asked)`);
    if (problems.length) {
      reasons.push(`pool ${pool.id}: ${problems.join('; ')}`);
      continue;
    }
    if (!best || free > best.room) best = { pool, room: free };
  }
  if (!best) {
    throw new ConflictError(`no pool can hold this ${req.kind} volume of ${req.sizeBytes} bytes: ${reasons.join(' | ') || 'no pools configured'}`);
  }
  return best.pool;
}
