// The engine: the only place that decides. Surfaces call these methods; each
// checks the state machine and quotas, writes the new status and a task in one
// transaction, and returns at once; the runner does the driver work.

import type { Readable } from 'node:stream';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import type { Attachment, Image, ManageableObject, Quota, Snapshot, Task, Volume, VolumeType } from '../domain/types.js';
import type { ImageStore } from '../images/image-store.js';
import type { SecretBox } from '../security/secret-box.js';
import type { ListPage, Store, VolumeQuery } from '../store/store.js';
import { attachmentHandlers, attachVolume, detachVolume, holdVolume, type AttachAccepted, type AttachInput } from './attachments.js';
import type { Accepted, EngineContext } from './context.js';
import { mustGetSnapshot, mustGetVolume } from './context.js';
import { createImageFromBytes, deleteImage, imageHandlers, reimageVolume, uploadVolumeToImage, type UploadAccepted } from './images.js';
import { listManageableSnapshots, listManageableVolumes, manageHandlers, manageVolume, type ManageVolumeInput } from './manage.js';
import { migrateHandlers, migrateVolume, retypeVolume, type MigrateInput, type RetypeInput } from './migrate.js';
import type { PoolRegistry } from './pools.js';
import { UNLIMITED } from './quotas.js';
import {
  createSnapshot,
  deleteSnapshot,
  manageSnapshot,
  snapshotHandlers,
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
import { deleteHandlers, deleteVolume, unmanageVolume, type DeleteOptions } from './volume-delete.js';

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
    };
  }

  /** Recovers what a crash interrupted, then starts running tasks. */
  async start(): Promise<RecoveryReport> {
    if (!this.runTasks) return { resumed: [], failed: [], rolledBack: [] };
    const report = await this.reconciler.recover();
    this.runner.start();
    return report;
  }

  async stop(): Promise<void> {
    await this.runner.stop();
  }

  /** Storage objects no record knows; run once resumed work has drained. */
  reportOrphans(): Promise<Orphan[]> {
    return this.reconciler.reportOrphans();
  }

  // ---- volumes ----
  createVolume = (input: CreateVolumeInput): Promise<Accepted<Volume>> => createVolume(this.ctx, input);
  deleteVolume = (id: string, options?: DeleteOptions): Promise<Accepted<Volume>> => deleteVolume(this.ctx, id, options);
  getVolume = (id: string): Promise<Volume> => mustGetVolume(this.store, id);
  listVolumes = (query: VolumeQuery): Promise<ListPage<Volume>> => this.store.listVolumes(query);
  updateVolume = (id: string, update: VolumeFieldsUpdate): Promise<Volume> => updateVolume(this.ctx, id, update);
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
  unmanageVolume = (id: string): Promise<Accepted<Volume>> => unmanageVolume(this.ctx, id);
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
  listAttachments = async (volumeId: string): Promise<readonly Attachment[]> => {
    await mustGetVolume(this.store, volumeId);
    return this.store.listAttachments(volumeId);
  };

  // ---- snapshots ----
  createSnapshot = (volumeId: string, input: CreateSnapshotInput): Promise<Accepted<Snapshot>> => createSnapshot(this.ctx, volumeId, input);
  deleteSnapshot = (id: string, options?: { force?: boolean }): Promise<Accepted<Snapshot>> => deleteSnapshot(this.ctx, id, options);
  getSnapshot = (id: string): Promise<Snapshot> => mustGetSnapshot(this.store, id);
  updateSnapshot = (id: string, patch: { name?: string; description?: string; labels?: Record<string, string> }): Promise<Snapshot> => updateSnapshot(this.ctx, id, patch);
  manageSnapshot = (input: ManageSnapshotInput): Promise<Accepted<Snapshot>> => manageSnapshot(this.ctx, input);
  unmanageSnapshot = (id: string): Promise<Accepted<Snapshot>> => unmanageSnapshot(this.ctx, id);

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
    return task;
  };

  /** Resolves with the task once it has ended, or as it is when `timeoutMs` passes. */
  async waitForTask(id: string, timeoutMs: number, signal?: AbortSignal): Promise<Task> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = await this.store.latestIndex();
      const task = await this.getTask(id);
      const left = deadline - Date.now();
      if (task.state === 'success' || task.state === 'error' || left <= 0 || signal?.aborted) return task;
      await this.store.waitForIndex(index, left, signal);
    }
  }
}
