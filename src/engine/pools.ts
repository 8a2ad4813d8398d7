// The pools this process serves: each a driver instance, recorded in the store
// with its capabilities and capacity so that every surface can show them.

import { NotFoundError, UnsupportedError } from '../domain/errors.js';
import type { DriverCapabilitySet, Labels, Pool } from '../domain/types.js';
import type { Driver, VolumeRef } from '../drivers/driver.js';
import type { Store } from '../store/store.js';
import type { Snapshot, Volume } from '../domain/types.js';
import type { SnapshotRef } from '../drivers/driver.js';

export interface PoolDefinition {
  readonly id: string;
  readonly driver: Driver;
  readonly config?: Readonly<Record<string, unknown>>;
  readonly topology?: Labels;
}

/** How often pool capacity is measured again. */
const REFRESH_MS = 30_000;

export class PoolRegistry {
  private readonly pools = new Map<string, PoolDefinition>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly store: Store) {}

  /** Adds a pool and records it (capabilities, capacity) in the store. */
  async register(def: PoolDefinition): Promise<Pool> {
    this.pools.set(def.id, def);
    return this.refresh(def.id);
  }

  /** Asks the driver for capabilities and capacity; writes the pool only if something changed. */
  async refresh(poolId: string): Promise<Pool> {
    const def = this.definition(poolId);
    const pool: Pool = {
      id: def.id,
      driver: def.driver.kind,
      config: def.config ?? {},
      capabilities: def.driver.capabilities(),
      capacity: await def.driver.capacity(),
      topology: def.topology ?? {},
    };
    const stored = await this.store.getPool(poolId);
    if (stored && JSON.stringify(stored) === JSON.stringify(pool)) return stored;
    return this.store.transact((tx) => tx.upsertPool(pool));
  }

  /** Capacity is measured on a timer (reads never write); a change is one pool event. */
  startRefreshing(intervalMs = REFRESH_MS, onError?: (poolId: string, error: unknown) => void): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      for (const id of this.ids()) this.refresh(id).catch((e: unknown) => onError?.(id, e));
    }, intervalMs);
    this.timer.unref();
  }

  stopRefreshing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  ids(): string[] {
    return [...this.pools.keys()];
  }

  private definition(poolId: string): PoolDefinition {
    const def = this.pools.get(poolId);
    if (!def) throw new NotFoundError('pool', poolId);
    return def;
  }

  driver(poolId: string): Driver {
    return this.definition(poolId).driver;
  }

  capabilities(poolId: string): DriverCapabilitySet {
    return this.driver(poolId).capabilities();
  }

  /** Throws a clear Unsupported error naming the pool when it lacks a capability. */
  require(poolId: string, capability: keyof Omit<DriverCapabilitySet, 'kinds'>, what: string): Driver {
    const driver = this.driver(poolId);
    if (!driver.capabilities()[capability]) {
      throw new UnsupportedError(`pool ${poolId} (driver ${driver.kind}) does not support ${what}`, { type: 'pool', id: poolId });
    }
    return driver;
  }
}

export function volumeRef(v: Pick<Volume, 'id' | 'externalId' | 'kind'>): VolumeRef {
  return { id: v.id, externalId: v.externalId, kind: v.kind };
}

export function snapshotRef(s: Pick<Snapshot, 'id' | 'externalId'>, volume: Pick<Volume, 'id' | 'externalId' | 'kind'>): SnapshotRef {
  return { id: s.id, externalId: s.externalId, volume: volumeRef(volume) };
}
