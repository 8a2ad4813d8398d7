// The driver interface (docs/architecture.md §7): the CSI controller service plus
// Cinder's manage interface. Drivers hold no state the store does not know, and
// every call is idempotent, keyed by volumed's own ids, so that a task resumed
// after a crash may repeat it safely.

import type { Readable } from 'node:stream';
import { UnsupportedError } from '../domain/errors.js';
import type { AclRule, DriverCapabilitySet, PoolCapacity, VolumeKind } from '../domain/types.js';

export interface VolumeRef {
  /** volumed's id for the volume. */
  readonly id: string;
  /** Where the driver keeps it; null before the driver has created it. */
  readonly externalId: string | null;
  readonly kind: VolumeKind;
}

export interface SnapshotRef {
  readonly id: string;
  readonly externalId: string | null;
  readonly volume: VolumeRef;
}

export interface CreateVolumeRequest {
  readonly id: string;
  readonly sizeBytes: number;
  readonly kind: VolumeKind;
  readonly source?: { readonly snapshot: SnapshotRef } | { readonly volume: VolumeRef };
  /** For the storage itself: the type's `csi:` extra specs and the CO's parameters. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Where the volume must be reachable from (topology segments). */
  readonly topology?: Readonly<Record<string, string>>;
}

export interface CreatedVolume {
  readonly externalId: string;
  readonly sizeBytes: number;
}

export interface CreatedSnapshot {
  readonly externalId: string;
  readonly sizeBytes: number;
  readonly readyToUse: boolean;
}

export interface PublishRequest {
  readonly volume: VolumeRef;
  readonly node: string;
  readonly readonly: boolean;
  readonly attachmentId: string;
  /** File volumes with NFS rules: the rule that admits this client, for the driver to export by. */
  readonly access?: AclRule;
}

export interface ExternalVolume {
  readonly externalId: string;
  readonly sizeBytes: number;
  readonly kind: VolumeKind;
}

export interface ManageableCandidate {
  /** The reference a manage call passes back (e.g. `{ "source-name": "import/a.img" }`). */
  readonly reference: Readonly<Record<string, string>>;
  /** The externalId the object would have once managed. */
  readonly externalId: string;
  readonly sizeBytes: number;
  readonly kind: VolumeKind;
  /** Unsafe for reasons the driver sees (not a regular file, symlink, escape). */
  readonly reasonNotSafe: string | null;
  readonly sourceVolumeId?: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextToken: string | null;
}

export type ProgressFn = (done: number, total: number) => void;

export interface Driver {
  readonly kind: string;
  capabilities(): DriverCapabilitySet;
  capacity(): Promise<PoolCapacity>;
  /**
   * Clears what interrupted calls left behind. Only the process that runs
   * tasks calls it, when it starts, before any task: never a process that
   * merely serves the API beside a running worker.
   */
  recover(): Promise<void>;

  createVolume(req: CreateVolumeRequest): Promise<CreatedVolume>;
  /** Succeeds when the volume is already gone. */
  deleteVolume(volume: VolumeRef): Promise<void>;
  /** Grows to at least `sizeBytes`; never shrinks. */
  extendVolume(volume: VolumeRef, sizeBytes: number): Promise<{ sizeBytes: number }>;

  publish(req: PublishRequest): Promise<Readonly<Record<string, unknown>>>;
  unpublish(volume: VolumeRef, node: string, attachmentId: string): Promise<void>;

  createSnapshot(snapshotId: string, volume: VolumeRef): Promise<CreatedSnapshot>;
  deleteSnapshot(snapshot: SnapshotRef): Promise<void>;
  revertToSnapshot(volume: VolumeRef, snapshot: SnapshotRef): Promise<void>;

  /** Whether the volume's storage object is there (adopted ones too, wherever in the pool they live). */
  volumeExists(volume: VolumeRef): Promise<boolean>;
  /** What exists in the pool, for reconciliation and orphan reports. */
  listVolumes(pageToken?: string, limit?: number): Promise<Page<ExternalVolume>>;
  listManageableVolumes(): Promise<readonly ManageableCandidate[]>;
  listManageableSnapshots(): Promise<readonly ManageableCandidate[]>;
  /** Checks the reference and reports the object's size; leaves it where it is. */
  manageExisting(volumeId: string, reference: Readonly<Record<string, string>>, kind: VolumeKind): Promise<CreatedVolume>;
  manageExistingSnapshot(snapshotId: string, reference: Readonly<Record<string, string>>): Promise<CreatedSnapshot>;
  /** Forgets nothing on storage: the bytes stay. */
  unmanage(volume: VolumeRef): Promise<void>;

  /** Where the storage can change a volume's parameters in place (CSI ControllerModifyVolume): a retype hands over the new type's. */
  modifyVolume?(volume: VolumeRef, parameters: Readonly<Record<string, string>>): Promise<void>;
  /** What the storage says of the volume's health, where it can tell (CSI volume condition). */
  condition?(volume: VolumeRef): Promise<{ readonly abnormal: boolean; readonly message: string } | null>;

  /** The volume's bytes, from offset 0 to its size. */
  readVolume(volume: VolumeRef): Promise<{ stream: Readable; sizeBytes: number }>;
  /** Overwrites the volume's bytes from offset 0 with the stream. */
  writeVolume(volume: VolumeRef, source: Readable, sizeBytes: number, progress?: ProgressFn): Promise<void>;
}

/** Base for drivers: optional capabilities default to refusing clearly. */
export abstract class DriverBase implements Driver {
  abstract readonly kind: string;
  abstract capabilities(): DriverCapabilitySet;
  abstract capacity(): Promise<PoolCapacity>;

  recover(): Promise<void> {
    return Promise.resolve();
  }
  abstract createVolume(req: CreateVolumeRequest): Promise<CreatedVolume>;
  abstract deleteVolume(volume: VolumeRef): Promise<void>;
  abstract volumeExists(volume: VolumeRef): Promise<boolean>;

  protected unsupported(what: string): never {
    throw new UnsupportedError(`driver ${this.kind} does not support ${what}`);
  }

  extendVolume(_volume: VolumeRef, _sizeBytes: number): Promise<{ sizeBytes: number }> {
    this.unsupported('extend');
  }
  publish(_req: PublishRequest): Promise<Readonly<Record<string, unknown>>> {
    this.unsupported('publish');
  }
  unpublish(_volume: VolumeRef, _node: string, _attachmentId: string): Promise<void> {
    this.unsupported('unpublish');
  }
  createSnapshot(_snapshotId: string, _volume: VolumeRef): Promise<CreatedSnapshot> {
    this.unsupported('snapshots');
  }
  deleteSnapshot(_snapshot: SnapshotRef): Promise<void> {
    this.unsupported('snapshots');
  }
  revertToSnapshot(_volume: VolumeRef, _snapshot: SnapshotRef): Promise<void> {
    this.unsupported('revert to snapshot');
  }
  listVolumes(_pageToken?: string, _limit?: number): Promise<Page<ExternalVolume>> {
    this.unsupported('listing volumes');
  }
  listManageableVolumes(): Promise<readonly ManageableCandidate[]> {
    this.unsupported('manage existing');
  }
  listManageableSnapshots(): Promise<readonly ManageableCandidate[]> {
    this.unsupported('manage existing snapshots');
  }
  manageExisting(_volumeId: string, _reference: Readonly<Record<string, string>>, _kind: VolumeKind): Promise<CreatedVolume> {
    this.unsupported('manage existing');
  }
  manageExistingSnapshot(_snapshotId: string, _reference: Readonly<Record<string, string>>): Promise<CreatedSnapshot> {
    this.unsupported('manage existing snapshots');
  }
  unmanage(_volume: VolumeRef): Promise<void> {
    this.unsupported('unmanage');
  }
  readVolume(_volume: VolumeRef): Promise<{ stream: Readable; sizeBytes: number }> {
    this.unsupported('reading volume bytes');
  }
  writeVolume(_volume: VolumeRef, _source: Readable, _sizeBytes: number, _progress?: ProgressFn): Promise<void> {
    this.unsupported('writing volume bytes');
  }
}

export const NO_CAPABILITIES: DriverCapabilitySet = {
  kinds: ['block'],
  snapshot: false,
  createFromSnapshot: false,
  cloneVolume: false,
  revertToSnapshot: false,
  extend: false,
  onlineExtend: false,
  publish: false,
  manage: false,
  listVolumes: false,
  streams: false,
  thinProvisioning: false,
};
