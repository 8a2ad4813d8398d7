// /api/v1/volumes/{id}/attachments: attach (publish to a node) and detach.

import type { Volumed } from '../../app/open.js';
import { blocking, settle, type App } from './context.js';
import { needsAdmin } from '../../domain/states.js';
import { forceIsAdmin } from '../guard.js';
import { ActionQuery, AttachBody, AttachmentParams, BlockingQuery, DetachQuery, IdParams } from './schemas.js';

export function attachmentRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;

  app.get('/volumes/:id/attachments', { config: { access: { need: 'read-volume', resource: 'volume' } }, schema: { tags: ['attachments'], params: IdParams, querystring: BlockingQuery } }, async (req, reply) => {
    const attachments = await blocking(volumed, req, reply, req.query, { topics: ['attachment'], keys: [req.params.id] }, () => engine.listAttachments(req.params.id));
    return { attachments };
  });

  app.post('/volumes/:id/attachments', { config: { access: { need: 'mount-volume', resource: 'volume' } }, schema: { tags: ['attachments'], summary: 'Attach; the answer carries connectionInfo once attached (?wait=true)', params: IdParams, body: AttachBody, querystring: ActionQuery } }, async (req, reply) => {
    const accepted = await engine.attachVolume(req.params.id, req.body);
    const task = await settle(volumed, req, accepted.task, req.query.wait);
    const attachment = req.query.wait ? await engine.getAttachment(accepted.attachment.id).catch(() => null) : accepted.attachment;
    const volume = req.query.wait ? await engine.getVolume(req.params.id) : accepted.resource;
    return reply.status(req.query.wait ? 200 : 202).send({ attachment, volume, task });
  });

  app.delete('/volumes/:id/attachments/:attachmentId', { config: { access: { need: forceIsAdmin('mount-volume', needsAdmin('forceDetach')), resource: 'volume' } }, schema: { tags: ['attachments'], params: AttachmentParams, querystring: DetachQuery } }, async (req, reply) => {
    const accepted = await engine.detachVolume(req.params.id, req.params.attachmentId, { force: req.query.force ?? false });
    const task = await settle(volumed, req, accepted.task, req.query.wait);
    const volume = req.query.wait ? await engine.getVolume(req.params.id) : accepted.resource;
    return reply.status(req.query.wait ? 200 : 202).send({ volume, task });
  });
}
