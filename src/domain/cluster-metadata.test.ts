import { describe, expect, it } from 'vitest';
import { applyMetadataUpdate, type MetadataUpdate } from './cluster-metadata.js';

const k8s = { clusterId: 'k1', clusterType: 'KUBERNETES', clusterFlavor: 'VANILLA' };
const pvc = { entityType: 'PERSISTENT_VOLUME_CLAIM' as const, entityName: 'data', namespace: 'app', labels: { tier: 'db' } };
const update = (patch: Partial<MetadataUpdate>): MetadataUpdate => ({ cluster: k8s, deleteCluster: false, entities: [], alsoClusters: [], ...patch });

describe('cluster metadata updates', () => {
  it('adds the cluster, replaces an entity whole, removes one with delete', () => {
    let clusters = applyMetadataUpdate([], update({ entities: [{ entity: pvc, delete: false }] }));
    expect(clusters).toEqual([{ ...k8s, entities: [pvc] }]);
    clusters = applyMetadataUpdate(clusters, update({ entities: [{ entity: { ...pvc, labels: { tier: 'cache' } }, delete: false }] }));
    expect(clusters[0]?.entities).toEqual([{ ...pvc, labels: { tier: 'cache' } }]);
    clusters = applyMetadataUpdate(clusters, update({ entities: [{ entity: { ...pvc, labels: {} }, delete: true }] }));
    expect(clusters).toEqual([{ ...k8s, entities: [] }]);
  });

  it('keeps other clusters, and deletes one cluster with all it recorded', () => {
    const k2 = { ...k8s, clusterId: 'k2' };
    let clusters = applyMetadataUpdate([], update({ alsoClusters: [k2], entities: [{ entity: pvc, delete: false }, { clusterId: 'k2', entity: pvc, delete: false }] }));
    expect(clusters.map((c) => [c.clusterId, c.entities.length])).toEqual([['k1', 1], ['k2', 1]]);
    clusters = applyMetadataUpdate(clusters, update({ deleteCluster: true }));
    expect(clusters.map((c) => c.clusterId)).toEqual(['k2']);
  });

  it('refuses an entity of a cluster the update does not name, and an empty cluster id', () => {
    expect(() => applyMetadataUpdate([], update({ entities: [{ clusterId: 'k9', entity: pvc, delete: false }] }), 'updateSpecs[0].metadata')).toThrow(
      'updateSpecs[0].metadata.entityMetadata[0].clusterId: cluster k9 is neither the update',
    );
    expect(() => applyMetadataUpdate([], update({ cluster: { ...k8s, clusterId: ' ' } }))).toThrow('metadata.containerCluster.clusterId: must not be empty');
  });
});
