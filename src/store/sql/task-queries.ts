// Reads about tasks and their locks: what the runner may claim (first come,
// first served per lock key), who holds a key, what works on a record, and
// what a restart finds with no task working on it.

import { sql, type Kysely } from 'kysely';
import type { Task } from '../../domain/types.js';
import type { ListPage, TaskQuery } from '../store.js';
import { pageByCreated } from './cursor.js';
import { ms, parseTask } from './rows.js';
import type { Database } from './schema.js';
import { Template } from './templates.js';

const LOCK_HOLDER = new Template(['lock_key'] as const, (db, p) => db.selectFrom('task_locks').select('task_id').where('lock_key', '=', p.lock_key).limit(1));
const ANY_QUEUED = new Template([] as const, (db) => db.selectFrom('tasks').select('id').where('state', '=', 'queued').limit(1));
const LIVE: readonly Task['state'][] = ['queued', 'running'];

export function listTasks(db: Kysely<Database>, q: TaskQuery): Promise<ListPage<Task>> {
  let query = db.selectFrom('tasks').select(['doc', 'id', 'created_at']);
  if (q.namespace !== undefined) query = query.where('namespace', '=', q.namespace);
  if (q.namespaces !== undefined) query = q.namespaces.length ? query.where('namespace', 'in', [...q.namespaces]) : query.where(sql<boolean>`1 = 0`);
  if (q.state?.length) query = query.where('state', 'in', [...q.state]);
  if (q.resourceId !== undefined) query = query.where('resource_id', '=', q.resourceId);
  return pageByCreated<Task, 'tasks'>(query, q.limit, q.cursor, parseTask);
}

/** Claimable: due, and no task that shares one of its keys is running or was queued before it. */
const CLAIMABLE = new Template(['now', 'limit'] as const, (db, p) =>
  db
    .selectFrom('tasks as t')
    .select('t.doc')
    .where('t.state', '=', 'queued')
    .where('t.not_before', '<=', p.now)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('task_locks as mine')
            .innerJoin('task_locks as other', 'other.lock_key', 'mine.lock_key')
            .innerJoin('tasks as r', 'r.id', 'other.task_id')
            .select('r.id')
            .whereRef('mine.task_id', '=', 't.id')
            .whereRef('r.id', '!=', 't.id')
            .where((w) =>
              w.or([
                w('r.state', '=', 'running'),
                w.and([w('r.state', '=', 'queued'), w.or([w('r.create_index', '<', w.ref('t.create_index')), w.and([w('r.create_index', '=', w.ref('t.create_index')), w('r.id', '<', w.ref('t.id'))])])]),
              ]),
            ),
        ),
      ),
    )
    .orderBy('t.create_index')
    .orderBy('t.id')
    .limit(p.limit),
);

export async function listClaimableTasks(db: Kysely<Database>, now: string, limit: number): Promise<readonly Task[]> {
  const { rows } = await CLAIMABLE.run(db, { now: ms(now), limit });
  return rows.map((r) => parseTask(r.doc));
}

export async function hasQueuedTasks(db: Kysely<Database>): Promise<boolean> {
  return (await ANY_QUEUED.first(db, {})) !== undefined;
}

export async function listRunningTasks(db: Kysely<Database>): Promise<readonly Task[]> {
  const rows = await db.selectFrom('tasks').select('doc').where('state', '=', 'running').orderBy('created_at').execute();
  return rows.map((r) => parseTask(r.doc));
}

const RUNNING_HOLDERS = new Template(['lock_key'] as const, (db, p) =>
  db.selectFrom('task_locks as l').innerJoin('tasks as t', 't.id', 'l.task_id').select('t.doc').where('l.lock_key', '=', p.lock_key).where('t.state', '=', 'running'),
);

/** The running tasks that hold any of these keys. */
export async function lockHolders(db: Kysely<Database>, lockKeys: readonly string[]): Promise<readonly Task[]> {
  if (!lockKeys.length) return [];
  if (lockKeys.length === 1) return (await RUNNING_HOLDERS.run(db, { lock_key: lockKeys[0] })).rows.map((r) => parseTask(r.doc));
  const rows = await db
    .selectFrom('task_locks as l')
    .innerJoin('tasks as t', 't.id', 'l.task_id')
    .select('t.doc')
    .distinct()
    .where('l.lock_key', 'in', [...lockKeys])
    .where('t.state', '=', 'running')
    .execute();
  return rows.map((r) => parseTask(r.doc));
}

/** Whether any live task (queued or running) holds one of these keys. */
export async function lockBusy(db: Kysely<Database>, lockKeys: readonly string[]): Promise<boolean> {
  if (!lockKeys.length) return false;
  const row =
    lockKeys.length === 1
      ? await LOCK_HOLDER.first(db, { lock_key: lockKeys[0] })
      : await db.selectFrom('task_locks').select('task_id').where('lock_key', 'in', [...lockKeys]).limit(1).executeTakeFirst();
  return row !== undefined;
}

export async function liveTasksFor(db: Kysely<Database>, resourceId: string): Promise<readonly Task[]> {
  const rows = await db.selectFrom('tasks').select('doc').where('resource_id', '=', resourceId).where('state', 'in', [...LIVE]).orderBy('created_at').execute();
  return rows.map((r) => parseTask(r.doc));
}

/** The newest live task working on a record. */
export async function activeTaskFor(db: Kysely<Database>, resourceId: string): Promise<Task | undefined> {
  const row = await db.selectFrom('tasks').select('doc').where('resource_id', '=', resourceId).where('state', 'in', [...LIVE]).orderBy('created_at', 'desc').executeTakeFirst();
  return row ? parseTask(row.doc) : undefined;
}

/**
 * The documents of records in these statuses that no live task works on, in
 * id order after `afterId`: what a restart rolls back, one query a page
 * instead of a task look-up per record.
 */
export async function docsWithoutTask(db: Kysely<Database>, table: 'volumes' | 'snapshots', statuses: readonly string[], afterId: string | null, limit: number): Promise<string[]> {
  if (statuses.length === 0) return [];
  let query = db.selectFrom(table).select(['doc', 'id']).where('status', 'in', [...statuses]);
  if (afterId !== null) query = query.where('id', '>', afterId);
  const rows = await query
    .where((eb) => eb.not(eb.exists(eb.selectFrom('tasks').select('tasks.id').whereRef('tasks.resource_id', '=', `${table}.id`).where('tasks.state', 'in', [...LIVE]))))
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.doc);
}
