// A record and its table row: the JSON document is the whole value; the
// columns beside it are what filters, sorts and indexes need.

import { sourceIdOf, type Snapshot, type Task, type Volume } from '../../domain/types.js';
import type { Database } from './schema.js';

export function parseDoc<T>(row: { doc: string } | undefined): T | undefined {
  return row ? (JSON.parse(row.doc) as T) : undefined;
}

/** Tasks written before lock keys became a list carry one `lockKey`. */
export function parseTask(doc: string): Task {
  const t = JSON.parse(doc) as Task & { lockKey?: string | null };
  if (t.lockKeys) return t;
  const { lockKey, ...rest } = t;
  return { ...rest, lockKeys: lockKey ? [lockKey] : [] };
}

export const ms = (iso: string): number => Date.parse(iso);

export function volumeRow(v: Volume): Omit<Database['volumes'], 'secrets'> {
  return { ...volumeColumns(v), doc: JSON.stringify(v) };
}

/** The columns beside the document (what an update compares, without serializing the record twice). */
export function volumeColumns(v: Volume): Omit<Database['volumes'], 'secrets' | 'doc'> {
  return {
    id: v.id,
    name: v.name,
    namespace: v.namespace,
    size_bytes: v.sizeBytes,
    status: v.status,
    pool_id: v.poolId,
    type_id: v.typeId,
    external_id: v.externalId,
    migration_status: v.migrationStatus,
    source_id: sourceIdOf(v.source),
    bootable: v.bootable ? 1 : 0,
    create_index: v.createIndex,
    modify_index: v.modifyIndex,
    created_at: ms(v.createdAt),
    updated_at: ms(v.updatedAt),
  };
}

export function snapshotRow(s: Snapshot): Omit<Database['snapshots'], 'secrets'> {
  return { ...snapshotColumns(s), doc: JSON.stringify(s) };
}

export function snapshotColumns(s: Snapshot): Omit<Database['snapshots'], 'secrets' | 'doc'> {
  return {
    id: s.id,
    volume_id: s.volumeId,
    external_id: s.externalId,
    namespace: s.namespace,
    status: s.status,
    create_index: s.createIndex,
    modify_index: s.modifyIndex,
    created_at: ms(s.createdAt),
  };
}

export function taskRow(t: Task, createIndex: number): Database['tasks'] {
  return { ...taskColumns(t, createIndex), doc: JSON.stringify(t) };
}

export function taskColumns(t: Task, createIndex: number): Omit<Database['tasks'], 'doc'> {
  return {
    id: t.id,
    namespace: t.namespace,
    state: t.state,
    lock_key: t.lockKeys[0] ?? null,
    resource_id: t.resourceId,
    create_index: createIndex,
    not_before: ms(t.notBefore),
    created_at: ms(t.createdAt),
  };
}

/**
 * The columns whose values differ, and the new document: an UPDATE that
 * names an indexed column rewrites that index's entry, so naming only what
 * changed keeps a status change from touching every index of the table.
 */
export function changedColumns<T extends object>(before: T, after: T, doc: string): Partial<T> & { doc: string } {
  const out: Partial<T> = {};
  for (const key of Object.keys(after) as (keyof T)[]) if (after[key] !== before[key]) out[key] = after[key];
  return { ...out, doc };
}
