// Manage existing (Cinder's os-volume-manage and manageable lists): adopt a
// storage object a pool holds into a project, list what could be adopted,
// and the same for snapshots. Hosts name pools (`volumed@<pool>#<pool>`).

import { Type, type Static } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { Volumed } from '../../app/open.js';
import { InvalidInputError, NotFoundError } from '../../domain/errors.js';
import type { ManageableObject } from '../../domain/types.js';
import type { App } from '../app.js';
import { callerOf, parseBool } from './context.js';
import { Id, Metadata, ProjectParams } from './schemas.js';
import { poolOfHost, snapshotView } from './views.js';
import { detailOf, visibleVolume } from './volumes.js';

const strict = { additionalProperties: false } as const;
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
const Reference = Type.Record(Type.String(), Type.String(), { minProperties: 1 });

const ManageVolumeBody = Type.Object(
  {
    volume: Type.Object(
      {
        host: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()])),
        cluster: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()])),
        ref: Reference,
        name: Nullable(Type.String({ maxLength: 255 })),
        description: Nullable(Type.String({ maxLength: 255 })),
        volume_type: Nullable(Type.String({ maxLength: 255 })),
        availability_zone: Nullable(Type.String({ maxLength: 255 })),
        metadata: Type.Optional(Type.Union([Metadata, Type.Null()])),
        bootable: Type.Optional(Type.Union([Type.Boolean(), Type.String(), Type.Null()])),
      },
      strict,
    ),
  },
  strict,
);
const ManageSnapshotBody = Type.Object(
  {
    snapshot: Type.Object(
      {
        volume_id: Id,
        ref: Reference,
        name: Nullable(Type.String({ maxLength: 255 })),
        description: Nullable(Type.String({ maxLength: 255 })),
        metadata: Type.Optional(Type.Union([Metadata, Type.Null()])),
      },
      strict,
    ),
  },
  strict,
);
const ManageableQuery = Type.Object(
  {
    host: Type.Optional(Type.String({ minLength: 1 })),
    cluster: Type.Optional(Type.String({ minLength: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 0 })),
    marker: Type.Optional(Type.String()),
    offset: Type.Optional(Type.Integer({ minimum: 0 })),
    sort: Type.Optional(Type.String()),
    sort_key: Type.Optional(Type.String()),
    sort_dir: Type.Optional(Type.String()),
  },
  strict,
);

/** The pool a request's host (or cluster) names; an unknown one is Cinder's "not found". */
async function poolOf(volumed: Volumed, host: string | null | undefined, cluster?: string | null): Promise<string> {
  const named = host ?? cluster;
  if (!named) throw new InvalidInputError("Either 'host' or 'cluster' must be specified.", 'host');
  const pool = poolOfHost(named);
  const known = await volumed.engine.getPool(pool).catch(() => undefined);
  if (!known) throw new NotFoundError('service', `${named} (volumed serves ${(await volumed.engine.listPools()).map((p) => `volumed@${p.id}#${p.id}`).join(', ')})`);
  return known.id;
}

function identifier(o: ManageableObject): string {
  return Object.values(o.reference)[0] ?? '';
}

/** Sort (identifier or size), marker (an identifier), offset and limit over a pool's candidates. */
function page(items: readonly ManageableObject[], q: Static<typeof ManageableQuery>): ManageableObject[] {
  const [key = q.sort_key ?? 'reference', dir = q.sort_dir ?? 'desc'] = (q.sort ?? '').split(',')[0]?.split(':').filter(Boolean) ?? [];
  if (!['reference', 'identifier', 'size'].includes(key)) throw new InvalidInputError(`Invalid sort key ${key}; manageable lists sort by reference (identifier) or size`, 'sort');
  if (dir !== 'asc' && dir !== 'desc') throw new InvalidInputError(`Unknown sort direction, must be 'desc' or 'asc'`, 'sort');
  const sign = dir === 'asc' ? 1 : -1;
  const sorted = [...items].sort((a, b) => sign * (key === 'size' ? a.sizeBytes - b.sizeBytes || identifier(a).localeCompare(identifier(b)) : identifier(a).localeCompare(identifier(b))));
  let start = 0;
  if (q.marker !== undefined) {
    const at = sorted.findIndex((o) => identifier(o) === q.marker);
    if (at < 0) throw new InvalidInputError(`marker ${q.marker} not found`, 'marker');
    start = at + 1;
  }
  start += q.offset ?? 0;
  return sorted.slice(start, q.limit === undefined || q.limit === 0 ? undefined : start + q.limit);
}

function manageableView(o: ManageableObject, detail: boolean, snapshot: boolean): Record<string, unknown> {
  return {
    reference: { ...o.reference },
    size: o.sizeGiB,
    safe_to_manage: o.safeToManage,
    ...(snapshot ? { source_reference: { ...(o.sourceReference ?? {}) } } : {}),
    ...(detail ? { reason_not_safe: o.reasonNotSafe, cinder_id: o.managedId, extra_info: { ...o.extraInfo } } : {}),
  };
}

export function manageRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;
  const admin = { need: 'admin' as const, namespaceFrom: 'params' as const, namespaceParam: 'project_id' };

  const manageVolume = async (req: FastifyRequest<{ Body: Static<typeof ManageVolumeBody> }>) => {
    const caller = callerOf(volumed, req);
    const v = req.body.volume;
    const pool = await poolOf(volumed, v.host, v.cluster);
    const bootable = v.bootable === undefined || v.bootable === null ? undefined : typeof v.bootable === 'boolean' ? v.bootable : parseBool(v.bootable, 'bootable');
    const accepted = await engine.manageVolume({
      pool,
      reference: v.ref,
      namespace: caller.project,
      ...(v.name ? { name: v.name } : {}),
      ...(v.description ? { description: v.description } : {}),
      ...(v.volume_type ? { type: v.volume_type } : {}),
      ...(v.metadata ? { labels: v.metadata } : {}),
      ...(bootable !== undefined ? { bootable } : {}),
      roundToGiB: true,
      checkLater: true,
    });
    return { volume: await detailOf(volumed, req, caller, accepted.resource) };
  };
  app.post('/os-volume-manage', { config: { access: admin }, schema: { params: ProjectParams, body: ManageVolumeBody } }, async (req, reply) => reply.status(202).send(await manageVolume(req as FastifyRequest<{ Body: Static<typeof ManageVolumeBody> }>)));

  const listVolumes = (detail: boolean) => async (req: FastifyRequest<{ Querystring: Static<typeof ManageableQuery> }>) => {
    const pool = await poolOf(volumed, req.query.host, req.query.cluster);
    return { 'manageable-volumes': page(await engine.listManageableVolumes(pool), req.query).map((o) => manageableView(o, detail, false)) };
  };
  const listSnapshots = (detail: boolean) => async (req: FastifyRequest<{ Querystring: Static<typeof ManageableQuery> }>) => {
    const pool = await poolOf(volumed, req.query.host, req.query.cluster);
    return { 'manageable-snapshots': page(await engine.listManageableSnapshots(pool), req.query).map((o) => manageableView(o, detail, true)) };
  };
  const listing = { config: { access: admin }, schema: { params: ProjectParams, querystring: ManageableQuery } };
  app.get('/os-volume-manage', listing, listVolumes(false));
  app.get('/os-volume-manage/detail', listing, listVolumes(true));
  app.get('/manageable_volumes', { ...listing, config: { ...listing.config, minVersion: '3.8' } }, listVolumes(false));
  app.get('/manageable_volumes/detail', { ...listing, config: { ...listing.config, minVersion: '3.8' } }, listVolumes(true));
  app.get('/os-snapshot-manage', listing, listSnapshots(false));
  app.get('/os-snapshot-manage/detail', listing, listSnapshots(true));
  app.get('/manageable_snapshots', { ...listing, config: { ...listing.config, minVersion: '3.8' } }, listSnapshots(false));
  app.get('/manageable_snapshots/detail', { ...listing, config: { ...listing.config, minVersion: '3.8' } }, listSnapshots(true));

  const manageSnapshot = async (req: FastifyRequest<{ Body: Static<typeof ManageSnapshotBody> }>) => {
    const caller = callerOf(volumed, req);
    const s = req.body.snapshot;
    await visibleVolume(volumed, caller, s.volume_id);
    const accepted = await engine.manageSnapshot({ volumeId: s.volume_id, reference: s.ref, ...(s.name ? { name: s.name } : {}), ...(s.description ? { description: s.description } : {}), ...(s.metadata ? { labels: s.metadata } : {}) });
    return { snapshot: snapshotView(req, caller, accepted.resource) };
  };
  app.post('/os-snapshot-manage', { config: { access: admin }, schema: { params: ProjectParams, body: ManageSnapshotBody } }, async (req, reply) => reply.status(202).send(await manageSnapshot(req as FastifyRequest<{ Body: Static<typeof ManageSnapshotBody> }>)));
  app.post('/manageable_snapshots', { config: { access: admin, minVersion: '3.8' }, schema: { params: ProjectParams, body: ManageSnapshotBody } }, async (req, reply) => reply.status(202).send(await manageSnapshot(req as FastifyRequest<{ Body: Static<typeof ManageSnapshotBody> }>)));
  // Cinder also takes a manage on the manageable_volumes path from 3.8.
  app.post('/manageable_volumes', { config: { access: admin, minVersion: '3.8' }, schema: { params: ProjectParams, body: ManageVolumeBody } }, async (req, reply) => reply.status(202).send(await manageVolume(req as FastifyRequest<{ Body: Static<typeof ManageVolumeBody> }>)));
}
