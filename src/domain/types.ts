// Plain value types of volumed's domain (docs/architecture.md §2-3). Records are immutable
// values: every change goes through the store as a new value.

export type VolumeKind = 'block' | 'file';

export const VOLUME_STATUSES = [
  'creating',
  'downloading',
  'available',
  'reserved',
  'attaching',
  'in-use',
  'detaching',
  'extending',
  'reverting',
  'retyping',
  'uploading',
  'managing',
  'unmanaging',
  'deleting',
  'error',
  'error_managing',
  'error_extending',
  'error_deleting',
] as const;
export type VolumeStatus = (typeof VOLUME_STATUSES)[number];

export type AttachStatus =
  | 'detached'
  | 'attaching'
  | 'attached'
  | 'detaching'
  | 'error_attaching'
  | 'error_detaching';

export type MigrationStatus = 'none' | 'starting' | 'migrating' | 'completing' | 'success' | 'error';

export const SNAPSHOT_STATUSES = [
  'creating',
  'available',
  'managing',
  'unmanaging',
  'deleting',
  'error',
  'error_managing',
  'error_deleting',
] as const;
export type SnapshotStatus = (typeof SNAPSHOT_STATUSES)[number];

export const ACCESS_MODES = [
  'single-node-reader-only',
  'single-node-writer',
  'single-node-single-writer',
  'single-node-multi-writer',
  'multi-node-reader-only',
  'multi-node-single-writer',
  'multi-node-multi-writer',
] as const;
export type AccessMode = (typeof ACCESS_MODES)[number];
export type AttachmentMode = 'filesystem' | 'block';

export interface AccessModeRequest {
  readonly accessMode: AccessMode;
  readonly attachmentMode: AttachmentMode;
}

export type Labels = Readonly<Record<string, string>>;

export interface PoolCapacity {
  readonly totalBytes: number;
  readonly freeBytes: number;
  /** The largest volume the pool can make (a file system's largest file), when the driver knows it. */
  readonly maxVolumeBytes?: number;
}

export interface Pool {
  readonly id: string;
  readonly driver: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly capabilities: DriverCapabilitySet;
  readonly capacity: PoolCapacity;
  readonly topology: Labels;
}

/** What a driver can do; the engine refuses anything not listed (docs/architecture.md §7). */
export interface DriverCapabilitySet {
  readonly kinds: readonly VolumeKind[];
  readonly snapshot: boolean;
  readonly createFromSnapshot: boolean;
  readonly cloneVolume: boolean;
  readonly revertToSnapshot: boolean;
  readonly extend: boolean;
  readonly onlineExtend: boolean;
  readonly publish: boolean;
  readonly manage: boolean;
  readonly listVolumes: boolean;
  /** Byte streams in and out: migration, upload to image, create from image. */
  readonly streams: boolean;
  readonly thinProvisioning: boolean;
}

export interface VolumeType {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly isPublic: boolean;
  readonly extraSpecs: Readonly<Record<string, string>>;
  readonly createdAt: string;
}

export type VolumeSource =
  | { readonly snapshotId: string }
  | { readonly volumeId: string }
  | { readonly imageId: string };

/** The id of the snapshot, volume or image a volume was made from. */
export function sourceIdOf(source: VolumeSource | null | undefined): string | null {
  if (!source) return null;
  return 'snapshotId' in source ? source.snapshotId : 'volumeId' in source ? source.volumeId : source.imageId;
}

export const ENTITY_TYPES = ['PERSISTENT_VOLUME', 'PERSISTENT_VOLUME_CLAIM', 'POD'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/** An entity of another (or the same) cluster that this one refers to: a PV's claim, a claim's pod. */
export interface EntityReference {
  readonly entityType: EntityType;
  readonly entityName: string;
  readonly namespace?: string;
  readonly clusterId?: string;
}

export interface ClusterEntityMetadata {
  readonly entityType: EntityType;
  readonly entityName: string;
  readonly namespace?: string;
  readonly labels: Labels;
  readonly referredEntities?: readonly EntityReference[];
}

export interface ContainerCluster {
  readonly clusterId: string;
  readonly clusterType: string;
  readonly clusterFlavor: string;
  readonly vSphereUser?: string;
  readonly clusterDistribution?: string;
  readonly entities: readonly ClusterEntityMetadata[];
}

export interface AclRule {
  readonly ips: string;
  readonly permissions: 'READ_ONLY' | 'READ_WRITE' | 'NO_ACCESS';
  readonly rootSquash: boolean;
}

/**
 * What a CSI-speaking client (Nomad, the CSI plugin) asked for when it made or
 * registered the volume, kept for its own reads and for CSI drivers: the
 * filesystem to mount, the plugin parameters, the volume context the
 * storage returned, and the capacity range requested.
 */
export interface CsiAttributes {
  readonly fsType: string;
  readonly parameters: Labels;
  readonly context: Labels;
  readonly capacityMin: number;
  readonly capacityMax: number;
}

export interface Volume {
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  readonly description: string;
  readonly sizeBytes: number;
  readonly status: VolumeStatus;
  readonly attachStatus: AttachStatus;
  readonly migrationStatus: MigrationStatus;
  /** The status to return to when a transitional action ends. */
  readonly previousStatus: VolumeStatus | null;
  readonly poolId: string;
  readonly typeId: string | null;
  readonly externalId: string | null;
  readonly kind: VolumeKind;
  readonly accessModes: readonly AccessModeRequest[];
  readonly mountOptions: readonly string[];
  readonly bootable: boolean;
  readonly readonly: boolean;
  readonly multiattach: boolean;
  readonly labels: Labels;
  readonly imageMetadata: Labels;
  readonly adminMetadata: Labels;
  readonly clusters: readonly ContainerCluster[];
  readonly aclRules: readonly AclRule[];
  readonly source: VolumeSource | null;
  readonly topology: Labels;
  readonly lastError: string | null;
  readonly csi?: CsiAttributes;
  /**
   * Engine state, never writable through an update: bytes an accepted extend
   * has reserved against the quota until it ends, and the task whose online
   * extend awaits the node's completion.
   */
  readonly reservedBytes?: number;
  readonly extendAwaiting?: string | null;
  readonly createIndex: number;
  readonly modifyIndex: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface Snapshot {
  readonly id: string;
  readonly volumeId: string;
  readonly namespace: string;
  readonly name: string;
  readonly description: string;
  readonly sizeBytes: number;
  readonly status: SnapshotStatus;
  readonly externalId: string | null;
  readonly readyToUse: boolean;
  readonly labels: Labels;
  readonly lastError: string | null;
  readonly createIndex: number;
  readonly modifyIndex: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** `reserved`: claimed for an instance whose host is not known yet (Cinder's attachment-create without a connector). */
export type AttachmentStatus = 'reserved' | 'attaching' | 'attached' | 'detaching' | 'error_attaching' | 'error_detaching';

export interface Attachment {
  readonly id: string;
  readonly volumeId: string;
  readonly namespace: string;
  readonly instance: string;
  readonly node: string;
  readonly mode: 'rw' | 'ro';
  readonly accessMode: AccessMode;
  readonly attachmentMode: AttachmentMode;
  readonly mountpoint: string | null;
  readonly connector: Readonly<Record<string, unknown>>;
  readonly connectionInfo: Readonly<Record<string, unknown>> | null;
  readonly status: AttachmentStatus;
  readonly createIndex: number;
  readonly modifyIndex: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type TaskState = 'queued' | 'running' | 'success' | 'error';

export interface TaskItem {
  readonly index: number;
  readonly resourceId: string | null;
  readonly state: TaskState;
  readonly result: Readonly<Record<string, unknown>> | null;
  readonly fault: string | null;
}

export interface Task {
  readonly id: string;
  readonly operation: string;
  readonly namespace: string;
  readonly state: TaskState;
  readonly progress: number;
  /**
   * The volumes the task changes or reads: a task runs only when no running
   * task holds any of its keys and no older queued task waits for one of
   * them (first come, first served per volume, also through a retry's backoff).
   */
  readonly lockKeys: readonly string[];
  readonly resourceType: 'volume' | 'snapshot' | 'attachment' | 'image';
  readonly resourceId: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** Progress of multi-step work, so a resumed task continues rather than restarts. */
  readonly checkpoint: Readonly<Record<string, unknown>>;
  readonly items: readonly TaskItem[];
  readonly attempts: number;
  readonly error: string | null;
  readonly notBefore: string;
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export interface ManageableObject {
  readonly reference: Readonly<Record<string, string>>;
  readonly sizeBytes: number;
  /** Cinder reports manageable sizes in whole GiB, rounded up. */
  readonly sizeGiB: number;
  readonly safeToManage: boolean;
  readonly reasonNotSafe: string | null;
  readonly managedId: string | null;
  readonly extraInfo: Readonly<Record<string, unknown>>;
  /** For snapshots: the volume the snapshot belongs to. */
  readonly sourceReference?: Readonly<Record<string, string>>;
}

export type ImageStatus = 'queued' | 'saving' | 'active' | 'killed';

export interface Image {
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  readonly status: ImageStatus;
  readonly sizeBytes: number;
  readonly checksum: string | null;
  readonly diskFormat: 'raw';
  readonly containerFormat: 'bare';
  readonly sourceVolumeId: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type EventTopic = 'volume' | 'snapshot' | 'attachment' | 'task' | 'type' | 'pool' | 'image' | 'quota' | 'acl';

export interface VolumedEvent {
  readonly index: number;
  readonly topic: EventTopic;
  readonly type: string;
  readonly key: string;
  readonly namespace: string | null;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

export interface Quota {
  readonly namespace: string;
  /** -1 means unlimited. */
  readonly volumes: number;
  readonly gigabytes: number;
  readonly snapshots: number;
}

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

export function roundUpToGiB(bytes: number): number {
  return Math.ceil(bytes / GiB);
}
