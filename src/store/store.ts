// The Store interface (docs/architecture.md §4): durable state behind one interface with
// an SQLite and (later) a PostgreSQL implementation, both held to
// store.conformance.ts. Every write happens inside `transact`, gets the
// transaction's index, and appends events with it.

import type { AclToken, Policy } from '../domain/acl.js';
import type {
  Attachment,
  EventTopic,
  Image,
  Pool,
  Quota,
  Snapshot,
  SnapshotStatus,
  Task,
  TaskState,
  Volume,
  VolumedEvent,
  VolumeStatus,
  VolumeType,
} from '../domain/types.js';

import type { ChangeFilter, CommittedChange, Watcher } from './changes.js';

type Stamped = 'createIndex' | 'modifyIndex' | 'createdAt' | 'updatedAt';
export type NewVolume = Omit<Volume, Stamped>;
export type NewSnapshot = Omit<Snapshot, Stamped>;
export type NewAttachment = Omit<Attachment, Stamped>;
export type NewTask = Omit<Task, 'createdAt' | 'updatedAt'>;
export type NewVolumeType = Omit<VolumeType, 'createdAt'>;
export type NewImage = Omit<Image, 'createdAt' | 'updatedAt'>;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type VolumePatch = Partial<Mutable<Omit<Volume, 'id' | 'namespace' | Stamped>>>;
export type SnapshotPatch = Partial<Mutable<Omit<Snapshot, 'id' | 'volumeId' | 'namespace' | Stamped>>>;
export type AttachmentPatch = Partial<Mutable<Pick<Attachment, 'status' | 'connectionInfo' | 'mountpoint' | 'node' | 'connector'>>>;
export type TaskPatch = Partial<Mutable<Omit<Task, 'id' | 'createdAt' | 'updatedAt'>>>;
export type ImagePatch = Partial<Mutable<Pick<Image, 'status' | 'sizeBytes' | 'checksum' | 'name'>>>;
export type TypePatch = Partial<Mutable<Pick<VolumeType, 'name' | 'description' | 'isPublic' | 'extraSpecs'>>>;

/** Compare-and-set: the update applies only if the record still matches. */
export interface VolumeExpectation {
  readonly status?: readonly VolumeStatus[];
  readonly modifyIndex?: number;
  readonly migrationStatus?: readonly Volume['migrationStatus'][];
}

export interface SnapshotExpectation {
  readonly status?: readonly SnapshotStatus[];
  readonly modifyIndex?: number;
}

export type SortDirection = 'asc' | 'desc';

export interface VolumeQuery {
  readonly namespace?: string;
  /** Only these namespaces (what a token may see); an empty list matches nothing. */
  readonly namespaces?: readonly string[];
  readonly status?: readonly VolumeStatus[];
  readonly poolId?: string;
  readonly typeId?: string;
  readonly namePrefix?: string;
  /** Exactly this name. */
  readonly name?: string;
  /** Every pair must match. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly createdAfter?: string;
  readonly createdBefore?: string;
  readonly updatedAfter?: string;
  readonly updatedBefore?: string;
  readonly bootable?: boolean;
  /** Ids starting with this (Nomad's prefix). */
  readonly idPrefix?: string;
  /** Ids from this one on, inclusive (Nomad's next_token); with sort `id`. */
  readonly idFrom?: string;
  /** Volumes with an attachment on a node whose name starts with this. */
  readonly attachedNodePrefix?: string;
  readonly sort?: 'createdAt' | 'name' | 'sizeBytes' | 'id';
  readonly direction?: SortDirection;
  readonly limit?: number;
  readonly cursor?: string;
  /** Start after this volume in the chosen order (a marker, as Cinder's); it must match the filters' namespace. */
  readonly afterId?: string;
  /** Skip this many rows first. */
  readonly offset?: number;
}

export interface SnapshotQuery {
  readonly namespace?: string;
  readonly namespaces?: readonly string[];
  readonly volumeId?: string;
  /** Snapshots of volumes in this pool. */
  readonly poolId?: string;
  readonly status?: readonly SnapshotStatus[];
  readonly limit?: number;
  readonly cursor?: string;
  /** Start after this snapshot (a marker, as Cinder's). */
  readonly afterId?: string;
}

export interface TaskQuery {
  readonly namespace?: string;
  readonly namespaces?: readonly string[];
  readonly state?: readonly TaskState[];
  readonly resourceId?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

export interface ImageQuery {
  readonly namespace?: string;
  readonly namespaces?: readonly string[];
  readonly limit?: number;
  readonly cursor?: string;
}

/** A page of records as one JSON array, written from the stored documents. */
export interface JsonPage {
  readonly json: string;
  readonly count: number;
  readonly nextCursor: string | null;
}

export interface ListPage<T> {
  readonly items: readonly T[];
  /** Opaque; null on the last page. */
  readonly nextCursor: string | null;
}

export interface Usage {
  readonly volumes: number;
  /** `bytes` rounded up to whole GiB, as Cinder shows usage. */
  readonly gigabytes: number;
  readonly bytes: number;
  readonly snapshots: number;
}

export interface StoreReader {
  getVolume(id: string): Promise<Volume | undefined>;
  listVolumes(query: VolumeQuery): Promise<ListPage<Volume>>;
  /** The same page as JSON text (`[{...},...]`), for answers that only pass records on. */
  listVolumesJson(query: VolumeQuery): Promise<JsonPage>;
  /** Volumes in these statuses that no queued or running task works on, in id order after `afterId` (what a crash stranded). */
  listVolumesWithoutTask(statuses: readonly VolumeStatus[], afterId: string | null, limit: number): Promise<readonly Volume[]>;
  /** Snapshots likewise. */
  listSnapshotsWithoutTask(statuses: readonly SnapshotStatus[], afterId: string | null, limit: number): Promise<readonly Snapshot[]>;
  /** One volume's stored JSON document, or undefined. */
  getVolumeJson(id: string): Promise<string | undefined>;
  /** Every volume in a pool (externalIds for orphan reports), a page at a time. */
  listVolumesInPool(poolId: string, afterId: string | null, limit: number): Promise<readonly Volume[]>;
  /** Which of these storage objects of a pool have a volume record: externalId → volume id. */
  findVolumesByExternalId(poolId: string, externalIds: readonly string[]): Promise<ReadonlyMap<string, string>>;
  getSnapshot(id: string): Promise<Snapshot | undefined>;
  /** externalId → snapshot id, for snapshots of volumes in any pool. */
  findSnapshotsByExternalId(externalIds: readonly string[]): Promise<ReadonlyMap<string, string>>;
  listSnapshots(query: SnapshotQuery): Promise<ListPage<Snapshot>>;
  countSnapshots(volumeId: string): Promise<number>;
  getAttachment(id: string): Promise<Attachment | undefined>;
  listAttachments(volumeId: string): Promise<readonly Attachment[]>;
  /** The attachments of the volumes of a namespace (all when undefined), oldest first. */
  listAttachmentsIn(namespace: string | undefined, limit: number): Promise<readonly Attachment[]>;
  getTask(id: string): Promise<Task | undefined>;
  listTasks(query: TaskQuery): Promise<ListPage<Task>>;
  /** Queued tasks due now whose lock key no running task holds, oldest first. */
  listClaimableTasks(now: string, limit: number): Promise<readonly Task[]>;
  /** Whether any task is queued (claimable or not). */
  hasQueuedTasks(): Promise<boolean>;
  listRunningTasks(): Promise<readonly Task[]>;
  /** The running tasks that hold any of these lock keys. */
  lockHolders(lockKeys: readonly string[]): Promise<readonly Task[]>;
  /** Whether any task not yet ended (queued or running) holds one of these lock keys. */
  lockBusy(lockKeys: readonly string[]): Promise<boolean>;
  /** Every task on a resource that has not ended, oldest first (no page limit: the set is small by nature). */
  liveTasksFor(resourceId: string): Promise<readonly Task[]>;
  /** Volumes made from this snapshot, volume or image, in these statuses (indexed). */
  volumesFromSource(sourceId: string, status: readonly VolumeStatus[]): Promise<readonly Volume[]>;
  /** Attachments in attaching or detaching (work that should have a live task). */
  listStrandedAttachments(): Promise<readonly Attachment[]>;
  /** Every snapshot of a volume (indexed; no page limit). */
  snapshotsOf(volumeId: string): Promise<readonly Snapshot[]>;
  /** The newest task on a resource that has not ended. */
  activeTaskFor(resourceId: string): Promise<Task | undefined>;
  getType(idOrName: string): Promise<VolumeType | undefined>;
  listTypes(): Promise<readonly VolumeType[]>;
  getPool(id: string): Promise<Pool | undefined>;
  listPools(): Promise<readonly Pool[]>;
  getImage(id: string): Promise<Image | undefined>;
  listImages(query: ImageQuery): Promise<ListPage<Image>>;
  getQuota(namespace: string): Promise<Quota | undefined>;
  usage(namespace: string): Promise<Usage>;
  /** Sum of provisioned bytes in a pool. */
  provisionedBytes(poolId: string): Promise<number>;
  listEvents(afterIndex: number, limit: number, topics?: readonly EventTopic[]): Promise<readonly VolumedEvent[]>;
  latestIndex(): Promise<number>;
  countTasksByState(): Promise<Readonly<Record<string, number>>>;
  /** Every namespace that holds anything (volumes, snapshots, images) or has a quota. */
  listNamespaces(): Promise<readonly string[]>;
  /** Ciphertext only: the engine holds the key. */
  getVolumeSecrets(id: string): Promise<string | null>;
  getSnapshotSecrets(id: string): Promise<string | null>;
  getPolicy(name: string): Promise<Policy | undefined>;
  listPolicies(): Promise<readonly Policy[]>;
  getToken(id: string): Promise<AclToken | undefined>;
  findTokenBySecretHash(secretHash: string): Promise<AclToken | undefined>;
  listTokens(): Promise<readonly AclToken[]>;
  countVolumesByStatus(): Promise<Readonly<Record<string, number>>>;
}

export interface StoreTx extends StoreReader {
  /** The index every change in this transaction is stamped with. */
  readonly index: number;
  insertVolume(volume: NewVolume): Promise<Volume>;
  /** Throws InvalidStateError / ConflictError (naming the volume) when `expect` no longer holds. */
  updateVolume(id: string, patch: VolumePatch, expect?: VolumeExpectation): Promise<Volume>;
  deleteVolume(id: string): Promise<void>;
  insertSnapshot(snapshot: NewSnapshot): Promise<Snapshot>;
  updateSnapshot(id: string, patch: SnapshotPatch, expect?: SnapshotExpectation): Promise<Snapshot>;
  deleteSnapshot(id: string): Promise<void>;
  insertAttachment(attachment: NewAttachment): Promise<Attachment>;
  /** With `expectStatus`, applies only if the attachment is still in one of those statuses (InvalidStateError otherwise). */
  updateAttachment(id: string, patch: AttachmentPatch, expectStatus?: readonly Attachment['status'][]): Promise<Attachment>;
  deleteAttachment(id: string): Promise<void>;
  insertTask(task: NewTask): Promise<Task>;
  /** With `expectState`, applies only if the task is still in one of those states. */
  /** `patch` may be made from the current task, read once here (a claim counts its attempts so). */
  updateTask(id: string, patch: TaskPatch | ((current: Task) => TaskPatch), expectState?: readonly TaskState[], quiet?: boolean): Promise<Task>;
  insertType(type: NewVolumeType): Promise<VolumeType>;
  updateType(id: string, patch: TypePatch): Promise<VolumeType>;
  deleteType(id: string): Promise<void>;
  upsertPool(pool: Pool): Promise<Pool>;
  insertImage(image: NewImage): Promise<Image>;
  updateImage(id: string, patch: ImagePatch): Promise<Image>;
  deleteImage(id: string): Promise<void>;
  setQuota(quota: Quota): Promise<Quota>;
  setVolumeSecrets(id: string, ciphertext: string | null): Promise<void>;
  setSnapshotSecrets(id: string, ciphertext: string | null): Promise<void>;
  upsertPolicy(policy: Policy): Promise<Policy>;
  deletePolicy(name: string): Promise<void>;
  insertToken(token: AclToken, secretHash: string): Promise<AclToken>;
  deleteToken(id: string): Promise<void>;
  /** Succeeds once; ConflictError ever after (ACL bootstrap). */
  markAclBootstrapped(): Promise<void>;
  /** Runs once this transaction has committed (never if it rolls back). */
  afterCommit(fn: () => void): void;
  /** Runs if this transaction rolls back. */
  afterRollback(fn: () => void): void;
  /** An event with no record change behind it (e.g. an orphan report). */
  emit(topic: EventTopic, type: string, key: string, namespace: string | null, payload: Readonly<Record<string, unknown>>): Promise<void>;
}

export interface Store extends StoreReader {
  /** True when this process alone owns the data (embedded SQLite): the reconciler may take over every running task. */
  readonly exclusive: boolean;
  /**
   * Runs `fn` as one transaction with its own index. Concurrent calls may be
   * committed together (group commit), each still all-or-nothing on its own;
   * the promise settles once the commit is durable.
   */
  transact<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /**
   * Resolves with the latest index once a change after `afterIndex` matches
   * `filter` (any change without one), or when `timeoutMs` passes.
   */
  waitForIndex(afterIndex: number, timeoutMs: number, signal?: AbortSignal, filter?: ChangeFilter): Promise<number>;
  /** Subscribes to committed changes matching `filter` (this process's commits, and other writers' found in the event log). */
  watch(filter: ChangeFilter): Watcher;
  /** Every committed batch of changes, as it commits. */
  onChanges(listener: (changes: readonly CommittedChange[]) => void): () => void;
  close(): Promise<void>;
}
