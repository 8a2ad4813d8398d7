// /api/v1/snapshots and /api/v1/volumes/{id}/snapshots.

import type { Volumed } from '../../app/open.js';
import { blocking, settle, type App } from './context.js';
import { SNAPSHOT_TRANSITIONS } from '../../domain/states.js';
import { forceIsAdmin } from '../guard.js';
import { ActionQuery, BlockingQuery, CreateSnapshotBody, DeleteSnapshotQuery, IdParams, ListSnapshotsQuery, ManageSnapshotBody, UpdateSnapshotBody } from './schemas.js';

export function snapshotRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;
  const reread = (id: string) => engine.getSnapshot(id).catch(() => null);

  app.get('/volumes/:id/snapshots', { config: { access: { need: 'read-volume', resource: 'volume' } }, schema: { tags: ['snapshots'], params: IdParams, querystring: ListSnapshotsQuery } }, async (req, reply) => {
    await engine.getVolume(req.params.id);
    const { index, wait, ...q } = req.query;
    const page = await blocking(volumed, req, reply, { index, wait }, { topics: ['snapshot'] }, () => engine.listSnapshots({ ...q, volumeId: req.params.id }));
    return { snapshots: page.items, nextCursor: page.nextCursor };
  });

  app.post('/volumes/:id/snapshots', { config: { access: { need: 'write-volume', resource: 'volume' } }, schema: { tags: ['snapshots'], params: IdParams, body: CreateSnapshotBody, querystring: ActionQuery } }, async (req, reply) => {
    const accepted = await engine.createSnapshot(req.params.id, req.body);
    const task = await settle(volumed, req, accepted.task, req.query.wait);
    return reply.status(req.query.wait ? 201 : 202).send({ snapshot: req.query.wait ? await reread(accepted.resource.id) : accepted.resource, task });
  });

  app.get('/snapshots', { config: { access: { need: 'list-volume', namespaceFrom: 'query', list: true } }, schema: { tags: ['snapshots'], querystring: ListSnapshotsQuery } }, async (req, reply) => {
    const { index, wait, ...q } = req.query;
    const page = await blocking(volumed, req, reply, { index, wait }, { topics: ['snapshot'] }, () => engine.listSnapshots({ ...q, ...(req.visible ? { namespaces: req.visible } : {}) }));
    return { snapshots: page.items, nextCursor: page.nextCursor };
  });

  app.get('/snapshots/:id', { config: { access: { need: 'read-volume', resource: 'snapshot' } }, schema: { tags: ['snapshots'], params: IdParams, querystring: BlockingQuery } }, async (req, reply) => {
    return { snapshot: await blocking(volumed, req, reply, req.query, { keys: [req.params.id] }, () => engine.getSnapshot(req.params.id)) };
  });

  app.patch('/snapshots/:id', { config: { access: { need: 'write-volume', resource: 'snapshot' } }, schema: { tags: ['snapshots'], params: IdParams, body: UpdateSnapshotBody } }, async (req) => {
    return { snapshot: await engine.updateSnapshot(req.params.id, req.body) };
  });

  app.delete('/snapshots/:id', { config: { access: { need: forceIsAdmin('write-volume', SNAPSHOT_TRANSITIONS.forceDelete.admin), resource: 'snapshot' } }, schema: { tags: ['snapshots'], params: IdParams, querystring: DeleteSnapshotQuery } }, async (req, reply) => {
    const accepted = await engine.deleteSnapshot(req.params.id, { force: req.query.force ?? false });
    const task = await settle(volumed, req, accepted.task, req.query.wait);
    return reply.status(req.query.wait ? 200 : 202).send({ snapshot: req.query.wait ? await reread(req.params.id) : accepted.resource, task });
  });

  app.post('/snapshots/manage', { config: { access: { need: SNAPSHOT_TRANSITIONS.manage.admin ? 'admin' : 'write-volume', resource: 'volume', resourceId: (req) => (req.body as { volumeId?: string }).volumeId } }, schema: { tags: ['adoption'], body: ManageSnapshotBody, querystring: ActionQuery } }, async (req, reply) => {
    const accepted = await engine.manageSnapshot(req.body);
    const task = await settle(volumed, req, accepted.task, req.query.wait);
    return reply.status(req.query.wait ? 201 : 202).send({ snapshot: req.query.wait ? await reread(accepted.resource.id) : accepted.resource, task });
  });

  app.post('/snapshots/:id/unmanage', { config: { access: { need: SNAPSHOT_TRANSITIONS.unmanage.admin ? 'admin' : 'write-volume', resource: 'snapshot' } }, schema: { tags: ['adoption'], params: IdParams, querystring: ActionQuery } }, async (req, reply) => {
    const accepted = await engine.unmanageSnapshot(req.params.id);
    const task = await settle(volumed, req, accepted.task, req.query.wait);
    return reply.status(req.query.wait ? 200 : 202).send({ snapshot: req.query.wait ? await reread(req.params.id) : accepted.resource, task });
  });
}
