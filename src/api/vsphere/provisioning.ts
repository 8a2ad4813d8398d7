// CnsCreateVolume, CnsDeleteVolume, CnsAttachVolume, CnsDetachVolume and
// CnsExtendVolume: each spec one engine operation. A create spec with a
// backing disk or file adopts that storage object (static provisioning,
// the engine's manage path) instead of making a new one.

import type { MetadataUpdate } from '../../domain/cluster-metadata.js';
import { applyMetadataUpdate } from '../../domain/cluster-metadata.js';
import { InvalidInputError, InvalidStateError } from '../../domain/errors.js';
import { MiB, type AclRule, type ClusterEntityMetadata, type ContainerCluster, type VolumeSource } from '../../domain/types.js';
import { authorizeIn } from '../guard.js';
import { bareVolumeId, mayAct, namedVolume, plainResult, profileOf, type SpecMethod } from './methods.js';
import { AttachDetachSpec, BLOCK_BACKINGS, CreateSpec, ExtendSpec, FILE_BACKINGS, specChecker, VolumeIdRef, type VolumeMetadataT } from './schemas.js';
import { moRef } from './views.js';

const checkCreate = specChecker(CreateSpec);
const checkAttach = specChecker(AttachDetachSpec);
const checkExtend = specChecker(ExtendSpec);
const checkVolumeId = specChecker(VolumeIdRef);

/** Volumes made through CNS live in this namespace (CNS has none). */
export const CNS_NAMESPACE = 'default';

function labelsOf(pairs: readonly { key: string; value: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((pairs ?? []).map((p) => [p.key, p.value]));
}

/** A VI/JSON metadata object as the engine's delta. */
export function metadataUpdateOf(m: VolumeMetadataT): MetadataUpdate {
  const cluster = (c: VolumeMetadataT['containerCluster']) => ({
    clusterId: c.clusterId,
    clusterType: c.clusterType,
    clusterFlavor: c.clusterFlavor ?? 'VANILLA',
    ...(c.vSphereUser ? { vSphereUser: c.vSphereUser } : {}),
    ...(c.clusterDistribution ? { clusterDistribution: c.clusterDistribution } : {}),
  });
  return {
    cluster: cluster(m.containerCluster),
    deleteCluster: m.containerCluster.delete === true,
    alsoClusters: (m.containerClusterArray ?? []).filter((c) => c.clusterId !== m.containerCluster.clusterId).map(cluster),
    entities: (m.entityMetadata ?? []).map((e, i) => {
      if (!e.entityType) throw new InvalidInputError('is required', `metadata.entityMetadata[${i}].entityType`);
      const entity: ClusterEntityMetadata = {
        entityType: e.entityType,
        entityName: e.entityName,
        ...(e.namespace ? { namespace: e.namespace } : {}),
        labels: labelsOf(e.labels),
        ...(e.referredEntity?.length ? { referredEntities: e.referredEntity.map(({ _typeName, ...r }) => r) } : {}),
      };
      return { ...(e.clusterId ? { clusterId: e.clusterId } : {}), entity, delete: e.delete === true };
    }),
  };
}

function clustersOf(m: VolumeMetadataT | undefined): ContainerCluster[] {
  return m ? applyMetadataUpdate([], metadataUpdateOf(m), 'metadata') : [];
}

export function aclRuleOf(p: { ips: string; permissions?: string | undefined; allowRoot?: boolean | undefined }): AclRule {
  // CNS: no permission set means none is granted.
  return { ips: p.ips, permissions: (p.permissions ?? 'NO_ACCESS') as AclRule['permissions'], rootSquash: p.allowRoot !== true };
}

/** The backing's subtype says which kind of object it describes. */
const BACKING_KINDS: Readonly<Record<string, 'block' | 'file'>> = {
  ...Object.fromEntries(BLOCK_BACKINGS.map((t) => [t, 'block'] as const)),
  ...Object.fromEntries(FILE_BACKINGS.map((t) => [t, 'file'] as const)),
};

const mb = (value: number, field: string): number => {
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidInputError('must be a whole number of MB, at least 1', field);
  return value * MiB;
};

const createVolume: SpecMethod = {
  specsKey: 'createSpecs',
  volumeIdOf: () => '',
  names: {
    id: 'volumeId.id',
    name: 'name',
    sizeBytes: 'backingObjectDetails.capacityInMb',
    type: 'profile[0].profileId',
    pool: 'datastores',
    pools: 'datastores',
    kind: 'volumeType',
    aclRules: 'createSpec.permission',
    'source.snapshotId': 'volumeSource.snapshotId.id',
    'source.volumeId': 'volumeSource.volumeId.id',
    reference: 'backingObjectDetails',
    'reference.source-name': 'backingObjectDetails.backingDiskUrlPath',
  },
  async run({ volumed, req }, raw) {
    const spec = checkCreate(raw);
    authorizeIn(volumed, req, 'write-volume', CNS_NAMESPACE);
    const kind = spec.volumeType === 'FILE' ? 'file' : 'block';
    const pools = spec.datastores?.map((d) => d.value);
    const type = profileOf(spec.profile);
    const clusters = clustersOf(spec.metadata);
    const b = spec.backingObjectDetails;
    const backingKind = b._typeName ? BACKING_KINDS[b._typeName] : undefined;
    if (backingKind && backingKind !== kind) throw new InvalidInputError(`${String(b._typeName)} describes a ${backingKind} volume, but volumeType is ${kind.toUpperCase()}`, 'backingObjectDetails._typeName');
    // A CNS file volume is a share: many nodes read and write it at once.
    const accessModes = kind === 'file' ? ([{ accessMode: 'multi-node-multi-writer', attachmentMode: 'filesystem' }] as const) : [];
    const common = { name: spec.name, namespace: CNS_NAMESPACE, kind, clusters, accessModes, ...(type ? { type } : {}), ...(spec.volumeId ? { id: spec.volumeId.id } : {}) } as const;
    const existing = b.backingDiskUrlPath || b.backingDiskPath || b.backingFileId || b.backingDiskId;
    if (existing) {
      const pool = pools?.[0];
      if (pools?.length !== 1 || pool === undefined) throw new InvalidInputError('name the one datastore that holds the backing object', 'pool');
      const { resource, task } = await volumed.engine.manageVolume({ ...common, pool, reference: { 'source-name': existing } });
      return { resourceId: resource.id, task, result: { name: resource.name, pool: resource.poolId } };
    }
    const sizeBytes = mb(b.capacityInMb ?? 0, 'sizeBytes');
    const source: VolumeSource | undefined = spec.volumeSource?.snapshotId
      ? { snapshotId: spec.volumeSource.snapshotId.id }
      : spec.volumeSource?.volumeId
        ? { volumeId: spec.volumeSource.volumeId.id }
        : undefined;
    const aclRules = (spec.createSpec?.permission ?? []).map(aclRuleOf);
    const { resource, task } = await volumed.engine.createVolume({ ...common, sizeBytes, ...(pools?.length ? { pools } : {}), ...(source ? { source } : {}), ...(aclRules.length ? { aclRules } : {}) });
    return { resourceId: resource.id, task, result: { name: resource.name, pool: resource.poolId } };
  },
  result: (item) => ({
    typeName: 'CnsVolumeCreateResult',
    fields: {
      ...(typeof item.result?.name === 'string' ? { name: item.result.name } : {}),
      ...(typeof item.result?.pool === 'string' && item.fault === null ? { placementResults: [{ _typeName: 'CnsPlacementResult', datastore: moRef('Datastore', item.result.pool) }] } : {}),
    },
  }),
};

const deleteVolume: SpecMethod = {
  specsKey: 'volumeIds',
  volumeIdOf: bareVolumeId,
  names: {},
  async run(call, raw, request) {
    const { id } = checkVolumeId(raw);
    await mayAct(call, 'write-volume', id);
    // deleteDisk false: the record goes, the storage object stays (unmanage).
    const { task } = request.deleteDisk === true ? await call.volumed.engine.deleteVolume(id) : await call.volumed.engine.unmanageVolume(id);
    return { resourceId: id, task };
  },
  result: plainResult,
};

const attachVolume: SpecMethod = {
  specsKey: 'attachSpecs',
  volumeIdOf: namedVolume,
  names: { node: 'vm', instance: 'vm', mode: 'vm' },
  async run(call, raw) {
    const spec = checkAttach(raw);
    await mayAct(call, 'mount-volume', spec.volumeId.id);
    const vm = spec.vm.value;
    const { attachment, task } = await call.volumed.engine.attachVolume(spec.volumeId.id, { node: vm, instance: vm, connector: { vm } });
    return { resourceId: spec.volumeId.id, task, result: { diskUUID: attachment.id } };
  },
  result: (item) => ({ typeName: 'CnsVolumeAttachResult', fields: typeof item.result?.diskUUID === 'string' && item.fault === null ? { diskUUID: item.result.diskUUID } : {} }),
};

const detachVolume: SpecMethod = {
  specsKey: 'detachSpecs',
  volumeIdOf: namedVolume,
  names: { node: 'vm' },
  async run(call, raw) {
    const spec = checkAttach(raw);
    const id = spec.volumeId.id;
    await mayAct(call, 'mount-volume', id);
    const attachment = (await call.volumed.engine.listAttachments(id)).find((a) => a.node === spec.vm.value);
    if (!attachment) {
      const volume = await call.volumed.engine.getVolume(id);
      throw new InvalidStateError({ type: 'volume', id }, `detach volume from vm ${spec.vm.value}`, volume.status, 'it is not attached to that vm');
    }
    const { task } = await call.volumed.engine.detachVolume(id, attachment.id);
    return { resourceId: id, task };
  },
  result: plainResult,
};

const extendVolume: SpecMethod = {
  specsKey: 'extendSpecs',
  volumeIdOf: namedVolume,
  names: { sizeBytes: 'capacityInMb', newSizeBytes: 'capacityInMb' },
  async run(call, raw) {
    const spec = checkExtend(raw);
    await mayAct(call, 'write-volume', spec.volumeId.id);
    const { task } = await call.volumed.engine.extendVolume(spec.volumeId.id, mb(spec.capacityInMb, 'sizeBytes'));
    return { resourceId: spec.volumeId.id, task };
  },
  result: plainResult,
};

export const provisioningMethods = {
  CnsCreateVolume: createVolume,
  CnsDeleteVolume: deleteVolume,
  CnsAttachVolume: attachVolume,
  CnsDetachVolume: detachVolume,
  CnsExtendVolume: extendVolume,
} as const;
