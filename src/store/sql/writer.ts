// Writes inside one transaction. Each change stamps the transaction's index
// and appends an event; updates are optimistic compare-and-set on the
// modify index read in the same transaction, so a racing writer loses cleanly.

import type { Kysely } from 'kysely';
import type { AclToken, Policy } from '../../domain/acl.js';
import { ConflictError, InvalidStateError, NotFoundError } from '../../domain/errors.js';
import type {
  Attachment,
  EventTopic,
  Image,
  Pool,
  Quota,
  Snapshot,
  Task,
  TaskState,
  Volume,
  VolumeType,
} from '../../domain/types.js';
import type {
  AttachmentPatch,
  ImagePatch,
  NewAttachment,
  NewImage,
  NewSnapshot,
  NewTask,
  NewVolume,
  NewVolumeType,
  SnapshotExpectation,
  SnapshotPatch,
  StoreTx,
  TaskPatch,
  TypePatch,
  VolumeExpectation,
  VolumePatch,
} from '../store.js';
import type { CommittedChange } from '../changes.js';
import { changedColumns, snapshotColumns, snapshotRow, taskColumns, taskRow, volumeColumns, volumeRow } from './rows.js';
import { SqlReader } from './reader.js';
import { ms } from './rows.js';
import { appendEvents } from './event-log.js';
import {
  ADD_USAGE, DELETE_ATTACHMENT, DELETE_LABELS, DELETE_LOCKS, DELETE_SNAPSHOT, DELETE_VOLUME, INSERT_ATTACHMENT, INSERT_LOCK,
  INSERT_SNAPSHOT, INSERT_TASK, INSERT_VOLUME, UPDATE_ATTACHMENT, UPDATE_SNAPSHOT, UPDATE_TASK, UPDATE_VOLUME,
} from './write-statements.js';
import type { Database } from './schema.js';

export class SqlTx extends SqlReader implements StoreTx {
  private readonly nowIso: string;
  /** What this transaction changed, published to watchers once it commits. */
  readonly changes: CommittedChange[] = [];
  private readonly payloadJson: (string | undefined)[] = [];
  readonly onCommit: (() => void)[] = [];
  readonly onRollback: (() => void)[] = [];
  /**
   * The volumes this transaction has read or written, as they stand in it: a
   * task's finish reads its volume to choose the end status, and the update
   * read it again. Every write of a volume row goes through this class.
   */
  private readonly volumes = new Map<string, Volume | undefined>();

  constructor(
    db: Kysely<Database>,
    readonly index: number,
    now: Date,
  ) {
    super(db);
    this.nowIso = now.toISOString();
  }

  emit(topic: EventTopic, type: string, key: string, namespace: string | null, payload: Readonly<Record<string, unknown>>): Promise<void> {
    this.record(topic, type, key, namespace, payload);
    return Promise.resolve();
  }

  /** A change, with its payload already serialized where the row's document is that payload. */
  private record(topic: EventTopic, type: string, key: string, namespace: string | null, payload: object, payloadJson?: string): void {
    this.changes.push({ index: this.index, topic, type, key, namespace, payload: payload as Readonly<Record<string, unknown>> });
    this.payloadJson.push(payloadJson);
  }

  /** Appends this transaction's changes to the event log (the store calls it as the transaction ends). */
  writeEvents(): Promise<void> {
    return appendEvents(this.db, this.index, ms(this.nowIso), this.changes, this.payloadJson);
  }

  afterCommit(fn: () => void): void {
    this.onCommit.push(fn);
  }

  afterRollback(fn: () => void): void {
    this.onRollback.push(fn);
  }

  // ---- usage totals ----

  private async addUsage(scope: 'namespace' | 'pool', key: string, delta: { volumes?: number; bytes?: number; snapshots?: number }): Promise<void> {
    const volumes = delta.volumes ?? 0;
    const bytes = delta.bytes ?? 0;
    const snapshots = delta.snapshots ?? 0;
    if (!volumes && !bytes && !snapshots) return;
    await ADD_USAGE.run(this.db, { scope, key, volumes, bytes, snapshots });
  }

  /** A volume counts its size plus what an accepted extend has reserved. */
  private async countVolume(v: Pick<Volume, 'namespace' | 'poolId' | 'sizeBytes' | 'reservedBytes'>, sign: 1 | -1): Promise<void> {
    const bytes = v.sizeBytes + (v.reservedBytes ?? 0);
    await this.addUsage('namespace', v.namespace, { volumes: sign, bytes: sign * bytes });
    await this.addUsage('pool', v.poolId, { volumes: sign, bytes: sign * bytes });
  }

  // ---- volumes ----

  override async getVolume(id: string): Promise<Volume | undefined> {
    if (this.volumes.has(id)) return this.volumes.get(id);
    const volume = await super.getVolume(id);
    this.volumes.set(id, volume);
    return volume;
  }

  private async writeLabels(v: Volume, replace = true): Promise<void> {
    if (replace) await DELETE_LABELS.run(this.db, { volume_id: v.id });
    const rows = Object.entries(v.labels).map(([key, value]) => ({ volume_id: v.id, key, value }));
    if (rows.length) await this.db.insertInto('volume_labels').values(rows).execute();
  }

  async insertVolume(input: NewVolume): Promise<Volume> {
    const v: Volume = { ...input, createIndex: this.index, modifyIndex: this.index, createdAt: this.nowIso, updatedAt: this.nowIso };
    const row = volumeRow(v);
    await INSERT_VOLUME.run(this.db, row);
    await this.writeLabels(v, false);
    await this.countVolume(v, 1);
    this.volumes.set(v.id, v);
    this.record('volume', 'created', v.id, v.namespace, v, row.doc);
    return v;
  }

  async updateVolume(id: string, patch: VolumePatch, expect: VolumeExpectation = {}): Promise<Volume> {
    const current = await this.getVolume(id);
    if (!current) throw new NotFoundError('volume', id);
    const ref = { type: 'volume', id };
    if (expect.status && !expect.status.includes(current.status)) {
      throw new InvalidStateError(ref, 'update', current.status, `expected ${expect.status.join(' or ')}`);
    }
    if (expect.migrationStatus && !expect.migrationStatus.includes(current.migrationStatus)) {
      throw new InvalidStateError(ref, 'update', current.status, `migration status is ${current.migrationStatus}`);
    }
    if (expect.modifyIndex !== undefined && expect.modifyIndex !== current.modifyIndex) {
      throw new ConflictError(`volume ${id} changed (modify index ${current.modifyIndex}, expected ${expect.modifyIndex})`, ref);
    }
    const next: Volume = { ...current, ...patch, modifyIndex: this.index, updatedAt: this.nowIso };
    const doc = JSON.stringify(next);
    const updated = await UPDATE_VOLUME.run(this.db, changedColumns(volumeColumns(current), volumeColumns(next), doc), { id, modify_index: current.modifyIndex });
    if (updated !== 1) throw new ConflictError(`volume ${id} was changed by another request; try again`, ref);
    if (patch.labels) await this.writeLabels(next);
    if (next.sizeBytes !== current.sizeBytes || next.poolId !== current.poolId || (next.reservedBytes ?? 0) !== (current.reservedBytes ?? 0)) {
      await this.countVolume(current, -1);
      await this.countVolume(next, 1);
    }
    this.volumes.set(id, next);
    this.record('volume', 'updated', id, next.namespace, next, doc);
    return next;
  }

  async deleteVolume(id: string): Promise<void> {
    const current = await this.getVolume(id);
    if (!current) throw new NotFoundError('volume', id);
    await DELETE_LABELS.run(this.db, { volume_id: id });
    await DELETE_VOLUME.run(this.db, { id });
    this.volumes.set(id, undefined);
    await this.countVolume(current, -1);
    await this.emit('volume', 'deleted', id, current.namespace, { id });
  }

  // ---- snapshots ----

  async insertSnapshot(input: NewSnapshot): Promise<Snapshot> {
    const s: Snapshot = { ...input, createIndex: this.index, modifyIndex: this.index, createdAt: this.nowIso, updatedAt: this.nowIso };
    const row = snapshotRow(s);
    await INSERT_SNAPSHOT.run(this.db, row);
    await this.addUsage('namespace', s.namespace, { snapshots: 1 });
    this.record('snapshot', 'created', s.id, s.namespace, s, row.doc);
    return s;
  }

  async updateSnapshot(id: string, patch: SnapshotPatch, expect: SnapshotExpectation = {}): Promise<Snapshot> {
    const current = await this.getSnapshot(id);
    if (!current) throw new NotFoundError('snapshot', id);
    const ref = { type: 'snapshot', id };
    if (expect.status && !expect.status.includes(current.status)) {
      throw new InvalidStateError(ref, 'update', current.status, `expected ${expect.status.join(' or ')}`);
    }
    if (expect.modifyIndex !== undefined && expect.modifyIndex !== current.modifyIndex) {
      throw new ConflictError(`snapshot ${id} changed (modify index ${current.modifyIndex}, expected ${expect.modifyIndex})`, ref);
    }
    const next: Snapshot = { ...current, ...patch, modifyIndex: this.index, updatedAt: this.nowIso };
    const doc = JSON.stringify(next);
    const updated = await UPDATE_SNAPSHOT.run(this.db, changedColumns(snapshotColumns(current), snapshotColumns(next), doc), { id, modify_index: current.modifyIndex });
    if (updated !== 1) throw new ConflictError(`snapshot ${id} was changed by another request; try again`, ref);
    this.record('snapshot', 'updated', id, next.namespace, next, doc);
    return next;
  }

  async deleteSnapshot(id: string): Promise<void> {
    const current = await this.getSnapshot(id);
    if (!current) throw new NotFoundError('snapshot', id);
    await DELETE_SNAPSHOT.run(this.db, { id });
    await this.addUsage('namespace', current.namespace, { snapshots: -1 });
    await this.emit('snapshot', 'deleted', id, current.namespace, { id, volumeId: current.volumeId });
  }

  // ---- attachments ----

  async insertAttachment(input: NewAttachment): Promise<Attachment> {
    const a: Attachment = { ...input, createIndex: this.index, modifyIndex: this.index, createdAt: this.nowIso, updatedAt: this.nowIso };
    await INSERT_ATTACHMENT.run(this.db, { id: a.id, volume_id: a.volumeId, node: a.node, status: a.status, created_at: ms(a.createdAt), doc: JSON.stringify(a) });
    await this.emit('attachment', 'created', a.id, a.namespace, a as unknown as Record<string, unknown>);
    return a;
  }

  async updateAttachment(id: string, patch: AttachmentPatch, expectStatus?: readonly Attachment['status'][]): Promise<Attachment> {
    const current = await this.getAttachment(id);
    if (!current) throw new NotFoundError('attachment', id);
    if (expectStatus && !expectStatus.includes(current.status)) {
      throw new InvalidStateError({ type: 'attachment', id }, 'update', current.status, `expected ${expectStatus.join(' or ')}`);
    }
    const next: Attachment = { ...current, ...patch, modifyIndex: this.index, updatedAt: this.nowIso };
    const updated = await UPDATE_ATTACHMENT.run(this.db, { status: next.status, node: next.node, doc: JSON.stringify(next) }, { id, status: current.status });
    if (updated !== 1) throw new ConflictError(`attachment ${id} was changed by another request; try again`, { type: 'attachment', id });
    await this.emit('attachment', 'updated', id, next.namespace, next as unknown as Record<string, unknown>);
    return next;
  }

  async deleteAttachment(id: string): Promise<void> {
    const current = await this.getAttachment(id);
    if (!current) throw new NotFoundError('attachment', id);
    await DELETE_ATTACHMENT.run(this.db, { id });
    await this.emit('attachment', 'deleted', id, current.namespace, { id, volumeId: current.volumeId });
  }

  // ---- tasks ----

  async insertTask(input: NewTask): Promise<Task> {
    const t: Task = { ...input, createdAt: this.nowIso, updatedAt: this.nowIso };
    const row = taskRow(t, this.index);
    await INSERT_TASK.run(this.db, row);
    for (const lock_key of new Set(t.lockKeys)) await INSERT_LOCK.run(this.db, { task_id: t.id, lock_key });
    this.record('task', 'created', t.id, t.namespace, t, row.doc);
    return t;
  }

  async updateTask(id: string, patchOrMake: TaskPatch | ((current: Task) => TaskPatch), expectState?: readonly TaskState[], quiet = false): Promise<Task> {
    const current = await this.getTask(id);
    if (!current) throw new NotFoundError('task', id);
    if (expectState && !expectState.includes(current.state)) {
      throw new InvalidStateError({ type: 'task', id }, 'update', current.state, `expected ${expectState.join(' or ')}`);
    }
    const patch = typeof patchOrMake === 'function' ? patchOrMake(current) : patchOrMake;
    const next: Task = { ...current, ...patch, updatedAt: this.nowIso };
    const doc = JSON.stringify(next);
    const columns = changedColumns(taskColumns(current, 0), taskColumns(next, 0), doc);
    const updated = await UPDATE_TASK.run(this.db, columns, { id, state: current.state });
    if (updated !== 1) throw new ConflictError(`task ${id} was changed by another runner`, { type: 'task', id });
    // An ended task holds no lock.
    if (next.state !== current.state && (next.state === 'success' || next.state === 'error')) await DELETE_LOCKS.run(this.db, { task_id: id });
    // Progress ticks are not worth an event each; state changes always are.
    if (!quiet || patch.state !== undefined) this.record('task', 'updated', id, next.namespace, next, doc);
    return next;
  }

  // ---- types, pools, images, quotas ----

  async insertType(input: NewVolumeType): Promise<VolumeType> {
    if (await this.getType(input.name)) throw new ConflictError(`volume type ${input.name} already exists`, { type: 'type', id: input.name });
    const t: VolumeType = { ...input, createdAt: this.nowIso };
    await this.db.insertInto('volume_types').values({ id: t.id, name: t.name, doc: JSON.stringify(t) }).execute();
    await this.emit('type', 'created', t.id, null, t as unknown as Record<string, unknown>);
    return t;
  }

  async updateType(id: string, patch: TypePatch): Promise<VolumeType> {
    const current = await this.getType(id);
    if (!current) throw new NotFoundError('type', id);
    if (patch.name !== undefined && patch.name !== current.name && (await this.getType(patch.name))) {
      throw new ConflictError(`volume type ${patch.name} already exists`, { type: 'type', id: patch.name });
    }
    const next: VolumeType = { ...current, ...patch };
    await this.db.updateTable('volume_types').set({ name: next.name, doc: JSON.stringify(next) }).where('id', '=', current.id).execute();
    await this.emit('type', 'updated', current.id, null, next as unknown as Record<string, unknown>);
    return next;
  }

  async deleteType(id: string): Promise<void> {
    const current = await this.getType(id);
    if (!current) throw new NotFoundError('type', id);
    await this.db.deleteFrom('volume_types').where('id', '=', current.id).execute();
    await this.emit('type', 'deleted', current.id, null, { id: current.id });
  }

  async upsertPool(pool: Pool): Promise<Pool> {
    const doc = JSON.stringify(pool);
    await this.db
      .insertInto('pools')
      .values({ id: pool.id, doc })
      .onConflict((oc) => oc.column('id').doUpdateSet({ doc }))
      .execute();
    await this.emit('pool', 'updated', pool.id, null, pool as unknown as Record<string, unknown>);
    return pool;
  }

  async insertImage(input: NewImage): Promise<Image> {
    const i: Image = { ...input, createdAt: this.nowIso, updatedAt: this.nowIso };
    await this.db.insertInto('images').values({ id: i.id, namespace: i.namespace, created_at: ms(i.createdAt), doc: JSON.stringify(i) }).execute();
    await this.emit('image', 'created', i.id, i.namespace, i as unknown as Record<string, unknown>);
    return i;
  }

  async updateImage(id: string, patch: ImagePatch): Promise<Image> {
    const current = await this.getImage(id);
    if (!current) throw new NotFoundError('image', id);
    const next: Image = { ...current, ...patch, updatedAt: this.nowIso };
    await this.db.updateTable('images').set({ doc: JSON.stringify(next) }).where('id', '=', id).execute();
    await this.emit('image', 'updated', id, next.namespace, next as unknown as Record<string, unknown>);
    return next;
  }

  async deleteImage(id: string): Promise<void> {
    const current = await this.getImage(id);
    if (!current) throw new NotFoundError('image', id);
    await this.db.deleteFrom('images').where('id', '=', id).execute();
    await this.emit('image', 'deleted', id, current.namespace, { id });
  }

  async setVolumeSecrets(id: string, ciphertext: string | null): Promise<void> {
    await this.db.updateTable('volumes').set({ secrets: ciphertext }).where('id', '=', id).execute();
  }

  async setSnapshotSecrets(id: string, ciphertext: string | null): Promise<void> {
    await this.db.updateTable('snapshots').set({ secrets: ciphertext }).where('id', '=', id).execute();
  }

  // ---- ACL ----

  async upsertPolicy(policy: Policy): Promise<Policy> {
    const doc = JSON.stringify(policy);
    await this.db.insertInto('acl_policies').values({ name: policy.name, doc }).onConflict((oc) => oc.column('name').doUpdateSet({ doc })).execute();
    await this.emit('acl', 'policy-updated', policy.name, null, { name: policy.name });
    return policy;
  }

  async deletePolicy(name: string): Promise<void> {
    if (!(await this.getPolicy(name))) throw new NotFoundError('policy', name);
    await this.db.deleteFrom('acl_policies').where('name', '=', name).execute();
    await this.emit('acl', 'policy-deleted', name, null, { name });
  }

  async insertToken(token: AclToken, secretHash: string): Promise<AclToken> {
    await this.db.insertInto('acl_tokens').values({ id: token.id, secret_hash: secretHash, doc: JSON.stringify(token) }).execute();
    // The event names the accessor only; the secret never leaves the request that made it.
    await this.emit('acl', 'token-created', token.id, null, { id: token.id, name: token.name });
    return token;
  }

  async deleteToken(id: string): Promise<void> {
    if (!(await this.getToken(id))) throw new NotFoundError('token', id);
    await this.db.deleteFrom('acl_tokens').where('id', '=', id).execute();
    await this.emit('acl', 'token-deleted', id, null, { id });
  }

  async markAclBootstrapped(): Promise<void> {
    const res = await this.db.updateTable('counters').set({ value: 1 }).where('name', '=', 'acl_bootstrapped').where('value', '=', 0).executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw new ConflictError('ACL bootstrap has already been done', { type: 'acl', id: 'bootstrap' });
  }

  async setQuota(quota: Quota): Promise<Quota> {
    const values = { volumes: quota.volumes, gigabytes: quota.gigabytes, snapshots: quota.snapshots };
    await this.db
      .insertInto('quotas')
      .values({ namespace: quota.namespace, ...values })
      .onConflict((oc) => oc.column('namespace').doUpdateSet(values))
      .execute();
    await this.emit('quota', 'updated', quota.namespace, quota.namespace, quota as unknown as Record<string, unknown>);
    return quota;
  }
}
