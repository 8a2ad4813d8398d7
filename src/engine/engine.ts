// The engine: the only place that decides. Surfaces call these methods; each
// checks the state machine and quotas, writes the new status and a task in one
// transaction, and returns at once; the runner does the driver work.

import type { Readable } from 'node:stream';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import type { Attachment, EventTopic, Image, ManageableObject, Pool, Quota, Snapshot, SnapshotStatus, Task, Volume, VolumedEvent, VolumeType } from '../domain/types.js';
import type { ImageStore } from '../images/image-store.js';
import type { SecretBox } from '../security/secret-box.js';
import type { ChangeFilter, Watcher } from '../store/changes.js';
import type { ImageQuery, JsonPage, ListPage, SnapshotQuery, Store, TaskQuery, Usage, VolumeQuery } from '../store/store.js';
import { attachmentHandlers, attachVolume, detachVolume, holdVolume, type AttachAccepted, type AttachInput } from './attachments.js';
import type { Accepted, EngineContext } from './context.js';
import { completeAttachment, connectAttachment, releaseAttachment, reserveAttachment, type ReserveInput } from './attachment-reservations.js';
import { mustGetSnapshot, mustGetVolume } from './context.js';
import { createImageFromBytes, deleteImage, imageHandlers, reimageVolume, uploadVolumeToImage, type UploadAccepted } from './images.js';
import { listManageableSnapshots, listManageableVolumes, manageHandlers, manageVolume, type ManageVolumeInput } from './manage.js';
import { migrateHandlers, migrateVolume, retypeVolume, type MigrateInput, type RetypeInput } from './migrate.js';
import { checkInvariants, type Violation } from './invariants.js';
import { PageCache } from './page-cache.js';
import type { PoolRegistry } from './pools.js';
import { UNLIMITED } from './quotas.js';
import {
  createSnapshot,
  deleteSnapshot,
  manageSnapshot,
  snapshotHandlers,
  resetSnapshotStatus,
  unmanageSnapshot,
  updateSnapshot,
  type CreateSnapshotInput,
  type ManageSnapshotInput,
} from './snapshots.js';
import type { HandlerRegistry } from './tasks/handler.js';
import { Reconciler, type Orphan, type RecoveryReport } from './tasks/reconciler.js';
import { TaskRunner, type RunnerOptions } from './tasks/runner.js';
import { typesApi, type TypeInput } from './types.js';
import {
  completeExtend,
  extendVolume,
  resetVolumeStatus,
  revertVolume,
  updateVolume,
  volumeActionHandlers,
  type ExtendOptions,
  type ResetStatusInput,
  type VolumeFieldsUpdate,
} from './volume-actions.js';
import { createHandlers, createVolume, type CreateVolumeInput } from './volume-create.js';
import { composeBatch, isBatch, submitBatch, type BatchInput } from './batches.js';
import { configureAccessRules, updateClusterMetadata } from './volume-metadata.js';
import { searchVolumes, type VolumeSearch, type VolumeSearchResult } from './volume-search.js';
import type { MetadataUpdate } from '../domain/cluster-metadata.js';
import type { AclChange } from '../domain/nfs-access.js';
import { deleteHandlers, deleteVolume, unmanageVolume, type DeleteOptions, type UnmanageOptions } from './volume-delete.js';

export const TASK_HANDLERS: HandlerRegistry = {
  ...createHandlers,
  ...deleteHandlers,
  ...attachmentHandlers,
  ...snapshotHandlers,
  ...volumeActionHandlers,
  ...manageHandlers,
  ...migrateHandlers,
  ...imageHandlers,
};

export interface EngineOptions {
  readonly store: Store;
  readonly pools: PoolRegistry;
  readonly images: ImageStore;
  readonly quotaDefaults?: Omit<Quota, 'namespace'>;
  readonly secrets: SecretBox;
  /** false: this process only queues tasks (another runs them). */
  readonly runTasks?: boolean;
  readonly runner?: RunnerOptions;
}

export class Engine {
  readonly store: Store;
  readonly pools: PoolRegistry;
  readonly runner: TaskRunner;
  private readonly ctx: EngineContext;
  private readonly reconciler: Reconciler;
  private readonly runTasks: boolean;
  /** Volume list pages as of the latest index (32 pages: a few MiB, 32 MiB at the most for pages of 1,000). */
  private readonly volumePages = new PageCache<JsonPage>(32);

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.pools = options.pools;
    this.runTasks = options.runTasks ?? true;
    this.runner = new TaskRunner(options.store, options.pools, options.images, TASK_HANDLERS, options.runner);
    this.reconciler = new Reconciler(options.store, options.pools, this.runner);
    this.ctx = {
      store: options.store,
      pools: options.pools,
      images: options.images,
      quotaDefaults: options.quotaDefaults ?? UNLIMITED,
      secrets: options.secrets,
      wake: () => this.runner.wake(),
      offerSlot: () => (this.runTasks ? this.runner.offer() : undefined),
      cancelTask: (tx, task, message) => this.runner.cancel(tx, task, message),
    };
  }

  /** Recovers what a crash interrupted, then starts running tasks. */
  async start(): Promise<RecoveryReport> {
    if (!this.runTasks) return { resumed: [], failed: [], rolledBack: [] };
    for (const id of this.pools.ids()) await this.pools.driver(id).recover();
    const report = await this.reconciler.recover();
    this.runner.start();
    this.pools.startRefreshing();
    return report;
  }

  async stop(): Promise<void> {
    this.pools.stopRefreshing();
    await this.runner.stop();
  }

  /** Every broken promise (stuck statuses, lost or orphaned storage, usage that does not add up); empty when all holds. */
  checkInvariants = (): Promise<Violation[]> => checkInvariants(this.store, this.pools);

  /** Storage objects no record knows; run once resumed work has drained. */
  reportOrphans(): Promise<Orphan[]> {
    return this.reconciler.reportOrphans();
  }

  // ---- volumes ----
  createVolume = (input: CreateVolumeInput): Promise<Accepted<Volume>> => createVolume(this.ctx, input);
  deleteVolume = (id: string, options?: DeleteOptions): Promise<Accepted<Volume>> => deleteVolume(this.ctx, id, options);
  getVolume = (id: string): Promise<Volume> => mustGetVolume(this.store, id);
  listVolumes = (query: VolumeQuery): Promise<ListPage<Volume>> => this.store.listVolumes(query);
  /** A page as JSON text, written from the stored records (for answers that pass them on unchanged). */
  listVolumesJson = async (query: VolumeQuery): Promise<JsonPage> => {
    const index = await this.store.latestIndex();
    return this.volumePages.get(JSON.stringify(query), index, () => this.store.listVolumesJson(query));
  };
  /** One volume as JSON text, as stored. */
  getVolumeJson = async (id: string): Promise<string> => found('volume', id, await this.store.getVolumeJson(id));
  updateVolume = (id: string, update: VolumeFieldsUpdate): Promise<Volume> => updateVolume(this.ctx, id, update);
  /** Cluster metadata changed by a delta (entities replaced or deleted, a cluster removed); `field` names the input in errors. */
  updateClusterMetadata = (id: string, update: MetadataUpdate, field?: string): Promise<Volume> => updateClusterMetadata(this.ctx, id, update, field);
  /** NFS access rules of a file volume changed by a delta (added, replaced or deleted by IP spec). */
  configureAccessRules = (id: string, changes: readonly AclChange[], ruleField?: (index: number) => string): Promise<Volume> => configureAccessRules(this.ctx, id, changes, ruleField);
  /** Volumes by CNS's query filters, with compliance and health, and the total of matches. */
  searchVolumes = (search: VolumeSearch): Promise<VolumeSearchResult> =>
    searchVolumes(this.store, search, async (v) => {
      if (!this.pools.ids().includes(v.poolId)) return undefined;
      const driver = this.pools.driver(v.poolId);
      const condition = driver.condition ? await driver.condition({ id: v.id, externalId: v.externalId, kind: v.kind }).catch(() => null) : null;
      return condition?.abnormal;
    });
  extendVolume = (id: string, sizeBytes: number, options?: ExtendOptions): Promise<Accepted<Volume>> => extendVolume(this.ctx, id, sizeBytes, options);
  completeExtend = (id: string, succeeded: boolean): Promise<Volume> => completeExtend(this.ctx, id, succeeded);
  revertVolume = (id: string, snapshotId: string): Promise<Accepted<Volume>> => revertVolume(this.ctx, id, snapshotId);
  retypeVolume = (id: string, input: RetypeInput): Promise<Accepted<Volume>> => retypeVolume(this.ctx, id, input);
  migrateVolume = (id: string, input?: MigrateInput): Promise<Accepted<Volume>> => migrateVolume(this.ctx, id, input);
  resetVolumeStatus = (id: string, input: ResetStatusInput): Promise<Volume> => resetVolumeStatus(this.ctx, id, input);
  reserveVolume = (id: string): Promise<Volume> => holdVolume(this.ctx, id, 'reserve');
  unreserveVolume = (id: string): Promise<Volume> => holdVolume(this.ctx, id, 'unreserve');
  /** A host is about to detach (in-use → detaching, no task); rollDetaching undoes it. */
  beginDetaching = (id: string): Promise<Volume> => holdVolume(this.ctx, id, 'beginDetaching');
  rollDetaching = (id: string): Promise<Volume> => holdVolume(this.ctx, id, 'rollDetaching');
  manageVolume = (input: ManageVolumeInput): Promise<Accepted<Volume>> => manageVolume(this.ctx, input);
  unmanageVolume = (id: string, options?: UnmanageOptions): Promise<Accepted<Volume>> => unmanageVolume(this.ctx, id, options);
  listManageableVolumes = (poolId: string): Promise<ManageableObject[]> => listManageableVolumes(this.ctx, poolId);
  listManageableSnapshots = (poolId: string): Promise<ManageableObject[]> => listManageableSnapshots(this.ctx, poolId);

  /** The volume's secrets, opened for a driver call (never for an API answer). */
  readVolumeSecrets = async (id: string): Promise<Record<string, string>> => {
    const sealed = await this.store.getVolumeSecrets(id);
    return sealed ? this.ctx.secrets.open(sealed) : {};
  };

  getQuota = async (namespace: string): Promise<Quota> => (await this.store.getQuota(namespace)) ?? { namespace, ...this.ctx.quotaDefaults };

  // ---- attachments ----
  attachVolume = (id: string, input: AttachInput): Promise<AttachAccepted> => attachVolume(this.ctx, id, input);
  detachVolume = (id: string, attachmentId: string, options?: { force?: boolean }): Promise<AttachAccepted> => detachVolume(this.ctx, id, attachmentId, options);
  reserveAttachment = (volumeId: string, input: ReserveInput): Promise<Attachment> => reserveAttachment(this.ctx, volumeId, input);
  connectAttachment = (attachmentId: string, input: { node: string; connector?: Readonly<Record<string, unknown>>; mountpoint?: string }): Promise<AttachAccepted> => connectAttachment(this.ctx, attachmentId, input);
  releaseAttachment = (attachmentId: string): Promise<void> => releaseAttachment(this.ctx, attachmentId);
  completeAttachment = (attachmentId: string): Promise<Attachment> => completeAttachment(this.ctx, attachmentId);
  /** The attachments of a namespace's volumes (every namespace when undefined), oldest first. */
  listAttachmentsIn = (namespace: string | undefined, limit: number): Promise<readonly Attachment[]> => this.store.listAttachmentsIn(namespace, limit);
  listAttachments = async (volumeId: string): Promise<readonly Attachment[]> => {
    await mustGetVolume(this.store, volumeId);
    return this.store.listAttachments(volumeId);
  };

  // ---- snapshots ----
  createSnapshot = (volumeId: string, input: CreateSnapshotInput): Promise<Accepted<Snapshot>> => createSnapshot(this.ctx, volumeId, input);
  deleteSnapshot = (id: string, options?: { force?: boolean; secrets?: Readonly<Record<string, string>> }): Promise<Accepted<Snapshot>> => deleteSnapshot(this.ctx, id, options);
  getSnapshot = (id: string): Promise<Snapshot> => mustGetSnapshot(this.store, id);
  updateSnapshot = (id: string, patch: { name?: string; description?: string; labels?: Record<string, string> }): Promise<Snapshot> => updateSnapshot(this.ctx, id, patch);
  manageSnapshot = (input: ManageSnapshotInput): Promise<Accepted<Snapshot>> => manageSnapshot(this.ctx, input);
  unmanageSnapshot = (id: string): Promise<Accepted<Snapshot>> => unmanageSnapshot(this.ctx, id);
  resetSnapshotStatus = (id: string, status: SnapshotStatus): Promise<Snapshot> => resetSnapshotStatus(this.ctx, id, status);

  // ---- images ----
  uploadVolumeToImage = (id: string, input: { imageName: string }): Promise<UploadAccepted> => uploadVolumeToImage(this.ctx, id, input);
  reimageVolume = (id: string, imageId: string): Promise<Accepted<Volume>> => reimageVolume(this.ctx, id, imageId);
  createImage = (input: { name: string; namespace?: string }, data: Readable): Promise<Image> => createImageFromBytes(this.ctx, input, data);
  deleteImage = (id: string): Promise<void> => deleteImage(this.ctx, id);
  readImage = async (id: string): Promise<{ image: Image; stream: Readable; sizeBytes: number }> => {
    const image = await this.store.getImage(id);
    if (!image) throw new NotFoundError('image', id);
    return { image, ...(await this.ctx.images.read(id)) };
  };

  // ---- types ----
  createType = (input: TypeInput): Promise<VolumeType> => typesApi.create(this.ctx, input);
  updateType = (id: string, patch: Partial<TypeInput>): Promise<VolumeType> => typesApi.update(this.ctx, id, patch);
  deleteType = (id: string): Promise<void> => typesApi.remove(this.ctx, id);

  // ---- quotas ----
  /** The limits of a namespace that has no quota of its own. */
  quotaDefaults = (): Omit<Quota, 'namespace'> => ({ ...this.ctx.quotaDefaults });
  setQuota = async (quota: Quota): Promise<Quota> => {
    for (const key of ['volumes', 'gigabytes', 'snapshots'] as const) {
      if (!Number.isInteger(quota[key]) || quota[key] < -1) throw new InvalidInputError('must be a whole number, or -1 for unlimited', key);
    }
    return this.store.transact((tx) => tx.setQuota(quota));
  };

  // ---- tasks ----
  getTask = async (id: string): Promise<Task> => {
    const task = await this.store.getTask(id);
    if (!task) throw new NotFoundError('task', id);
    return isBatch(task) ? composeBatch(this.store, task) : task;
  };
  /** Many specs at once, each its own operation; one task whose items are their outcomes in order (see batches.ts). */
  submitBatch = (input: BatchInput): Promise<Task> => submitBatch(this.ctx, input);

  /**
   * Resolves with the task once it has ended, or as it is when `timeoutMs`
   * passes. Only the commits that change this task wake the waiter, and the
   * committed record is used as it is, without reading it again.
   */
  async waitForTask(id: string, timeoutMs: number, signal?: AbortSignal): Promise<Task> {
    const deadline = Date.now() + timeoutMs;
    // Watching before the read: a commit between the two is not missed, and the task is read once.
    const watcher = this.store.watch({ keys: [id] });
    try {
      let task = await this.getTask(id);
      if (isBatch(task)) {
        watcher.close();
        // A batch ends when its items' tasks have: wait for each in turn.
        for (const item of task.items) {
          const taskId = item.result?.taskId;
          if (typeof taskId === 'string' && Date.now() < deadline) await this.waitForTask(taskId, deadline - Date.now(), signal);
        }
        return this.getTask(id);
      }
      while (!taskEnded(task)) {
        const change = await watcher.next(deadline - Date.now(), signal);
        if (!change) break;
        if (change.topic === 'task' && change.type === 'updated') task = change.payload as unknown as Task;
      }
      return task;
    } finally {
      watcher.close();
    }
  }

  // ---- reads: surfaces read through the engine, never the store ----
  listSnapshots = (query: SnapshotQuery): Promise<ListPage<Snapshot>> => this.store.listSnapshots(query);
  listTasks = async (query: TaskQuery): Promise<ListPage<Task>> => {
    const page = await this.store.listTasks(query);
    if (!page.items.some(isBatch)) return page;
    const items: Task[] = [];
    for (const t of page.items) items.push(isBatch(t) ? await composeBatch(this.store, t) : t);
    return { ...page, items };
  };
  getAttachment = async (id: string): Promise<Attachment> => found('attachment', id, await this.store.getAttachment(id));
  listPools = (): Promise<readonly Pool[]> => this.store.listPools();
  getPool = async (id: string): Promise<Pool> => found('pool', id, await this.store.getPool(id));
  listTypes = (): Promise<readonly VolumeType[]> => this.store.listTypes();
  getType = async (idOrName: string): Promise<VolumeType> => found('type', idOrName, await this.store.getType(idOrName));
  listImages = (query: ImageQuery): Promise<ListPage<Image>> => this.store.listImages(query);
  getImage = async (id: string): Promise<Image> => found('image', id, await this.store.getImage(id));
  usage = (namespace: string): Promise<Usage> => this.store.usage(namespace);
  /** Every namespace that holds anything or has a quota (what a token's list may span). */
  listNamespaces = (): Promise<readonly string[]> => this.store.listNamespaces();
  listEvents = (afterIndex: number, limit: number, topics?: readonly EventTopic[]): Promise<readonly VolumedEvent[]> => this.store.listEvents(afterIndex, limit, topics);
  /** The namespace a record lives in, or undefined when there is no such record. */
  async namespaceOf(kind: 'volume' | 'snapshot' | 'task' | 'image', id: string): Promise<string | undefined> {
    const record = kind === 'volume' ? await this.store.getVolume(id) : kind === 'snapshot' ? await this.store.getSnapshot(id) : kind === 'task' ? await this.store.getTask(id) : await this.store.getImage(id);
    return record?.namespace;
  }
  /** Counts for metrics. */
  async stats(): Promise<{ tasksByState: Readonly<Record<string, number>>; volumesByStatus: Readonly<Record<string, number>>; provisionedBytes: Readonly<Record<string, number>> }> {
    const provisioned: Record<string, number> = {};
    for (const id of this.pools.ids()) provisioned[id] = await this.store.provisionedBytes(id);
    return { tasksByState: await this.store.countTasksByState(), volumesByStatus: await this.store.countVolumesByStatus(), provisionedBytes: provisioned };
  }

  // ---- watching (blocking queries on every surface) ----

  /** The index of the newest committed change. */
  latestIndex = (): Promise<number> => this.store.latestIndex();

  /**
   * Resolves with the latest index once a change after `afterIndex` matches
   * `filter` (topics and/or keys; none = anything), or when `timeoutMs` passes.
   */
  waitForChange = (afterIndex: number, filter: ChangeFilter, timeoutMs: number, signal?: AbortSignal): Promise<number> =>
    this.store.waitForIndex(afterIndex, timeoutMs, signal, filter);

  /** A subscription to committed changes (event streams). */
  watch = (filter: ChangeFilter): Watcher => this.store.watch(filter);
}

function taskEnded(task: Task): boolean {
  return task.state === 'success' || task.state === 'error';
}

function found<T>(kind: string, id: string, record: T | undefined): T {
  if (record === undefined) throw new NotFoundError(kind, id);
  return record;
}
