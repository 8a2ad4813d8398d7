// Tables and migrations shared by the SQL stores. Columns that lists filter or
// sort on are real columns with indexes; the rest of a record is a JSON `doc`.
// Times are epoch milliseconds so keyset pagination compares numbers.

import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { sourceIdOf, type Volume } from '../../domain/types.js';

export interface VolumesTable {
  id: string;
  name: string;
  namespace: string;
  size_bytes: number;
  status: string;
  pool_id: string;
  type_id: string | null;
  external_id: string | null;
  migration_status: string;
  create_index: number;
  modify_index: number;
  created_at: number;
  updated_at: number;
  doc: string;
  /** Encrypted (AES-256-GCM) by the engine; never part of `doc`, events or answers. */
  secrets: string | null;
  /** The snapshot, volume or image the volume was made from (dependents are found by index). */
  source_id: string | null;
  /** 1 or 0: a filter of Cinder's lists. */
  bootable: number;
}

export interface VolumeLabelsTable {
  volume_id: string;
  key: string;
  value: string;
}

export interface SnapshotsTable {
  id: string;
  volume_id: string;
  external_id: string | null;
  namespace: string;
  status: string;
  create_index: number;
  modify_index: number;
  created_at: number;
  doc: string;
  secrets: string | null;
}

export interface AttachmentsTable {
  id: string;
  volume_id: string;
  /** Indexed, so the volumes claimed on a node (Nomad's node_id filter) are found without a scan. */
  node: string;
  /** Indexed, so attachments stuck in attaching/detaching are found without a scan. */
  status: string | null;
  created_at: number;
  doc: string;
}

export interface TasksTable {
  id: string;
  namespace: string;
  state: string;
  lock_key: string | null;
  resource_id: string;
  create_index: number;
  not_before: number;
  created_at: number;
  doc: string;
}

/** The lock keys of tasks that have not ended (rows go when the task ends). */
export interface TaskLocksTable {
  task_id: string;
  lock_key: string;
}

export interface TypesTable {
  id: string;
  name: string;
  doc: string;
}

export interface PoolsTable {
  id: string;
  doc: string;
}

export interface ImagesTable {
  id: string;
  namespace: string;
  created_at: number;
  doc: string;
}

export interface QuotasTable {
  namespace: string;
  volumes: number;
  gigabytes: number;
  snapshots: number;
}

export interface EventsTable {
  idx: number;
  seq: number;
  topic: string;
  type: string;
  key: string;
  namespace: string | null;
  created_at: number;
  payload: string;
}

/** Running totals per namespace and per pool, kept by the writer, so quota and capacity checks do not sum whole tables. */
export interface UsageTable {
  scope: 'namespace' | 'pool';
  key: string;
  volumes: number;
  bytes: number;
  snapshots: number;
}

export interface AclPoliciesTable {
  name: string;
  doc: string;
}

export interface AclTokensTable {
  id: string;
  /** sha256 of the secret id; the secret itself is never stored. */
  secret_hash: string;
  doc: string;
}

export interface CountersTable {
  name: string;
  value: number;
}

export interface Database {
  volumes: VolumesTable;
  volume_labels: VolumeLabelsTable;
  snapshots: SnapshotsTable;
  attachments: AttachmentsTable;
  tasks: TasksTable;
  task_locks: TaskLocksTable;
  volume_types: TypesTable;
  pools: PoolsTable;
  images: ImagesTable;
  quotas: QuotasTable;
  events: EventsTable;
  counters: CountersTable;
  usage: UsageTable;
  acl_policies: AclPoliciesTable;
  acl_tokens: AclTokensTable;
}

// Migrations are append-only: a released one is never edited.
const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('volumes')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('namespace', 'varchar(255)', (c) => c.notNull())
        .addColumn('size_bytes', 'bigint', (c) => c.notNull())
        .addColumn('status', 'varchar(32)', (c) => c.notNull())
        .addColumn('pool_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('type_id', 'varchar(64)')
        .addColumn('external_id', 'varchar(1024)')
        .addColumn('migration_status', 'varchar(32)', (c) => c.notNull())
        .addColumn('create_index', 'bigint', (c) => c.notNull())
        .addColumn('modify_index', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('doc', 'text', (c) => c.notNull())
        .addColumn('secrets', 'text')
        .execute();
      // One index per sort order, with and without the namespace filter.
      for (const [name, cols] of [
        ['volumes_created', ['created_at', 'id']],
        ['volumes_name', ['name', 'id']],
        ['volumes_size', ['size_bytes', 'id']],
        ['volumes_ns_created', ['namespace', 'created_at', 'id']],
        ['volumes_ns_name', ['namespace', 'name', 'id']],
        ['volumes_ns_size', ['namespace', 'size_bytes', 'id']],
        ['volumes_status_created', ['status', 'created_at', 'id']],
        ['volumes_pool', ['pool_id', 'id']],
        ['volumes_external', ['pool_id', 'external_id']],
        ['volumes_type', ['type_id', 'created_at', 'id']],
      ] as const) {
        await db.schema.createIndex(name).on('volumes').columns([...cols]).execute();
      }
      await db.schema
        .createTable('volume_labels')
        .addColumn('volume_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('key', 'varchar(255)', (c) => c.notNull())
        .addColumn('value', 'varchar(1024)', (c) => c.notNull())
        .addPrimaryKeyConstraint('volume_labels_pk', ['volume_id', 'key'])
        .execute();
      await db.schema.createIndex('volume_labels_kv').on('volume_labels').columns(['key', 'value', 'volume_id']).execute();

      await db.schema
        .createTable('snapshots')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('volume_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('external_id', 'varchar(1024)')
        .addColumn('namespace', 'varchar(255)', (c) => c.notNull())
        .addColumn('status', 'varchar(32)', (c) => c.notNull())
        .addColumn('create_index', 'bigint', (c) => c.notNull())
        .addColumn('modify_index', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('doc', 'text', (c) => c.notNull())
        .addColumn('secrets', 'text')
        .execute();
      await db.schema.createIndex('snapshots_volume').on('snapshots').columns(['volume_id', 'created_at', 'id']).execute();
      await db.schema.createIndex('snapshots_external').on('snapshots').columns(['external_id']).execute();
      await db.schema.createIndex('snapshots_ns').on('snapshots').columns(['namespace', 'created_at', 'id']).execute();
      await db.schema.createIndex('snapshots_created').on('snapshots').columns(['created_at', 'id']).execute();

      await db.schema
        .createTable('attachments')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('volume_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('doc', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('attachments_volume').on('attachments').columns(['volume_id', 'created_at']).execute();

      await db.schema
        .createTable('tasks')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('namespace', 'varchar(255)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('lock_key', 'varchar(64)')
        .addColumn('resource_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('create_index', 'bigint', (c) => c.notNull())
        .addColumn('not_before', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('doc', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tasks_state').on('tasks').columns(['state', 'create_index']).execute();
      await db.schema.createIndex('tasks_lock').on('tasks').columns(['lock_key', 'state']).execute();
      await db.schema.createIndex('tasks_resource').on('tasks').columns(['resource_id', 'created_at']).execute();
      await db.schema.createIndex('tasks_created').on('tasks').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('tasks_ns_created').on('tasks').columns(['namespace', 'created_at', 'id']).execute();

      await db.schema
        .createTable('volume_types')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
        .addColumn('doc', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('pools').addColumn('id', 'varchar(255)', (c) => c.primaryKey()).addColumn('doc', 'text', (c) => c.notNull()).execute();
      await db.schema
        .createTable('images')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('namespace', 'varchar(255)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('doc', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('images_created').on('images').columns(['created_at', 'id']).execute();
      await db.schema
        .createTable('quotas')
        .addColumn('namespace', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('volumes', 'bigint', (c) => c.notNull())
        .addColumn('gigabytes', 'bigint', (c) => c.notNull())
        .addColumn('snapshots', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('events')
        .addColumn('idx', 'bigint', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('topic', 'varchar(32)', (c) => c.notNull())
        .addColumn('type', 'varchar(64)', (c) => c.notNull())
        .addColumn('key', 'varchar(255)', (c) => c.notNull())
        .addColumn('namespace', 'varchar(255)')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('events_pk', ['idx', 'seq'])
        .execute();
      await db.schema.createTable('counters').addColumn('name', 'varchar(64)', (c) => c.primaryKey()).addColumn('value', 'bigint', (c) => c.notNull()).execute();
      await sql`insert into counters (name, value) values ('index', 0)`.execute(db);
      await db.schema
        .createTable('usage')
        .addColumn('scope', 'varchar(16)', (c) => c.notNull())
        .addColumn('key', 'varchar(255)', (c) => c.notNull())
        .addColumn('volumes', 'bigint', (c) => c.notNull())
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .addColumn('snapshots', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_pk', ['scope', 'key'])
        .execute();
      await db.schema.createTable('acl_policies').addColumn('name', 'varchar(255)', (c) => c.primaryKey()).addColumn('doc', 'text', (c) => c.notNull()).execute();
      await db.schema
        .createTable('acl_tokens')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('secret_hash', 'varchar(128)', (c) => c.notNull().unique())
        .addColumn('doc', 'text', (c) => c.notNull())
        .execute();
      await sql`insert into counters (name, value) values ('acl_bootstrapped', 0)`.execute(db);
    },
  },
  '0002_task_locks_and_sources': {
    async up(db: Kysely<unknown>): Promise<void> {
      // A task may hold several locks (a clone: its new volume and its source; a batch: many).
      await db.schema
        .createTable('task_locks')
        .addColumn('task_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('lock_key', 'varchar(64)', (c) => c.notNull())
        .addPrimaryKeyConstraint('task_locks_pk', ['lock_key', 'task_id'])
        .execute();
      await db.schema.createIndex('task_locks_task').on('task_locks').columns(['task_id']).execute();
      await sql`insert into task_locks (task_id, lock_key) select id, lock_key from tasks where lock_key is not null and state in ('queued', 'running')`.execute(db);
      await db.schema.alterTable('attachments').addColumn('status', 'varchar(32)').execute();
      await db.schema.createIndex('attachments_status').on('attachments').columns(['status']).execute();
      const attachments = await sql<{ id: string; doc: string }>`select id, doc from attachments`.execute(db);
      for (const row of attachments.rows) {
        await sql`update attachments set status = ${(JSON.parse(row.doc) as { status: string }).status} where id = ${row.id}`.execute(db);
      }
      await db.schema.alterTable('volumes').addColumn('source_id', 'varchar(64)').execute();
      await db.schema.createIndex('volumes_source').on('volumes').columns(['source_id', 'status']).execute();
      const rows = await sql<{ id: string; doc: string }>`select id, doc from volumes`.execute(db);
      for (const row of rows.rows) {
        const sourceId = sourceIdOf((JSON.parse(row.doc) as Pick<Volume, 'source'>).source);
        if (sourceId) await sql`update volumes set source_id = ${sourceId} where id = ${row.id}`.execute(db);
      }
    },
  },
  '0003_drop_single_task_lock_index': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Locks live in task_locks since 0002; this index only cost a page write per task change.
      await db.schema.dropIndex('tasks_lock').execute();
    },
  },
  '0004_volume_bootable': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('volumes').addColumn('bootable', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      const rows = await sql<{ id: string; doc: string }>`select id, doc from volumes`.execute(db);
      for (const row of rows.rows) {
        if ((JSON.parse(row.doc) as Pick<Volume, 'bootable'>).bootable) await sql`update volumes set bootable = 1 where id = ${row.id}`.execute(db);
      }
    },
  },
  '0005_attachment_node': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('attachments').addColumn('node', 'varchar(255)', (c) => c.notNull().defaultTo('')).execute();
      await db.schema.createIndex('attachments_node').on('attachments').columns(['node', 'volume_id']).execute();
      const rows = await sql<{ id: string; doc: string }>`select id, doc from attachments`.execute(db);
      for (const row of rows.rows) {
        await sql`update attachments set node = ${(JSON.parse(row.doc) as { node: string }).node} where id = ${row.id}`.execute(db);
      }
    },
  },
  '0006_tasks_by_state_in_created_order': {
    async up(db: Kysely<unknown>): Promise<void> {
      // "The queued tasks, oldest first" reads the index in order instead of sorting every queued task.
      await db.schema.createIndex('tasks_state_created').on('tasks').columns(['state', 'created_at', 'id']).execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
