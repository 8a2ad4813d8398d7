// /api/v1/types: volume types (Cinder volume types, CNS storage policies).

import { NotFoundError } from '../../domain/errors.js';
import type { Volumed } from '../../app/open.js';
import { blocking, type App } from './context.js';
import { BlockingQuery, IdParams, TypeBody, TypePatchBody } from './schemas.js';

export function typeRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;

  app.get('/types', { config: { access: { need: 'authenticated' } }, schema: { tags: ['types'], querystring: BlockingQuery } }, async (req, reply) => {
    return { types: await blocking(volumed, req, reply, req.query, { topics: ['type'] }, () => engine.listTypes()) };
  });

  app.post('/types', { schema: { tags: ['types'], body: TypeBody } }, async (req, reply) => {
    return reply.status(201).send({ type: await engine.createType(req.body) });
  });

  app.get('/types/:id', { config: { access: { need: 'authenticated' } }, schema: { tags: ['types'], params: IdParams, querystring: BlockingQuery } }, async (req, reply) => {
    const type = await blocking(volumed, req, reply, req.query, { keys: [req.params.id] }, () => engine.getType(req.params.id));
    if (!type) throw new NotFoundError('type', req.params.id);
    return { type };
  });

  app.patch('/types/:id', { schema: { tags: ['types'], params: IdParams, body: TypePatchBody } }, async (req) => {
    return { type: await engine.updateType(req.params.id, req.body) };
  });

  app.delete('/types/:id', { schema: { tags: ['types'], params: IdParams } }, async (req, reply) => {
    await engine.deleteType(req.params.id);
    return reply.status(204).send();
  });
}
