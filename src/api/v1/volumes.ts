// /api/v1/volumes: create, list, read, update, delete, and the actions.

import { InvalidInputError } from '../../domain/errors.js';
import type { Image, Volume } from '../../domain/types.js';
import type { Volumed } from '../../app/open.js';
import { needsAdmin, type VolumeAction } from '../../domain/states.js';
import { forceIsAdmin } from '../guard.js';
import { blocking, settle, type App } from './context.js';
import {
  ACTION_BODIES,
  ActionQuery,
  BlockingQuery,
  CreateVolumeBody,
  CreateVolumeQuery,
  DeleteVolumeQuery,
  IdParams,
  ListVolumesQuery,
  ManageVolumeBody,
  UpdateVolumeBody,
} from './schemas.js';

const JSON_TYPE = 'application/json; charset=utf-8';

function labelFilter(pairs: readonly string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  return Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
}

/** Each action route and the state-table action it starts: the table says which are admin-only. */
const ACTION_OF: Readonly<Record<string, VolumeAction>> = {
  extend: 'extend',
  revert: 'revert',
  retype: 'retype',
  migrate: 'migrate',
  reserve: 'reserve',
  unreserve: 'unreserve',
  'begin-detaching': 'beginDetaching',
  'roll-detaching': 'rollDetaching',
  'reset-status': 'resetStatus',
  unmanage: 'unmanage',
  'upload-image': 'uploadImage',
  reimage: 'reimage',
  'complete-extend': 'completeExtend',
};
/** Holds around an attach or detach: the attach capability, as in Nomad's mount-volume. */
const MOUNT_ACTIONS = new Set(['reserve', 'unreserve', 'begin-detaching', 'roll-detaching']);

export function volumeRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;
  const reread = (id: string): Promise<Volume | null> => engine.getVolume(id).catch(() => null);

  app.post('/volumes', { config: { access: { need: 'write-volume', namespaceFrom: 'body', sources: true } }, schema: { tags: ['volumes'], summary: 'Create a volume (202 + task; 201 when ?wait=true)', body: CreateVolumeBody, querystring: CreateVolumeQuery } }, async (req, reply) => {
    const { accessMode, accessModes, ...rest } = req.body;
    if (accessMode && accessModes) throw new InvalidInputError('give accessMode or accessModes, not both', 'accessMode');
    const modes = accessModes ?? (accessMode ? [accessMode] : undefined);
    const accepted = await engine.createVolume({
      ...rest,
      ...(modes ? { accessModes: modes.map((m) => ({ accessMode: m.accessMode, attachmentMode: m.attachmentMode ?? 'filesystem' })) } : {}),
    });
    if (!req.query.wait) return reply.status(202).send({ volume: accepted.resource, task: accepted.task });
    const task = await settle(volumed, req, accepted.task, true);
    return reply.status(201).send({ volume: await reread(accepted.resource.id), task });
  });

  app.get('/volumes', { config: { access: { need: 'list-volume', namespaceFrom: 'query', list: true } }, schema: { tags: ['volumes'], summary: 'List volumes (keyset pages; blocking with index/wait)', querystring: ListVolumesQuery } }, async (req, reply) => {
    const q = req.query;
    const labels = labelFilter(q.label);
    const typeId = q.type !== undefined ? ((await engine.getType(q.type).catch(() => undefined))?.id ?? q.type) : undefined;
    const page = await blocking(volumed, req, reply, q, { topics: ['volume'] }, () =>
      engine.listVolumesJson({
        ...(q.namespace !== undefined ? { namespace: q.namespace } : {}),
        ...(req.visible ? { namespaces: req.visible } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.pool !== undefined ? { poolId: q.pool } : {}),
        ...(q.namePrefix !== undefined ? { namePrefix: q.namePrefix } : {}),
        ...(labels ? { labels } : {}),
        ...(q.createdAfter !== undefined ? { createdAfter: q.createdAfter } : {}),
        ...(q.createdBefore !== undefined ? { createdBefore: q.createdBefore } : {}),
        ...(q.sort !== undefined ? { sort: q.sort } : {}),
        ...(q.direction !== undefined ? { direction: q.direction } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        ...(typeId !== undefined ? { typeId } : {}),
      }),
    );
    // Written from the stored records as they are: no parse and serialize of each one again.
    return reply.type(JSON_TYPE).send(`{"volumes":${page.json},"nextCursor":${JSON.stringify(page.nextCursor)}}`);
  });

  app.get('/volumes/:id', { config: { access: { need: 'read-volume', resource: 'volume' } }, schema: { tags: ['volumes'], params: IdParams, querystring: BlockingQuery } }, async (req, reply) => {
    const volume = await blocking(volumed, req, reply, req.query, { keys: [req.params.id] }, () => engine.getVolumeJson(req.params.id));
    return reply.type(JSON_TYPE).send(`{"volume":${volume}}`);
  });

  app.patch('/volumes/:id', { config: { access: { need: 'write-volume', resource: 'volume' } }, schema: { tags: ['volumes'], summary: 'Update names, labels, flags and metadata', params: IdParams, body: UpdateVolumeBody } }, async (req) => {
    return { volume: await engine.updateVolume(req.params.id, req.body) };
  });

  app.delete('/volumes/:id', { config: { access: { need: forceIsAdmin('write-volume', needsAdmin('forceDelete')), resource: 'volume' } }, schema: { tags: ['volumes'], params: IdParams, querystring: DeleteVolumeQuery } }, async (req, reply) => {
    const accepted = await engine.deleteVolume(req.params.id, { cascade: req.query.cascade ?? false, force: req.query.force ?? false });
    const task = await settle(volumed, req, accepted.task, req.query.wait);
    return reply.status(req.query.wait ? 200 : 202).send({ volume: req.query.wait ? await reread(req.params.id) : accepted.resource, task });
  });

  app.post('/volumes/manage', { config: { access: { need: needsAdmin('manage') ? 'admin' : 'write-volume', namespaceFrom: 'body' } }, schema: { tags: ['adoption'], summary: 'Adopt an existing storage object', body: ManageVolumeBody, querystring: ActionQuery } }, async (req, reply) => {
    const accepted = await engine.manageVolume(req.body);
    const task = await settle(volumed, req, accepted.task, req.query.wait);
    return reply.status(req.query.wait ? 201 : 202).send({ volume: req.query.wait ? await reread(accepted.resource.id) : accepted.resource, task });
  });

  for (const [action, body] of Object.entries(ACTION_BODIES)) {
    // An action the table does not name is kept to admins.
    const started = ACTION_OF[action];
    app.post(`/volumes/:id/${action}`, { config: { access: { need: started === undefined || needsAdmin(started) ? 'admin' : MOUNT_ACTIONS.has(action) ? 'mount-volume' : 'write-volume', resource: 'volume' } }, schema: { tags: ['volume actions'], params: IdParams, body, querystring: ActionQuery } }, async (req, reply) => {
      const id = (req.params).id;
      const b = req.body as Record<string, unknown>;
      const wait = (req.query).wait;
      const synchronous = async (volume: Promise<Volume>): Promise<unknown> => ({ volume: await volume });
      switch (action) {
        case 'reserve':
          return synchronous(engine.reserveVolume(id));
        case 'unreserve':
          return synchronous(engine.unreserveVolume(id));
        case 'begin-detaching':
          return synchronous(engine.beginDetaching(id));
        case 'roll-detaching':
          return synchronous(engine.rollDetaching(id));
        case 'reset-status':
          return synchronous(engine.resetVolumeStatus(id, b));
        case 'complete-extend':
          return synchronous(engine.completeExtend(id, b.error !== true));
      }
      const accepted =
        action === 'extend'
          ? await engine.extendVolume(id, Number(b.newSizeBytes), { awaitCompletion: b.awaitCompletion === true })
          : action === 'revert'
            ? await engine.revertVolume(id, String(b.snapshotId))
            : action === 'retype'
              ? await engine.retypeVolume(id, { type: String(b.type), ...(b.migrationPolicy ? { migrationPolicy: b.migrationPolicy as 'never' | 'on-demand' } : {}) })
              : action === 'migrate'
                ? await engine.migrateVolume(id, typeof b.pool === 'string' ? { pool: b.pool } : {})
                : action === 'unmanage'
                  ? await engine.unmanageVolume(id)
                  : action === 'upload-image'
                    ? await engine.uploadVolumeToImage(id, { imageName: String(b.imageName) })
                    : await engine.reimageVolume(id, String(b.imageId));
      const task = await settle(volumed, req, accepted.task, wait);
      const image = 'image' in accepted ? (accepted.image as Image) : undefined;
      const extra = image ? { image: wait ? await engine.getImage(image.id) : image } : {};
      return reply.status(wait ? 200 : 202).send({ volume: wait ? await reread(id) : accepted.resource, task, ...extra });
    });
  }
}
