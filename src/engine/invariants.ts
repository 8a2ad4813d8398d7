// What must hold whenever no task is at work, checked against the store and
// the pools: the promises volumed makes (no working status without a live
// task, nothing lost, nothing orphaned, usage that adds up). Tests and the
// crash test call it after every restart; an operator may too.

import { WORKING_SNAPSHOT_STATUSES, WORKING_VOLUME_STATUSES } from '../domain/states.js';
import { GiB, type Volume } from '../domain/types.js';
import type { Store } from '../store/store.js';
import { volumeRef, type PoolRegistry } from './pools.js';

export interface Violation {
  readonly rule: string;
  readonly id: string;
  readonly detail: string;
}

async function allVolumes(store: Store): Promise<Volume[]> {
  const out: Volume[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listVolumes({ limit: 500, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

export async function checkInvariants(store: Store, pools: PoolRegistry): Promise<Violation[]> {
  const violations: Violation[] = [];
  const volumes = await allVolumes(store);
  const usage = new Map<string, { volumes: number; bytes: number; snapshots: number }>();
  const count = (ns: string): { volumes: number; bytes: number; snapshots: number } => {
    let u = usage.get(ns);
    if (!u) usage.set(ns, (u = { volumes: 0, bytes: 0, snapshots: 0 }));
    return u;
  };
  const stored = new Map<string, Set<string>>();
  for (const poolId of pools.ids()) {
    const driver = pools.driver(poolId);
    if (!driver.capabilities().listVolumes) continue;
    const ids = new Set<string>();
    let token: string | undefined;
    do {
      const page = await driver.listVolumes(token, 1000);
      for (const item of page.items) ids.add(item.externalId);
      token = page.nextToken ?? undefined;
    } while (token);
    stored.set(poolId, ids);
  }
  const known = new Map<string, Set<string>>(pools.ids().map((id) => [id, new Set<string>()]));
  for (const v of volumes) {
    const u = count(v.namespace);
    u.volumes++;
    u.bytes += v.sizeBytes + (v.reservedBytes ?? 0);
    const live = await store.activeTaskFor(v.id);
    const held = (v.status === 'extending' && v.extendAwaiting) || (v.status === 'detaching' && v.attachStatus !== 'detaching');
    if (WORKING_VOLUME_STATUSES.includes(v.status) && !live && !held) violations.push({ rule: 'working status without a task', id: v.id, detail: `volume is ${v.status}` });
    if (['starting', 'migrating', 'completing'].includes(v.migrationStatus) && !live) violations.push({ rule: 'migration without a task', id: v.id, detail: `migration is ${v.migrationStatus}` });
    if (v.reservedBytes && !live) violations.push({ rule: 'reservation without a task', id: v.id, detail: `${v.reservedBytes} bytes reserved` });
    for (const a of await store.listAttachments(v.id)) {
      if ((a.status === 'attaching' || a.status === 'detaching') && !live) violations.push({ rule: 'attachment at work without a task', id: a.id, detail: `attachment of volume ${v.id} is ${a.status}` });
    }
    if (v.externalId) {
      known.get(v.poolId)?.add(v.externalId);
      const listed = stored.get(v.poolId)?.has(v.externalId) ?? false;
      if (!listed && !live && v.status !== 'error' && v.status !== 'error_deleting' && !(await pools.driver(v.poolId).volumeExists(volumeRef(v)))) {
        violations.push({ rule: 'record without storage', id: v.id, detail: `${v.externalId} is missing from pool ${v.poolId}` });
      }
    }
    for (const s of await store.snapshotsOf(v.id)) {
      count(s.namespace).snapshots++;
      if (WORKING_SNAPSHOT_STATUSES.includes(s.status) && !live && !(await store.activeTaskFor(s.id))) {
        violations.push({ rule: 'working status without a task', id: s.id, detail: `snapshot is ${s.status}` });
      }
    }
  }
  for (const [poolId, objects] of stored) {
    const mine = known.get(poolId) ?? new Set<string>();
    const creating = volumes.filter((v) => v.poolId === poolId && !v.externalId).length;
    const unknown = [...objects].filter((o) => !mine.has(o));
    // A create at work has storage before its record has an externalId.
    if (unknown.length > creating) for (const o of unknown) violations.push({ rule: 'storage without a record', id: o, detail: `in pool ${poolId}` });
  }
  for (const ns of await store.listNamespaces()) {
    const want = usage.get(ns) ?? { volumes: 0, bytes: 0, snapshots: 0 };
    const have = await store.usage(ns);
    const wantGiB = Math.ceil(want.bytes / GiB);
    if (have.volumes !== want.volumes || have.snapshots !== want.snapshots || have.gigabytes !== wantGiB) {
      violations.push({ rule: 'usage does not add up', id: ns, detail: `kept ${JSON.stringify(have)}, counted ${JSON.stringify({ volumes: want.volumes, gigabytes: wantGiB, snapshots: want.snapshots })}` });
    }
  }
  return violations;
}
