// /api/v1/images: raw images in the local image store, uploaded and
// downloaded as bytes (application/octet-stream).

import type { Readable } from 'node:stream';
import type { Volumed } from '../../app/open.js';
import { InvalidInputError, NotFoundError } from '../../domain/errors.js';
import { blocking, type App } from './context.js';
import { BlockingQuery, IdParams, ListImagesQuery, UploadImageQuery } from './schemas.js';

export function imageRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;

  app.get('/images', { config: { access: { need: 'list-volume', namespaceFrom: 'query', list: true } }, schema: { tags: ['images'], querystring: ListImagesQuery } }, async (req, reply) => {
    const { index, wait, ...q } = req.query;
    const page = await blocking(volumed, req, reply, { index, wait }, { topics: ['image'] }, () => engine.listImages({ ...q, ...(req.visible ? { namespaces: req.visible } : {}) }));
    return { images: page.items, nextCursor: page.nextCursor };
  });

  app.get('/images/:id', { config: { access: { need: 'read-volume', resource: 'image' } }, schema: { tags: ['images'], params: IdParams, querystring: BlockingQuery } }, async (req, reply) => {
    const image = await blocking(volumed, req, reply, req.query, { keys: [req.params.id] }, () => engine.getImage(req.params.id));
    if (!image) throw new NotFoundError('image', req.params.id);
    return { image };
  });

  app.post('/images', { config: { access: { need: 'write-volume', namespaceFrom: 'query' } }, schema: { tags: ['images'], summary: 'Upload a raw image: the body is its bytes', querystring: UploadImageQuery } }, async (req, reply) => {
    if (req.headers['content-type'] !== 'application/octet-stream') throw new InvalidInputError('send the image bytes as application/octet-stream', 'content-type');
    const image = await engine.createImage({ name: req.query.name, ...(req.query.namespace ? { namespace: req.query.namespace } : {}) }, req.body as Readable);
    return reply.status(201).send({ image });
  });

  app.get('/images/:id/data', { config: { access: { need: 'read-volume', resource: 'image' } }, schema: { tags: ['images'], params: IdParams } }, async (req, reply) => {
    const { stream, sizeBytes } = await engine.readImage(req.params.id);
    return reply.header('content-type', 'application/octet-stream').header('content-length', String(sizeBytes)).send(stream);
  });

  app.delete('/images/:id', { config: { access: { need: 'write-volume', resource: 'image' } }, schema: { tags: ['images'], params: IdParams } }, async (req, reply) => {
    await engine.deleteImage(req.params.id);
    return reply.status(204).send();
  });
}
