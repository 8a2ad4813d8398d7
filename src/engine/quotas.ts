// Per-namespace quotas, checked inside the transaction that reserves the
// status, so that two racing creates cannot both slip under the limit.

import { QuotaExceededError } from '../domain/errors.js';
import type { Quota } from '../domain/types.js';
import { GiB } from '../domain/types.js';
import type { StoreReader } from '../store/store.js';

export const UNLIMITED: Omit<Quota, 'namespace'> = { volumes: -1, gigabytes: -1, snapshots: -1 };

export interface QuotaDelta {
  readonly volumes?: number;
  readonly bytes?: number;
  readonly snapshots?: number;
}

export async function checkQuota(
  tx: StoreReader,
  namespace: string,
  delta: QuotaDelta,
  defaults: Omit<Quota, 'namespace'> = UNLIMITED,
): Promise<void> {
  const quota = (await tx.getQuota(namespace)) ?? { namespace, ...defaults };
  const limited = (delta.volumes && quota.volumes >= 0) || (delta.bytes && quota.gigabytes >= 0) || (delta.snapshots && quota.snapshots >= 0);
  // Nothing asked for is limited: no need to read the usage.
  if (!limited) return;
  const usage = await tx.usage(namespace);
  if (delta.volumes && quota.volumes >= 0 && usage.volumes + delta.volumes > quota.volumes) {
    throw new QuotaExceededError(namespace, 'volumes', quota.volumes, delta.volumes, usage.volumes);
  }
  // Bytes are compared as bytes: 24.5 GiB in use and 0.5 GiB more fit a 25 GiB quota.
  if (delta.bytes && quota.gigabytes >= 0 && usage.bytes + delta.bytes > quota.gigabytes * GiB) {
    const gib = (bytes: number): number => Math.round((bytes / GiB) * 1000) / 1000;
    throw new QuotaExceededError(namespace, 'gigabytes', quota.gigabytes, gib(delta.bytes), gib(usage.bytes));
  }
  if (delta.snapshots && quota.snapshots >= 0 && usage.snapshots + delta.snapshots > quota.snapshots) {
    throw new QuotaExceededError(namespace, 'snapshots', quota.snapshots, delta.snapshots, usage.snapshots);
  }
}
