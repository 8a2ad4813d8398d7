// /v3/{project}/volumes: create, list (summary and detail), show, update,
// delete, summary, and metadata — over the same engine calls as /api/v1.

import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import type { Volumed } from '../../app/open.js';
import { InvalidInputError, NotFoundError } from '../../domain/errors.js';
import type { Volume, VolumeSource } from '../../domain/types.js';
import type { App } from '../app.js';
import { callerOf, GIB, gibToBytes, namesOf, parseBool, type Caller } from './context.js';
import { metadataFilter, nextLinks, pageOf, scopeOf, sortOf, timeFilter } from './listing.js';
import { atLeast } from './microversions.js';
import { CreateVolumeBody, DeleteVolumeQuery, IdParams, KeyParams, ListQuery, MetadataBody, MetaItemBody, ProjectParams, UpdateVolumeBody } from './schemas.js';
import { volumeDetail, volumeSummary, zoneOf, type VolumeViewContext } from './views.js';

export async function viewContext(volumed: Volumed, req: FastifyRequest, caller: Caller): Promise<VolumeViewContext> {
  const [types, pools] = await Promise.all([volumed.engine.listTypes(), volumed.engine.listPools()]);
  return { req, caller, types: new Map(types.map((t) => [t.id, t])), pools: new Map(pools.map((p) => [p.id, p])) };
}

/** A volume the caller may see: its project's, or any for an admin (Cinder answers 404 otherwise). */
export async function visibleVolume(volumed: Volumed, caller: Caller, id: string): Promise<Volume> {
  const volume = await volumed.engine.getVolume(id);
  if (!caller.admin && volume.namespace !== caller.project) throw new NotFoundError('volume', id);
  return volume;
}

export async function detailOf(volumed: Volumed, req: FastifyRequest, caller: Caller, volume: Volume): Promise<Record<string, unknown>> {
  return volumeDetail(await viewContext(volumed, req, caller), volume, await volumed.engine.listAttachments(volume.id));
}

function sourceOf(body: { snapshot_id?: string | null; source_volid?: string | null; imageRef?: string | null }): VolumeSource | undefined {
  const given = [body.snapshot_id, body.source_volid, body.imageRef].filter((v) => v !== undefined && v !== null);
  if (given.length > 1) throw new InvalidInputError('give at most one of snapshot_id, source_volid and imageRef', 'volume');
  if (body.snapshot_id) return { snapshotId: body.snapshot_id };
  if (body.source_volid) return { volumeId: body.source_volid };
  if (body.imageRef) return { imageId: body.imageRef };
  return undefined;
}

export function volumeRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;

  app.post('/volumes', { config: { access: { need: 'write-volume', namespaceFrom: 'params', namespaceParam: 'project_id' } }, schema: { params: ProjectParams, body: CreateVolumeBody } }, async (req, reply) => {
    const caller = callerOf(volumed, req);
    const v = req.body.volume;
    const source = sourceOf(v);
    let sizeBytes: number | undefined = v.size !== undefined && v.size !== null ? gibToBytes(v.size, 'size') : undefined;
    if (sizeBytes === undefined && source && !('imageId' in source)) {
      // Cinder takes the source's size when none is given.
      sizeBytes = 'snapshotId' in source ? (await engine.getSnapshot(source.snapshotId)).sizeBytes : (await engine.getVolume(source.volumeId)).sizeBytes;
    }
    if (sizeBytes === undefined) throw new InvalidInputError('size is required (whole GiB)', 'size');
    if (v.availability_zone) {
      const zones = new Set((await engine.listPools()).map((p) => zoneOf(p)));
      if (!zones.has(v.availability_zone)) throw new InvalidInputError(`Availability zone '${v.availability_zone}' is invalid.`, 'availability_zone');
    }
    const accepted = await engine.createVolume({
      name: '',
      description: '',
      ...namesOf(v),
      namespace: caller.project,
      sizeBytes,
      ...(v.volume_type ? { type: v.volume_type } : {}),
      ...(v.metadata ? { labels: v.metadata } : {}),
      ...(source ? { source } : {}),
      ...(v.multiattach !== undefined && v.multiattach !== null ? { multiattach: v.multiattach } : {}),
    });
    return reply.status(202).send({ volume: await detailOf(volumed, req, caller, accepted.resource) });
  });

  const list = (detail: boolean) => async (req: FastifyRequest<{ Querystring: Static<typeof ListQuery> }>) => {
    const caller = callerOf(volumed, req);
    const q = req.query;
    const { sort, direction } = sortOf(q);
    const labels = metadataFilter(q.metadata);
    const page = pageOf(q);
    const result = await engine.listVolumes({
      ...scopeOf(caller, q),
      ...(q.name !== undefined ? { name: q.name } : {}),
      ...(q.status !== undefined ? { status: [q.status as Volume['status']] } : {}),
      ...(labels ? { labels } : {}),
      ...timeFilter(q.created_at, 'created_at'),
      ...timeFilter(q.updated_at, 'updated_at'),
      ...(q.bootable !== undefined ? { bootable: parseBool(q.bootable, 'bootable') } : {}),
      sort,
      direction,
      ...page,
    });
    const ctx = detail ? await viewContext(volumed, req, caller) : undefined;
    const volumes = [];
    for (const v of result.items) volumes.push(ctx ? volumeDetail(ctx, v, await engine.listAttachments(v.id)) : volumeSummary(req, caller, v));
    const body: Record<string, unknown> = { volumes };
    Object.assign(body, nextLinks(req, caller, 'volumes', detail ? 'volumes/detail' : 'volumes', result.items.at(-1)?.id, result.nextCursor !== null));
    if (q.with_count !== undefined && atLeast(req.cinderVersion, '3.45') && parseBool(q.with_count, 'with_count')) body.count = (await engine.usage(caller.project)).volumes;
    return body;
  };
  app.get('/volumes', { config: { access: { need: 'list-volume', namespaceFrom: 'params', namespaceParam: 'project_id' } }, schema: { params: ProjectParams, querystring: ListQuery } }, list(false));
  app.get('/volumes/detail', { config: { access: { need: 'list-volume', namespaceFrom: 'params', namespaceParam: 'project_id' } }, schema: { params: ProjectParams, querystring: ListQuery } }, list(true));

  app.get('/volumes/summary', { config: { access: { need: 'list-volume', namespaceFrom: 'params', namespaceParam: 'project_id' }, minVersion: '3.12' }, schema: { params: ProjectParams, querystring: ListQuery } }, async (req) => {
    const caller = callerOf(volumed, req);
    let count = 0;
    let bytes = 0;
    const metadata: Record<string, string[]> = {};
    let cursor: string | undefined;
    do {
      const page = await engine.listVolumes({ ...scopeOf(caller, req.query), limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const v of page.items) {
        count++;
        bytes += Math.ceil(v.sizeBytes / GIB);
        for (const [k, val] of Object.entries(v.labels)) if (!(metadata[k] ??= []).includes(val)) metadata[k].push(val);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return { 'volume-summary': { total_size: bytes, total_count: count, ...(atLeast(req.cinderVersion, '3.36') ? { metadata } : {}) } };
  });

  app.get('/volumes/:id', { config: { access: { need: 'read-volume', resource: 'volume' } }, schema: { params: IdParams } }, async (req) => {
    const caller = callerOf(volumed, req);
    return { volume: await detailOf(volumed, req, caller, await visibleVolume(volumed, caller, req.params.id)) };
  });

  app.put('/volumes/:id', { config: { access: { need: 'write-volume', resource: 'volume' } }, schema: { params: IdParams, body: UpdateVolumeBody } }, async (req) => {
    const caller = callerOf(volumed, req);
    await visibleVolume(volumed, caller, req.params.id);
    const v = req.body.volume;
    const updated = await engine.updateVolume(req.params.id, {
      ...namesOf(v),
      ...(v.metadata ? { labels: v.metadata } : {}),
    });
    return { volume: await detailOf(volumed, req, caller, updated) };
  });

  app.delete('/volumes/:id', { config: { access: { need: 'write-volume', resource: 'volume' } }, schema: { params: IdParams, querystring: DeleteVolumeQuery } }, async (req, reply) => {
    const caller = callerOf(volumed, req);
    await visibleVolume(volumed, caller, req.params.id);
    const force = req.query.force !== undefined && parseBool(req.query.force, 'force');
    if (force && !caller.admin) throw new NotFoundError('volume', req.params.id);
    await engine.deleteVolume(req.params.id, { cascade: req.query.cascade !== undefined && parseBool(req.query.cascade, 'cascade'), force });
    return reply.status(202).send();
  });

  // Metadata: the volume's labels, changed with compare-and-set so racing writers never lose an update.
  const setLabels = async (caller: Caller, id: string, change: (labels: Record<string, string>) => Record<string, string>): Promise<Record<string, string>> => {
    const volume = await visibleVolume(volumed, caller, id);
    const updated = await engine.updateVolume(id, { labels: change({ ...volume.labels }), modifyIndex: volume.modifyIndex });
    return { ...updated.labels };
  };

  app.get('/volumes/:id/metadata', { config: { access: { need: 'read-volume', resource: 'volume' } }, schema: { params: IdParams } }, async (req) => {
    const caller = callerOf(volumed, req);
    return { metadata: { ...(await visibleVolume(volumed, caller, req.params.id)).labels } };
  });
  app.post('/volumes/:id/metadata', { config: { access: { need: 'write-volume', resource: 'volume' } }, schema: { params: IdParams, body: MetadataBody } }, async (req) => {
    const caller = callerOf(volumed, req);
    return { metadata: await setLabels(caller, req.params.id, (labels) => ({ ...labels, ...req.body.metadata })) };
  });
  app.put('/volumes/:id/metadata', { config: { access: { need: 'write-volume', resource: 'volume' } }, schema: { params: IdParams, body: MetadataBody } }, async (req) => {
    const caller = callerOf(volumed, req);
    return { metadata: await setLabels(caller, req.params.id, () => ({ ...req.body.metadata })) };
  });
  app.get('/volumes/:id/metadata/:key', { config: { access: { need: 'read-volume', resource: 'volume' } }, schema: { params: KeyParams } }, async (req) => {
    const caller = callerOf(volumed, req);
    const labels = (await visibleVolume(volumed, caller, req.params.id)).labels;
    const value = labels[req.params.key];
    if (value === undefined) throw new NotFoundError('metadata', `${req.params.key} of volume ${req.params.id}`);
    return { meta: { [req.params.key]: value } };
  });
  app.put('/volumes/:id/metadata/:key', { config: { access: { need: 'write-volume', resource: 'volume' } }, schema: { params: KeyParams, body: MetaItemBody } }, async (req) => {
    const caller = callerOf(volumed, req);
    const entries = Object.entries(req.body.meta);
    if (entries.length > 1) throw new InvalidInputError('Request body contains too many items.', 'meta');
    const [key, value] = entries[0] ?? [];
    if (key !== req.params.key || value === undefined) throw new InvalidInputError('Request body and URI mismatch', 'meta');
    await setLabels(caller, req.params.id, (labels) => ({ ...labels, [key]: value }));
    return { meta: { [key]: value } };
  });
  app.delete('/volumes/:id/metadata/:key', { config: { access: { need: 'write-volume', resource: 'volume' } }, schema: { params: KeyParams } }, async (req) => {
    const caller = callerOf(volumed, req);
    await setLabels(caller, req.params.id, (labels) => {
      if (!(req.params.key in labels)) throw new NotFoundError('metadata', `${req.params.key} of volume ${req.params.id}`);
      const { [req.params.key]: _gone, ...rest } = labels;
      return rest;
    });
    return {};
  });
}
