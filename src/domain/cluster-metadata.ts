// Container-cluster metadata on a volume (CNS): which clusters use it and the
// Kubernetes entities (PV, PVC, Pod) that stand for it there, with labels.
// An update names the cluster it comes from and carries entity changes: an
// entity is replaced whole, or removed with `delete`; a cluster is removed
// with everything it recorded.

import { InvalidInputError } from './errors.js';
import type { ClusterEntityMetadata, ContainerCluster } from './types.js';

export interface ClusterRef {
  readonly clusterId: string;
  readonly clusterType: string;
  readonly clusterFlavor: string;
  readonly vSphereUser?: string;
  readonly clusterDistribution?: string;
}

export interface EntityChange {
  /** The cluster the entity lives in; the update's cluster when absent. */
  readonly clusterId?: string;
  readonly entity: ClusterEntityMetadata;
  readonly delete: boolean;
}

export interface MetadataUpdate {
  readonly cluster: ClusterRef;
  /** Remove this cluster's metadata (and every entity it recorded). */
  readonly deleteCluster: boolean;
  readonly entities: readonly EntityChange[];
  /** Further clusters that share the volume (CNS containerClusterArray). */
  readonly alsoClusters: readonly ClusterRef[];
}

const sameEntity = (a: ClusterEntityMetadata, b: ClusterEntityMetadata): boolean =>
  a.entityType === b.entityType && a.entityName === b.entityName && (a.namespace ?? '') === (b.namespace ?? '');

function checkCluster(ref: ClusterRef, field: string): void {
  if (!ref.clusterId.trim()) throw new InvalidInputError('must not be empty', `${field}.clusterId`);
  if (!ref.clusterType.trim()) throw new InvalidInputError('must not be empty', `${field}.clusterType`);
}

function withCluster(clusters: ContainerCluster[], ref: ClusterRef): ContainerCluster[] {
  const existing = clusters.find((c) => c.clusterId === ref.clusterId);
  const merged: ContainerCluster = { ...existing, ...ref, entities: existing?.entities ?? [] };
  return existing ? clusters.map((c) => (c === existing ? merged : c)) : [...clusters, merged];
}

/** The clusters after the update. */
export function applyMetadataUpdate(current: readonly ContainerCluster[], update: MetadataUpdate, field = 'metadata'): ContainerCluster[] {
  checkCluster(update.cluster, `${field}.containerCluster`);
  update.alsoClusters.forEach((c, i) => checkCluster(c, `${field}.containerClusterArray[${i}]`));
  if (update.deleteCluster) return current.filter((c) => c.clusterId !== update.cluster.clusterId);
  let clusters = withCluster([...current], update.cluster);
  for (const ref of update.alsoClusters) clusters = withCluster(clusters, ref);
  update.entities.forEach((change, i) => {
    if (!change.entity.entityName.trim()) throw new InvalidInputError('must not be empty', `${field}.entityMetadata[${i}].entityName`);
    const clusterId = change.clusterId || update.cluster.clusterId;
    let cluster = clusters.find((c) => c.clusterId === clusterId);
    if (!cluster) {
      if (change.delete) return;
      throw new InvalidInputError(`cluster ${clusterId} is neither the update's cluster nor in containerClusterArray`, `${field}.entityMetadata[${i}].clusterId`);
    }
    const others = cluster.entities.filter((e) => !sameEntity(e, change.entity));
    cluster = { ...cluster, entities: change.delete ? others : [...others, change.entity] };
    const replaced = cluster;
    clusters = clusters.map((c) => (c.clusterId === clusterId ? replaced : c));
  });
  return clusters;
}
