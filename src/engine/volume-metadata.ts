// Changes to a volume's cluster metadata and NFS access rules made as deltas
// (CNS's UpdateVolumeMetadata and ConfigureVolumeACLs): read, apply, and
// write back in one transaction, so two deltas never lose each other.

import { applyMetadataUpdate, type MetadataUpdate } from '../domain/cluster-metadata.js';
import { InvalidStateError, UnsupportedError } from '../domain/errors.js';
import { applyAclChanges, type AclChange } from '../domain/nfs-access.js';
import type { Volume } from '../domain/types.js';
import type { StoreTx, VolumePatch } from '../store/store.js';
import { mustGetVolume, type EngineContext } from './context.js';

async function change(ctx: EngineContext, id: string, action: string, patchOf: (volume: Volume) => VolumePatch): Promise<Volume> {
  return ctx.store.transact(async (tx: StoreTx) => {
    const volume = await mustGetVolume(tx, id);
    if (volume.status === 'deleting' || volume.status === 'unmanaging') throw new InvalidStateError({ type: 'volume', id }, action, volume.status);
    return tx.updateVolume(id, patchOf(volume), { modifyIndex: volume.modifyIndex });
  });
}

export function updateClusterMetadata(ctx: EngineContext, id: string, update: MetadataUpdate, field?: string): Promise<Volume> {
  return change(ctx, id, 'update the metadata of volume', (v) => ({ clusters: applyMetadataUpdate(v.clusters, update, field) }));
}

export function configureAccessRules(ctx: EngineContext, id: string, changes: readonly AclChange[], ruleField?: (index: number) => string): Promise<Volume> {
  return change(ctx, id, 'configure the access rules of volume', (v) => {
    if (v.kind !== 'file') throw new UnsupportedError(`volume ${id} is a block volume; access rules apply to file volumes`, { type: 'volume', id });
    return { aclRules: applyAclChanges(v.aclRules, changes, ruleField) };
  });
}
