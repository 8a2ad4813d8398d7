// Records in Cinder's shapes: field names, types (bootable as a string, sizes
// in GiB) and the fields each microversion adds.

import type { FastifyRequest } from 'fastify';
import type { Attachment, Pool, Snapshot, Volume, VolumeType } from '../../domain/types.js';
import { selfLinks, toGiB, type Caller } from './context.js';
import { atLeast } from './microversions.js';

/** Cinder's host string for a pool: `volumed@<pool>#<pool>`. */
export function hostOf(poolId: string): string {
  return `volumed@${poolId}#${poolId}`;
}

/** The pool a host names (the inverse of hostOf): `volumed@pool#pool`, `volumed@pool` or a bare pool id. */
export function poolOfHost(host: string): string {
  const hash = host.indexOf('#');
  if (hash >= 0) return host.slice(hash + 1);
  const at = host.indexOf('@');
  return at >= 0 ? host.slice(at + 1) : host;
}

export const DEFAULT_ZONE = 'nova';

export function zoneOf(pool: Pool | undefined): string {
  return pool?.topology.zone ?? pool?.topology['topology.kubernetes.io/zone'] ?? DEFAULT_ZONE;
}

/** What a page of volumes shares: the types and pools they name. */
export interface VolumeViewContext {
  readonly req: FastifyRequest;
  readonly caller: Caller;
  readonly types: ReadonlyMap<string, VolumeType>;
  readonly pools: ReadonlyMap<string, Pool>;
}

function cinderAttachment(a: Attachment): Record<string, unknown> {
  return {
    id: a.volumeId,
    attachment_id: a.id,
    volume_id: a.volumeId,
    server_id: a.instance,
    host_name: a.node,
    device: a.mountpoint,
    attached_at: a.createdAt,
  };
}

export function volumeSummary(req: FastifyRequest, caller: Caller, v: Volume): Record<string, unknown> {
  return { id: v.id, name: v.name || null, links: selfLinks(req, v.namespace, 'volumes', v.id) };
}

export function volumeDetail(ctx: VolumeViewContext, v: Volume, attachments: readonly Attachment[]): Record<string, unknown> {
  const { req, caller } = ctx;
  const version = req.cinderVersion;
  const type = v.typeId ? ctx.types.get(v.typeId) : undefined;
  const pool = ctx.pools.get(v.poolId);
  const source = v.source;
  const view: Record<string, unknown> = {
    id: v.id,
    // Cinder's volumes and snapshots may have no name: null, as Cinder shows it.
    name: v.name || null,
    description: v.description,
    status: v.status,
    size: toGiB(v.sizeBytes),
    availability_zone: zoneOf(pool),
    created_at: v.createdAt,
    updated_at: v.updatedAt,
    attachments: attachments.filter((a) => a.status === 'attached').map(cinderAttachment),
    bootable: String(v.bootable),
    encrypted: false,
    links: selfLinks(req, v.namespace, 'volumes', v.id),
    metadata: { ...v.labels, ...(v.readonly ? { readonly: 'True' } : {}) },
    multiattach: v.multiattach,
    replication_status: null,
    snapshot_id: source && 'snapshotId' in source ? source.snapshotId : null,
    source_volid: source && 'volumeId' in source ? source.volumeId : null,
    user_id: null,
    volume_type: type?.name ?? null,
    consistencygroup_id: null,
    'os-vol-tenant-attr:tenant_id': v.namespace,
  };
  if (Object.keys(v.imageMetadata).length) view.volume_image_metadata = { ...v.imageMetadata };
  if (caller.admin) {
    view['os-vol-host-attr:host'] = hostOf(v.poolId);
    view['os-vol-mig-status-attr:migstat'] = v.migrationStatus === 'none' ? null : v.migrationStatus;
    view['os-vol-mig-status-attr:name_id'] = null;
  }
  if (atLeast(version, '3.13')) view.group_id = null;
  if (atLeast(version, '3.21') && caller.admin) view.provider_id = v.externalId;
  if (atLeast(version, '3.48')) {
    view.shared_targets = false;
    view.service_uuid = pool ? pool.id : null;
  }
  if (atLeast(version, '3.61') && caller.admin) view.cluster_name = null;
  if (atLeast(version, '3.63')) view.volume_type_id = v.typeId;
  if (atLeast(version, '3.65')) view.consumes_quota = true;
  return view;
}

export function snapshotView(req: FastifyRequest, caller: Caller, s: Snapshot): Record<string, unknown> {
  const version = req.cinderVersion;
  const view: Record<string, unknown> = {
    id: s.id,
    name: s.name || null,
    description: s.description,
    status: s.status,
    size: toGiB(s.sizeBytes),
    volume_id: s.volumeId,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    metadata: { ...s.labels },
    'os-extended-snapshot-attributes:project_id': s.namespace,
    'os-extended-snapshot-attributes:progress': s.status === 'available' ? '100%' : '0%',
  };
  if (atLeast(version, '3.14')) view.group_snapshot_id = null;
  if (atLeast(version, '3.41')) view.user_id = null;
  if (atLeast(version, '3.21') && caller.admin) view.provider_id = s.externalId;
  if (atLeast(version, '3.65')) view.consumes_quota = true;
  return view;
}

export function typeView(t: VolumeType, admin: boolean): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    description: t.description || null,
    is_public: t.isPublic,
    'os-volume-type-access:is_public': t.isPublic,
    // Extra specs are admin information (Cinder hides them from others).
    extra_specs: admin ? { ...t.extraSpecs } : {},
    qos_specs_id: null,
  };
}
