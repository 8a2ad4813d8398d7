// Reads shared by the SQL stores. Each record's JSON `doc` is the whole value;
// the columns beside it exist for filters, sorting and indexes.

import { InvalidInputError } from '../../domain/errors.js';
import { sql, type Kysely } from 'kysely';
import { Template } from './templates.js';
import type { AclToken, Policy } from '../../domain/acl.js';
import type {
  Attachment,
  EventTopic,
  Image,
  Pool,
  Quota,
  Snapshot,
  Task,
  Volume,
  VolumedEvent,
  SnapshotStatus,
  VolumeStatus,
  VolumeType,
} from '../../domain/types.js';
import { GiB } from '../../domain/types.js';
import type {
  ImageQuery,
  JsonPage,
  ListPage,
  SnapshotQuery,
  StoreReader,
  TaskQuery,
  Usage,
  VolumeQuery,
} from '../store.js';
import { clampLimit, pageByCreated } from './cursor.js';
import { parseDoc, parseTask } from './rows.js';
import { activeTaskFor, docsWithoutTask, hasQueuedTasks, listClaimableTasks, listRunningTasks, listTasks, liveTasksFor, lockBusy, lockHolders } from './task-queries.js';
import type { Database } from './schema.js';
import { listVolumes, listVolumesJson } from './volume-list.js';


const VOLUME_BY_ID = new Template(['id'] as const, (db, p) => db.selectFrom('volumes').select('doc').where('id', '=', p.id));
const TASK_BY_ID = new Template(['id'] as const, (db, p) => db.selectFrom('tasks').select('doc').where('id', '=', p.id));
const ATTACHMENTS_OF = new Template(['volume_id'] as const, (db, p) => db.selectFrom('attachments').select('doc').where('volume_id', '=', p.volume_id).orderBy('created_at').orderBy('id'));
const SNAPSHOT_BY_ID = new Template(['id'] as const, (db, p) => db.selectFrom('snapshots').select('doc').where('id', '=', p.id));
const ATTACHMENT_BY_ID = new Template(['id'] as const, (db, p) => db.selectFrom('attachments').select('doc').where('id', '=', p.id));
const SNAPSHOTS_OF = new Template(['volume_id'] as const, (db, p) => db.selectFrom('snapshots').select('doc').where('volume_id', '=', p.volume_id).orderBy('created_at').orderBy('id'));
const ALL_POOLS = new Template([] as const, (db) => db.selectFrom('pools').select('doc').orderBy('id'));
const POOL_BY_ID = new Template(['id'] as const, (db, p) => db.selectFrom('pools').select('doc').where('id', '=', p.id));
const USAGE_OF = new Template(['scope', 'key'] as const, (db, p) => db.selectFrom('usage').selectAll().where('scope', '=', p.scope).where('key', '=', p.key));
const INDEX = new Template([] as const, (db) => db.selectFrom('counters').select('value').where('name', '=', 'index'));
const QUOTA_OF = new Template(['namespace'] as const, (db, p) => db.selectFrom('quotas').selectAll().where('namespace', '=', p.namespace));


export class SqlReader implements StoreReader {
  constructor(protected readonly db: Kysely<Database>) {}

  async getVolume(id: string): Promise<Volume | undefined> {
    return parseDoc<Volume>(await VOLUME_BY_ID.first(this.db, { id }));
  }

  listVolumes(q: VolumeQuery): Promise<ListPage<Volume>> {
    return listVolumes(this.db, q);
  }

  listVolumesJson(q: VolumeQuery): Promise<JsonPage> {
    return listVolumesJson(this.db, q);
  }

  async getVolumeJson(id: string): Promise<string | undefined> {
    return (await VOLUME_BY_ID.first(this.db, { id }))?.doc;
  }

  async listVolumesInPool(poolId: string, afterId: string | null, limit: number): Promise<readonly Volume[]> {
    let query = this.db.selectFrom('volumes').select('doc').where('pool_id', '=', poolId);
    if (afterId !== null) query = query.where('id', '>', afterId);
    const rows = await query.orderBy('id').limit(limit).execute();
    return rows.map((r) => JSON.parse(r.doc) as Volume);
  }

  async findVolumesByExternalId(poolId: string, externalIds: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const found = new Map<string, string>();
    for (let i = 0; i < externalIds.length; i += 500) {
      const chunk = externalIds.slice(i, i + 500);
      const rows = await this.db.selectFrom('volumes').select(['id', 'external_id']).where('pool_id', '=', poolId).where('external_id', 'in', chunk).execute();
      for (const r of rows) if (r.external_id !== null) found.set(r.external_id, r.id);
    }
    return found;
  }

  async findSnapshotsByExternalId(externalIds: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const found = new Map<string, string>();
    for (let i = 0; i < externalIds.length; i += 500) {
      const chunk = externalIds.slice(i, i + 500);
      const rows = await this.db.selectFrom('snapshots').select(['id', 'external_id']).where('external_id', 'in', chunk).execute();
      for (const r of rows) if (r.external_id !== null) found.set(r.external_id, r.id);
    }
    return found;
  }

  async getSnapshot(id: string): Promise<Snapshot | undefined> {
    return parseDoc<Snapshot>(await SNAPSHOT_BY_ID.first(this.db, { id }));
  }

  async listSnapshots(q: SnapshotQuery): Promise<ListPage<Snapshot>> {
    let query = this.db.selectFrom('snapshots').select(['doc', 'id', 'created_at']);
    if (q.afterId !== undefined) {
      const marker = await this.db.selectFrom('snapshots').select(['id', 'namespace', 'created_at']).where('id', '=', q.afterId).executeTakeFirst();
      if (!marker || (q.namespace !== undefined && marker.namespace !== q.namespace)) throw new InvalidInputError(`marker ${q.afterId} not found`, 'marker');
      query = query.where(sql<boolean>`(created_at, id) > (${marker.created_at}, ${marker.id})`);
    }
    if (q.namespace !== undefined) query = query.where('namespace', '=', q.namespace);
    if (q.namespaces !== undefined) query = q.namespaces.length ? query.where('namespace', 'in', [...q.namespaces]) : query.where(sql<boolean>`1 = 0`);
    if (q.volumeId !== undefined) query = query.where('volume_id', '=', q.volumeId);
    if (q.poolId !== undefined) query = query.where('volume_id', 'in', this.db.selectFrom('volumes').select('id').where('pool_id', '=', q.poolId));
    if (q.status?.length) query = query.where('status', 'in', [...q.status]);
    return pageByCreated<Snapshot, 'snapshots'>(query, q.limit, q.cursor);
  }

  async countSnapshots(volumeId: string): Promise<number> {
    const row = await this.db.selectFrom('snapshots').select((eb) => eb.fn.countAll<number>().as('n')).where('volume_id', '=', volumeId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async getAttachment(id: string): Promise<Attachment | undefined> {
    return parseDoc<Attachment>(await ATTACHMENT_BY_ID.first(this.db, { id }));
  }

  async listAttachments(volumeId: string): Promise<readonly Attachment[]> {
    const { rows } = await ATTACHMENTS_OF.run(this.db, { volume_id: volumeId });
    return rows.map((r) => JSON.parse(r.doc) as Attachment);
  }

  async getTask(id: string): Promise<Task | undefined> {
    const row = await TASK_BY_ID.first(this.db, { id });
    return row ? parseTask(row.doc) : undefined;
  }

  listTasks = (q: TaskQuery): Promise<ListPage<Task>> => listTasks(this.db, q);
  listClaimableTasks = (now: string, limit: number): Promise<readonly Task[]> => listClaimableTasks(this.db, now, limit);
  hasQueuedTasks = (): Promise<boolean> => hasQueuedTasks(this.db);
  listRunningTasks = (): Promise<readonly Task[]> => listRunningTasks(this.db);
  lockHolders = (lockKeys: readonly string[]): Promise<readonly Task[]> => lockHolders(this.db, lockKeys);
  lockBusy = (lockKeys: readonly string[]): Promise<boolean> => lockBusy(this.db, lockKeys);
  liveTasksFor = (resourceId: string): Promise<readonly Task[]> => liveTasksFor(this.db, resourceId);
  activeTaskFor = (resourceId: string): Promise<Task | undefined> => activeTaskFor(this.db, resourceId);
  listVolumesWithoutTask = (statuses: readonly VolumeStatus[], afterId: string | null, limit: number): Promise<readonly Volume[]> =>
    docsWithoutTask(this.db, 'volumes', statuses, afterId, limit).then((docs) => docs.map((d) => JSON.parse(d) as Volume));
  listSnapshotsWithoutTask = (statuses: readonly SnapshotStatus[], afterId: string | null, limit: number): Promise<readonly Snapshot[]> =>
    docsWithoutTask(this.db, 'snapshots', statuses, afterId, limit).then((docs) => docs.map((d) => JSON.parse(d) as Snapshot));


  async volumesFromSource(sourceId: string, status: readonly VolumeStatus[]): Promise<readonly Volume[]> {
    if (!status.length) return [];
    const rows = await this.db.selectFrom('volumes').select('doc').where('source_id', '=', sourceId).where('status', 'in', [...status]).execute();
    return rows.map((r) => JSON.parse(r.doc) as Volume);
  }

  async listAttachmentsIn(namespace: string | undefined, limit: number): Promise<readonly Attachment[]> {
    let query = this.db.selectFrom('attachments as a').innerJoin('volumes as v', 'v.id', 'a.volume_id').select('a.doc');
    if (namespace !== undefined) query = query.where('v.namespace', '=', namespace);
    const rows = await query.orderBy('a.created_at').orderBy('a.id').limit(clampLimit(limit)).execute();
    return rows.map((r) => JSON.parse(r.doc) as Attachment);
  }

  async listStrandedAttachments(): Promise<readonly Attachment[]> {
    const rows = await this.db.selectFrom('attachments').select('doc').where('status', 'in', ['attaching', 'detaching']).execute();
    return rows.map((r) => JSON.parse(r.doc) as Attachment);
  }

  async snapshotsOf(volumeId: string): Promise<readonly Snapshot[]> {
    const { rows } = await SNAPSHOTS_OF.run(this.db, { volume_id: volumeId });
    return rows.map((r) => JSON.parse(r.doc) as Snapshot);
  }


  async getType(idOrName: string): Promise<VolumeType | undefined> {
    return parseDoc<VolumeType>(
      await this.db.selectFrom('volume_types').select('doc').where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)])).executeTakeFirst(),
    );
  }

  async listTypes(): Promise<readonly VolumeType[]> {
    return (await this.db.selectFrom('volume_types').select('doc').orderBy('name').execute()).map((r) => JSON.parse(r.doc) as VolumeType);
  }

  async getPool(id: string): Promise<Pool | undefined> {
    return parseDoc<Pool>(await POOL_BY_ID.first(this.db, { id }));
  }

  async listPools(): Promise<readonly Pool[]> {
    return (await ALL_POOLS.run(this.db, {})).rows.map((r) => JSON.parse(r.doc) as Pool);
  }

  async getImage(id: string): Promise<Image | undefined> {
    return parseDoc<Image>(await this.db.selectFrom('images').select('doc').where('id', '=', id).executeTakeFirst());
  }

  listImages(q: ImageQuery): Promise<ListPage<Image>> {
    let query = this.db.selectFrom('images').select(['doc', 'id', 'created_at']);
    if (q.namespace !== undefined) query = query.where('namespace', '=', q.namespace);
    if (q.namespaces !== undefined) query = q.namespaces.length ? query.where('namespace', 'in', [...q.namespaces]) : query.where(sql<boolean>`1 = 0`);
    return pageByCreated<Image, 'images'>(query, q.limit, q.cursor);
  }

  async getQuota(namespace: string): Promise<Quota | undefined> {
    const row = await QUOTA_OF.first(this.db, { namespace });
    return row ? { namespace: row.namespace, volumes: Number(row.volumes), gigabytes: Number(row.gigabytes), snapshots: Number(row.snapshots) } : undefined;
  }

  async usage(namespace: string): Promise<Usage> {
    const row = await USAGE_OF.first(this.db, { scope: 'namespace', key: namespace });
    const bytes = Number(row?.bytes ?? 0);
    return { volumes: Number(row?.volumes ?? 0), gigabytes: Math.ceil(bytes / GiB), bytes, snapshots: Number(row?.snapshots ?? 0) };
  }

  async provisionedBytes(poolId: string): Promise<number> {
    const row = await USAGE_OF.first(this.db, { scope: 'pool', key: poolId });
    return Number(row?.bytes ?? 0);
  }

  async listEvents(afterIndex: number, limit: number, topics?: readonly EventTopic[]): Promise<readonly VolumedEvent[]> {
    let query = this.db.selectFrom('events').selectAll().where('idx', '>', afterIndex);
    if (topics?.length) query = query.where('topic', 'in', [...topics]);
    const rows = await query.orderBy('idx').orderBy('seq').limit(limit).execute();
    return rows.map((r) => ({
      index: Number(r.idx),
      topic: r.topic as EventTopic,
      type: r.type,
      key: r.key,
      namespace: r.namespace,
      payload: JSON.parse(r.payload) as Record<string, unknown>,
      createdAt: new Date(Number(r.created_at)).toISOString(),
    }));
  }

  async countTasksByState(): Promise<Readonly<Record<string, number>>> {
    const rows = await this.db.selectFrom('tasks').select((eb) => ['state', eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  async countVolumesByStatus(): Promise<Readonly<Record<string, number>>> {
    const rows = await this.db.selectFrom('volumes').select((eb) => ['status', eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  async listNamespaces(): Promise<readonly string[]> {
    const used = await this.db.selectFrom('usage').select('key').where('scope', '=', 'namespace').execute();
    const images = await this.db.selectFrom('images').select('namespace').distinct().execute();
    const quotas = await this.db.selectFrom('quotas').select('namespace').execute();
    return [...new Set([...used.map((r) => r.key), ...images.map((r) => r.namespace), ...quotas.map((r) => r.namespace)])].sort();
  }

  async getVolumeSecrets(id: string): Promise<string | null> {
    return (await this.db.selectFrom('volumes').select('secrets').where('id', '=', id).executeTakeFirst())?.secrets ?? null;
  }

  async getSnapshotSecrets(id: string): Promise<string | null> {
    return (await this.db.selectFrom('snapshots').select('secrets').where('id', '=', id).executeTakeFirst())?.secrets ?? null;
  }

  async getPolicy(name: string): Promise<Policy | undefined> {
    return parseDoc<Policy>(await this.db.selectFrom('acl_policies').select('doc').where('name', '=', name).executeTakeFirst());
  }

  async listPolicies(): Promise<readonly Policy[]> {
    return (await this.db.selectFrom('acl_policies').select('doc').orderBy('name').execute()).map((r) => JSON.parse(r.doc) as Policy);
  }

  async getToken(id: string): Promise<AclToken | undefined> {
    return parseDoc<AclToken>(await this.db.selectFrom('acl_tokens').select('doc').where('id', '=', id).executeTakeFirst());
  }

  async findTokenBySecretHash(secretHash: string): Promise<AclToken | undefined> {
    return parseDoc<AclToken>(await this.db.selectFrom('acl_tokens').select('doc').where('secret_hash', '=', secretHash).executeTakeFirst());
  }

  async listTokens(): Promise<readonly AclToken[]> {
    return (await this.db.selectFrom('acl_tokens').select('doc').orderBy('id').execute()).map((r) => JSON.parse(r.doc) as AclToken);
  }

  async latestIndex(): Promise<number> {
    return Number((await INDEX.first(this.db, {}))?.value ?? 0);
  }
}
