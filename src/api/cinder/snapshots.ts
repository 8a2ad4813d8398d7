// /v3/{project}/snapshots: create, list (summary and detail), show, update,
// delete, metadata, and the snapshot actions.

import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import type { Volumed } from '../../app/open.js';
import { InvalidInputError, NotFoundError } from '../../domain/errors.js';
import { SNAPSHOT_TRANSITIONS } from '../../domain/states.js';
import type { Snapshot, SnapshotStatus } from '../../domain/types.js';
import type { App } from '../app.js';
import { callerOf, namesOf, parseBool, type Caller } from './context.js';
import { metadataFilter, nextLinks, pageOf, scopeOf } from './listing.js';
import { atLeast } from './microversions.js';
import { ActionBody, CreateSnapshotBody, IdParams, KeyParams, ListQuery, MetadataBody, MetaItemBody, ProjectParams, UpdateSnapshotBody } from './schemas.js';
import { snapshotView } from './views.js';
import { visibleVolume } from './volumes.js';

async function visibleSnapshot(volumed: Volumed, caller: Caller, id: string): Promise<Snapshot> {
  const snap = await volumed.engine.getSnapshot(id);
  if (!caller.admin && snap.namespace !== caller.project) throw new NotFoundError('snapshot', id);
  return snap;
}

const ADMIN_SNAPSHOT_ACTIONS: Readonly<Record<string, boolean>> = {
  'os-reset_status': SNAPSHOT_TRANSITIONS.resetStatus.admin,
  'os-force_delete': SNAPSHOT_TRANSITIONS.forceDelete.admin,
  'os-unmanage': SNAPSHOT_TRANSITIONS.unmanage.admin,
};

export function snapshotRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;

  app.post('/snapshots', { config: { access: { need: 'write-volume', resource: 'volume', resourceId: (req) => (req.body as { snapshot?: { volume_id?: string } }).snapshot?.volume_id } }, schema: { params: ProjectParams, body: CreateSnapshotBody } }, async (req, reply) => {
    const caller = callerOf(volumed, req);
    const s = req.body.snapshot;
    const volume = await visibleVolume(volumed, caller, s.volume_id).catch((e: unknown) => {
      if (e instanceof NotFoundError) throw new NotFoundError('volume', s.volume_id);
      throw e;
    });
    const asked = s.force === undefined || s.force === null ? undefined : typeof s.force === 'boolean' ? s.force : parseBool(s.force, 'force');
    // From 3.66 attached volumes are snapshotted without force, and force=false is refused.
    if (atLeast(req.cinderVersion, '3.66') && asked === false) throw new InvalidInputError('The force flag is not supported from microversion 3.66; leave it out', 'force');
    const force = atLeast(req.cinderVersion, '3.66') ? true : (asked ?? false);
    const started = await engine.createSnapshot(volume.id, {
      name: '',
      description: '',
      ...namesOf(s),
      ...(s.metadata ? { labels: s.metadata } : {}),
      force,
    });
    return reply.status(202).send({ snapshot: snapshotView(req, caller, started.resource) });
  });

  const list = (detail: boolean) => async (req: FastifyRequest<{ Querystring: Static<typeof ListQuery> }>) => {
    const caller = callerOf(volumed, req);
    const q = req.query;
    if (q.sort !== undefined || q.sort_key !== undefined) throw new InvalidInputError('snapshots are listed oldest first; sorting is not supported', 'sort');
    const labels = metadataFilter(q.metadata);
    const { limit, afterId } = pageOf(q);
    if (q.offset !== undefined) throw new InvalidInputError('snapshots page with marker, not offset', 'offset');
    const page = await engine.listSnapshots({
      ...scopeOf(caller, q),
      ...(q.volume_id !== undefined ? { volumeId: q.volume_id } : {}),
      ...(q.status !== undefined ? { status: [q.status as SnapshotStatus] } : {}),
      limit,
      ...(afterId !== undefined ? { afterId } : {}),
    });
    const items = page.items.filter((s) => (q.name === undefined || s.name === q.name) && Object.entries(labels ?? {}).every(([k, v]) => s.labels[k] === v));
    const body: Record<string, unknown> = {
      snapshots: items.map((s) => (detail ? snapshotView(req, caller, s) : { id: s.id, name: s.name || null, status: s.status, size: snapshotView(req, caller, s).size, volume_id: s.volumeId })),
    };
    Object.assign(body, nextLinks(req, caller, 'snapshots', detail ? 'snapshots/detail' : 'snapshots', page.items.at(-1)?.id, page.nextCursor !== null));
    return body;
  };
  app.get('/snapshots', { config: { access: { need: 'list-volume', namespaceFrom: 'params', namespaceParam: 'project_id' } }, schema: { params: ProjectParams, querystring: ListQuery } }, list(false));
  app.get('/snapshots/detail', { config: { access: { need: 'list-volume', namespaceFrom: 'params', namespaceParam: 'project_id' } }, schema: { params: ProjectParams, querystring: ListQuery } }, list(true));

  app.get('/snapshots/:id', { config: { access: { need: 'read-volume', resource: 'snapshot' } }, schema: { params: IdParams } }, async (req) => {
    const caller = callerOf(volumed, req);
    return { snapshot: snapshotView(req, caller, await visibleSnapshot(volumed, caller, req.params.id)) };
  });

  app.put('/snapshots/:id', { config: { access: { need: 'write-volume', resource: 'snapshot' } }, schema: { params: IdParams, body: UpdateSnapshotBody } }, async (req) => {
    const caller = callerOf(volumed, req);
    await visibleSnapshot(volumed, caller, req.params.id);
    const updated = await engine.updateSnapshot(req.params.id, namesOf(req.body.snapshot));
    return { snapshot: snapshotView(req, caller, updated) };
  });

  app.delete('/snapshots/:id', { config: { access: { need: 'write-volume', resource: 'snapshot' } }, schema: { params: IdParams } }, async (req, reply) => {
    const caller = callerOf(volumed, req);
    await visibleSnapshot(volumed, caller, req.params.id);
    await engine.deleteSnapshot(req.params.id);
    return reply.status(202).send();
  });

  const setLabels = async (caller: Caller, id: string, change: (labels: Record<string, string>) => Record<string, string>): Promise<Record<string, string>> => {
    const snap = await visibleSnapshot(volumed, caller, id);
    return { ...(await engine.updateSnapshot(id, { labels: change({ ...snap.labels }) })).labels };
  };
  app.get('/snapshots/:id/metadata', { config: { access: { need: 'read-volume', resource: 'snapshot' } }, schema: { params: IdParams } }, async (req) => {
    return { metadata: { ...(await visibleSnapshot(volumed, callerOf(volumed, req), req.params.id)).labels } };
  });
  app.post('/snapshots/:id/metadata', { config: { access: { need: 'write-volume', resource: 'snapshot' } }, schema: { params: IdParams, body: MetadataBody } }, async (req) => {
    return { metadata: await setLabels(callerOf(volumed, req), req.params.id, (labels) => ({ ...labels, ...req.body.metadata })) };
  });
  app.put('/snapshots/:id/metadata', { config: { access: { need: 'write-volume', resource: 'snapshot' } }, schema: { params: IdParams, body: MetadataBody } }, async (req) => {
    return { metadata: await setLabels(callerOf(volumed, req), req.params.id, () => ({ ...req.body.metadata })) };
  });
  app.get('/snapshots/:id/metadata/:key', { config: { access: { need: 'read-volume', resource: 'snapshot' } }, schema: { params: KeyParams } }, async (req) => {
    const value = (await visibleSnapshot(volumed, callerOf(volumed, req), req.params.id)).labels[req.params.key];
    if (value === undefined) throw new NotFoundError('metadata', `${req.params.key} of snapshot ${req.params.id}`);
    return { meta: { [req.params.key]: value } };
  });
  app.put('/snapshots/:id/metadata/:key', { config: { access: { need: 'write-volume', resource: 'snapshot' } }, schema: { params: KeyParams, body: MetaItemBody } }, async (req) => {
    const entries = Object.entries(req.body.meta);
    if (entries.length > 1) throw new InvalidInputError('Request body contains too many items.', 'meta');
    const [key, value] = entries[0] ?? [];
    if (key !== req.params.key || value === undefined) throw new InvalidInputError('Request body and URI mismatch', 'meta');
    await setLabels(callerOf(volumed, req), req.params.id, (labels) => ({ ...labels, [key]: value }));
    return { meta: { [key]: value } };
  });
  app.delete('/snapshots/:id/metadata/:key', { config: { access: { need: 'write-volume', resource: 'snapshot' } }, schema: { params: KeyParams } }, async (req) => {
    await setLabels(callerOf(volumed, req), req.params.id, (labels) => {
      if (!(req.params.key in labels)) throw new NotFoundError('metadata', `${req.params.key} of snapshot ${req.params.id}`);
      const { [req.params.key]: _gone, ...rest } = labels;
      return rest;
    });
    return {};
  });

  const actionOf = (req: FastifyRequest): string => Object.keys((req.body as Record<string, unknown> | undefined) ?? {})[0] ?? '';
  app.post('/snapshots/:id/action', { config: { access: { need: (req) => (ADMIN_SNAPSHOT_ACTIONS[actionOf(req)] === false ? 'write-volume' : 'admin'), resource: 'snapshot' } }, schema: { params: IdParams, body: ActionBody } }, async (req, reply) => {
    const caller = callerOf(volumed, req);
    const name = actionOf(req);
    const snap = await visibleSnapshot(volumed, caller, req.params.id);
    const body = ((req.body)[name] ?? {}) as Record<string, unknown>;
    switch (name) {
      case 'os-reset_status':
        await engine.resetSnapshotStatus(snap.id, String(body.status) as SnapshotStatus);
        return reply.status(202).send();
      case 'os-force_delete':
        await engine.deleteSnapshot(snap.id, { force: true });
        return reply.status(202).send();
      case 'os-unmanage':
        await engine.unmanageSnapshot(snap.id);
        return reply.status(202).send();
      default:
        throw new InvalidInputError(`There is no such action: ${name}`, 'action');
    }
  });
}
