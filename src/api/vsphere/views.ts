// Records as VI/JSON data objects: every object names its type in
// `_typeName`. Volumes are CnsVolume, pools are Datastores, nodes are VMs,
// volume types are storage policies, engine tasks are Tasks.

import type { DescribedVolume } from '../../engine/volume-search.js';
import type { AclRule, ContainerCluster, Labels, Snapshot, Task, Volume } from '../../domain/types.js';
import { MiB } from '../../domain/types.js';

export interface VimObject {
  readonly _typeName: string;
  readonly [key: string]: unknown;
}

export const moRef = (type: string, value: string): VimObject => ({ _typeName: 'ManagedObjectReference', type, value });
export const volumeIdOf = (id: string): VimObject => ({ _typeName: 'CnsVolumeId', id });
export const snapshotIdOf = (id: string): VimObject => ({ _typeName: 'CnsSnapshotId', id });
export const datastoreUrl = (poolId: string): string => `ds:///volumed/pools/${poolId}/`;

export function keyValues(labels: Labels): VimObject[] {
  return Object.entries(labels).map(([key, value]) => ({ _typeName: 'KeyValue', key, value }));
}

const capacityInMb = (v: Volume): number => Math.ceil(v.sizeBytes / MiB);

function clusterView(c: ContainerCluster): VimObject {
  return {
    _typeName: 'CnsContainerCluster',
    clusterType: c.clusterType,
    clusterId: c.clusterId,
    vSphereUser: c.vSphereUser ?? '',
    clusterFlavor: c.clusterFlavor,
    ...(c.clusterDistribution ? { clusterDistribution: c.clusterDistribution } : {}),
    delete: false,
  };
}

export function metadataView(clusters: readonly ContainerCluster[]): VimObject {
  const first = clusters[0];
  return {
    _typeName: 'CnsVolumeMetadata',
    containerCluster: first ? clusterView(first) : { _typeName: 'CnsContainerCluster', clusterType: '', clusterId: '', vSphereUser: '', delete: false },
    entityMetadata: clusters.flatMap((c) =>
      c.entities.map((e) => ({
        _typeName: 'CnsKubernetesEntityMetadata',
        entityName: e.entityName,
        labels: keyValues(e.labels),
        delete: false,
        clusterId: c.clusterId,
        entityType: e.entityType,
        ...(e.namespace ? { namespace: e.namespace } : {}),
        referredEntity: (e.referredEntities ?? []).map((r) => ({ _typeName: 'CnsKubernetesEntityReference', ...r })),
      })),
    ),
    containerClusterArray: clusters.map(clusterView),
  };
}

export function netPermissionView(rule: AclRule): VimObject {
  return { _typeName: 'VsanFileShareNetPermission', ips: rule.ips, permissions: rule.permissions, allowRoot: !rule.rootSquash };
}

export function backingView(v: Volume): VimObject {
  if (v.kind === 'file') {
    return {
      _typeName: 'CnsVsanFileShareBackingDetails',
      capacityInMb: capacityInMb(v),
      backingFileId: v.externalId ?? '',
      name: v.name,
      accessPoints: [{ _typeName: 'KeyValue', key: 'path', value: v.externalId ?? '' }],
      // The share's NFS rules (CnsVSANFileCreateSpec calls them `permission`).
      permission: v.aclRules.map(netPermissionView),
    };
  }
  return { _typeName: 'CnsBlockBackingDetails', capacityInMb: capacityInMb(v), backingDiskId: v.id, backingDiskUrlPath: v.externalId ?? '', backingDiskObjectId: v.externalId ?? '' };
}

export function cnsVolumeView({ volume: v, compliance, health }: DescribedVolume): VimObject {
  return {
    _typeName: 'CnsVolume',
    volumeId: volumeIdOf(v.id),
    datastoreUrl: datastoreUrl(v.poolId),
    name: v.name,
    volumeType: v.kind === 'file' ? 'FILE' : 'BLOCK',
    storagePolicyId: v.typeId ?? '',
    metadata: metadataView(v.clusters),
    backingObjectDetails: backingView(v),
    complianceStatus: compliance,
    datastoreAccessibilityStatus: 'accessible',
    healthStatus: health,
  };
}

export function snapshotView(s: Pick<Snapshot, 'id' | 'volumeId' | 'description' | 'createdAt'>): VimObject {
  return { _typeName: 'CnsSnapshot', snapshotId: snapshotIdOf(s.id), volumeId: volumeIdOf(s.volumeId), description: s.description, createTime: s.createdAt };
}

/** A task's TaskInfo; `result` and `error` are the method's. */
export function taskInfoView(task: Task, method: string, userName: string, outcome: { result?: VimObject; error?: VimObject }): VimObject {
  const state = task.state;
  return {
    _typeName: 'TaskInfo',
    key: task.id,
    task: moRef('Task', task.id),
    name: method,
    descriptionId: `com.vmware.cns.tasks.${method.replace(/^Cns/, '').toLowerCase()}`,
    entityName: 'cns-volume-manager',
    state,
    cancelled: false,
    cancelable: false,
    ...(outcome.error ? { error: outcome.error } : {}),
    ...(outcome.result ? { result: outcome.result } : {}),
    ...(state === 'running' ? { progress: task.progress } : state === 'success' ? { progress: 100 } : {}),
    reason: { _typeName: 'TaskReasonUser', userName },
    // A batch is queued when its request arrives (it is recorded once its specs are scheduled).
    queueTime: task.startedAt && task.startedAt < task.createdAt ? task.startedAt : task.createdAt,
    ...(task.startedAt ? { startTime: task.startedAt } : {}),
    ...(task.finishedAt ? { completeTime: task.finishedAt } : {}),
    eventChainId: 0,
  };
}
