// Records in Nomad's shapes (api.CSIVolume, CSIVolumeListStub, CSIPlugin,
// CSISnapshot, CSIVolumeExternalStub): PascalCase, times as Nomad encodes
// them (nanoseconds; ResourceExhausted as a Go time). A pool is a CSI plugin
// with one controller and one node: this volumed.

import { hostname } from 'node:os';
import { v5 } from 'uuid';
import type { AccessMode, Attachment, AttachmentMode, ManageableObject, Pool, Snapshot, Volume } from '../../domain/types.js';

/** Go's zero time: ResourceExhausted is a time.Time in Nomad's client. */
const ZERO_TIME = '0001-01-01T00:00:00Z';
/**
 * The node id this volumed answers for in plugin health: a UUID, as Nomad's
 * node ids are (its CLI prints their first 8 characters), the same for every
 * answer of this host.
 */
export const NODE_ID = v5(`volumed:${hostname()}`, v5.URL);

export const toNomadAttachment = (mode: AttachmentMode): string => (mode === 'block' ? 'block-device' : 'file-system');
export const fromNomadAttachment = (mode: string): AttachmentMode => (mode === 'block-device' ? 'block' : 'filesystem');

const nanos = (iso: string): number => Date.parse(iso) * 1e6;
const topologies = (segments: Readonly<Record<string, string>>): { Segments: Readonly<Record<string, string>> }[] => (Object.keys(segments).length ? [{ Segments: segments }] : []);

/** Claims that hold the volume: attachments not yet gone. */
function claimsOf(attachments: readonly Attachment[]): { readers: Attachment[]; writers: Attachment[] } {
  return { readers: attachments.filter((a) => a.mode === 'ro'), writers: attachments.filter((a) => a.mode === 'rw') };
}

export function providerOf(pool: Pick<Pool, 'driver'> | undefined): string {
  return `${pool?.driver ?? 'unknown'}.volumed`;
}

/** Health as Nomad counts it: the plugin's controller and node are this process. */
function health(pool: Pool | undefined): Record<string, number | boolean> {
  const up = pool ? 1 : 0;
  return { ControllerRequired: pool?.capabilities.publish ?? false, ControllersHealthy: up, ControllersExpected: 1, NodesHealthy: up, NodesExpected: 1 };
}

const schedulable = (volume: Volume, pool: Pool | undefined): boolean => pool !== undefined && (volume.status === 'available' || volume.status === 'in-use');

function currentModes(attachments: readonly Attachment[]): { AccessMode: AccessMode | ''; AttachmentMode: string } {
  const first = attachments[0];
  return { AccessMode: first?.accessMode ?? '', AttachmentMode: first ? toNomadAttachment(first.attachmentMode) : '' };
}

/** CSIVolumeListStub: what lists answer and what `filter` sees. */
export function volumeStub(volume: Volume, attachments: readonly Attachment[], pool: Pool | undefined): Record<string, unknown> {
  const { readers, writers } = claimsOf(attachments);
  return {
    ID: volume.id,
    Namespace: volume.namespace,
    Name: volume.name,
    ExternalID: volume.externalId ?? '',
    Topologies: topologies(volume.topology),
    ...currentModes(attachments),
    CurrentReaders: readers.length,
    CurrentWriters: writers.length,
    Schedulable: schedulable(volume, pool),
    PluginID: volume.poolId,
    Provider: providerOf(pool),
    ...health(pool),
    ResourceExhausted: ZERO_TIME,
    CreateIndex: volume.createIndex,
    ModifyIndex: volume.modifyIndex,
    CreateTime: nanos(volume.createdAt),
    ModifyTime: nanos(volume.updatedAt),
  };
}

const CLIENT_STATUS: Readonly<Record<Attachment['status'], string>> = {
  reserved: 'pending',
  attaching: 'pending',
  attached: 'running',
  detaching: 'complete',
  error_attaching: 'failed',
  error_detaching: 'failed',
};

/** An AllocationListStub for a claim: the allocation is the attachment's instance. */
function allocationOf(a: Attachment): Record<string, unknown> {
  return {
    ID: a.instance,
    Name: a.instance,
    Namespace: a.namespace,
    NodeID: a.node,
    NodeName: a.node,
    JobID: '',
    TaskGroup: '',
    DesiredStatus: 'run',
    ClientStatus: CLIENT_STATUS[a.status],
    CreateIndex: a.createIndex,
    ModifyIndex: a.modifyIndex,
    CreateTime: nanos(a.createdAt),
    ModifyTime: nanos(a.updatedAt),
  };
}

function mountOptions(volume: Volume): Record<string, unknown> | null {
  const fsType = volume.csi?.fsType ?? '';
  if (!fsType && volume.mountOptions.length === 0) return null;
  // Mount flags may carry credentials: Nomad redacts them in every answer.
  return { FSType: fsType, MountFlags: volume.mountOptions.length ? ['[REDACTED]'] : null };
}

/** api.CSIVolume: one volume in full. Secrets never appear. */
export function volumeDetail(volume: Volume, attachments: readonly Attachment[], pool: Pool | undefined, version: string): Record<string, unknown> {
  const { readers, writers } = claimsOf(attachments);
  const source = volume.source;
  return {
    ...volumeStub(volume, attachments, pool),
    RequestedTopologies: null,
    RequestedCapabilities: volume.accessModes.map((m) => ({ AccessMode: m.accessMode, AttachmentMode: toNomadAttachment(m.attachmentMode) })),
    MountOptions: mountOptions(volume),
    Secrets: null,
    Parameters: { ...(volume.csi?.parameters ?? {}) },
    Context: { ...(volume.csi?.context ?? {}) },
    Capacity: volume.sizeBytes,
    RequestedCapacityMin: volume.csi?.capacityMin ?? volume.sizeBytes,
    RequestedCapacityMax: volume.csi?.capacityMax ?? 0,
    SnapshotID: source && 'snapshotId' in source ? source.snapshotId : '',
    CloneID: source && 'volumeId' in source ? source.volumeId : '',
    ReadAllocs: Object.fromEntries(readers.map((a) => [a.instance, null])),
    WriteAllocs: Object.fromEntries(writers.map((a) => [a.instance, null])),
    Allocations: attachments.map(allocationOf),
    Version: version,
    ProviderVersion: version,
  };
}

/** CSIPluginListStub. */
export function pluginStub(pool: Pool): Record<string, unknown> {
  return { ID: pool.id, Provider: providerOf(pool), ...health(pool), CreateIndex: 0, ModifyIndex: 0 };
}

/** api.CSIPlugin: the pool, with this volumed as its controller and node. */
export function pluginDetail(pool: Pool, version: string, updated: string): Record<string, unknown> {
  const caps = pool.capabilities;
  const info = {
    PluginID: pool.id,
    AllocID: '',
    Healthy: true,
    HealthDescription: `volumed pool ${pool.id} (${pool.driver} driver)`,
    UpdateTime: updated,
    RequiresControllerPlugin: pool.capabilities.publish,
    RequiresTopologies: Object.keys(pool.topology).length > 0,
  };
  return {
    ...pluginStub(pool),
    Version: version,
    Controllers: {
      [NODE_ID]: {
        ...info,
        // What the pool's driver can do, in CSI's controller capabilities.
        ControllerInfo: {
          SupportsCreateDelete: true,
          SupportsAttachDetach: caps.publish,
          SupportsListVolumes: caps.listVolumes,
          SupportsGetCapacity: true,
          SupportsCreateDeleteSnapshot: caps.snapshot,
          SupportsListSnapshots: caps.snapshot,
          SupportsClone: caps.cloneVolume,
          SupportsReadOnlyAttach: true,
          SupportsExpand: caps.extend,
          SupportsListVolumesAttachedNodes: false,
          SupportsCondition: false,
          SupportsGet: true,
        },
      },
    },
    Nodes: {
      [NODE_ID]: {
        ...info,
        NodeInfo: { ID: NODE_ID, MaxVolumes: 0, AccessibleTopology: { Segments: pool.topology }, RequiresNodeStageVolume: false, SupportsStats: false, SupportsExpand: caps.onlineExtend, SupportsCondition: false },
      },
    },
    Allocations: [],
    ControllerJobs: [],
    NodeJobs: [],
    CreateTime: 0,
    ModifyTime: 0,
  };
}

/** api.CSISnapshot; CreateTime in seconds, as CSI's. */
export function snapshotView(snapshot: Snapshot, volume: Volume | undefined): Record<string, unknown> {
  return {
    ID: snapshot.id,
    ExternalSourceVolumeID: volume?.externalId ?? '',
    SizeBytes: snapshot.sizeBytes,
    CreateTime: Math.floor(Date.parse(snapshot.createdAt) / 1000),
    IsReady: snapshot.readyToUse && snapshot.status === 'available',
    SourceVolumeID: snapshot.volumeId,
    PluginID: volume?.poolId ?? '',
    Name: snapshot.name,
    Secrets: null,
    Parameters: null,
  };
}

/** CSIVolumeExternalStub: a storage object of the pool, adopted or not. */
export function externalStub(object: ManageableObject, nodes: readonly string[]): Record<string, unknown> {
  return {
    ExternalID: object.reference['source-name'] ?? Object.values(object.reference)[0] ?? '',
    CapacityBytes: object.sizeBytes,
    VolumeContext: null,
    CloneID: '',
    SnapshotID: '',
    PublishedExternalNodeIDs: nodes,
    IsAbnormal: !object.safeToManage && object.managedId === null,
    Status: object.managedId ? `registered as ${object.managedId}` : (object.reasonNotSafe ?? ''),
  };
}
