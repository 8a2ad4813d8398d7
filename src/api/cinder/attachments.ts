// /v3/{project}/attachments (3.27+): create (with or without a connector),
// update with a connector, complete (3.44), delete, list, detail, show.

import { Type } from 'typebox';
import type { Volumed } from '../../app/open.js';
import { InvalidInputError, NotFoundError } from '../../domain/errors.js';
import type { Attachment } from '../../domain/types.js';
import type { App } from '../app.js';
import { MAX_WAIT_MS } from '../durations.js';
import { connectionInfo } from './connections.js';
import { callerOf, type Caller } from './context.js';
import { atLeast } from './microversions.js';
import { IdParams, ListQuery, ProjectParams } from './schemas.js';
import { visibleVolume } from './volumes.js';

const Connector = Type.Record(Type.String(), Type.Unknown());
const CreateAttachmentBody = Type.Object(
  {
    attachment: Type.Object(
      {
        volume_uuid: Type.String({ minLength: 1, maxLength: 128 }),
        instance_uuid: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
        connector: Type.Optional(Type.Union([Connector, Type.Null()])),
        mode: Type.Optional(Type.Union([Type.Literal('rw'), Type.Literal('ro'), Type.Null()])),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
const UpdateAttachmentBody = Type.Object({ attachment: Type.Object({ connector: Connector }, { additionalProperties: false }) }, { additionalProperties: false });
const AttachmentActionBody = Type.Object({ 'os-complete': Type.Optional(Type.Null()) }, { additionalProperties: false, minProperties: 1 });

/** Cinder's attachment statuses: attached, attaching, detaching, reserved, error_attaching... */
function attachmentView(a: Attachment, detail: boolean): Record<string, unknown> {
  const summary = { id: a.id, status: a.status, instance: a.instance || null, volume_id: a.volumeId };
  if (!detail) return summary;
  return {
    ...summary,
    attach_mode: a.mode,
    attached_at: a.status === 'attached' ? a.updatedAt : null,
    detached_at: null,
    connection_info: connectionInfo(a),
  };
}

export function attachmentRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;
  const access = { need: 'mount-volume' as const, namespaceFrom: 'params' as const, namespaceParam: 'project_id' };
  const visible = async (caller: Caller, id: string): Promise<Attachment> => {
    const a = await engine.getAttachment(id);
    if (!caller.admin && a.namespace !== caller.project) throw new NotFoundError('attachment', id);
    return a;
  };
  /** Connecting starts an attach task; the answer carries the connection info, so it waits for it. */
  const connect = async (id: string, connector: Record<string, unknown>): Promise<Attachment> => {
    const host = connector.host;
    if (typeof host !== 'string' || !host) throw new InvalidInputError('connector.host is required', 'connector.host');
    const started = await engine.connectAttachment(id, { node: host, connector, ...(typeof connector.mountpoint === 'string' ? { mountpoint: connector.mountpoint } : {}) });
    const task = await engine.waitForTask(started.task.id, MAX_WAIT_MS);
    if (task.state === 'error') throw new InvalidInputError(`the attach failed: ${task.error ?? 'unknown error'}`, 'connector');
    return engine.getAttachment(id);
  };

  app.post('/attachments', { config: { access, minVersion: '3.27' }, schema: { params: ProjectParams, body: CreateAttachmentBody } }, async (req) => {
    const caller = callerOf(volumed, req);
    const body = req.body.attachment;
    const volume = await visibleVolume(volumed, caller, body.volume_uuid);
    if (body.mode && !atLeast(req.cinderVersion, '3.54')) throw new InvalidInputError('mode is accepted from microversion 3.54', 'mode');
    const reserved = await engine.reserveAttachment(volume.id, { instance: body.instance_uuid ?? volume.id, ...(body.mode ? { mode: body.mode } : {}) });
    // The cinder CLI sends an empty connector when none is given.
    if (!body.connector || Object.keys(body.connector).length === 0) return { attachment: attachmentView(reserved, true) };
    try {
      return { attachment: attachmentView(await connect(reserved.id, body.connector), true) };
    } catch (e) {
      // Nothing half-made: a claim whose connect was refused is released.
      if ((await engine.getAttachment(reserved.id).catch(() => undefined))?.status === 'reserved') await engine.releaseAttachment(reserved.id);
      throw e;
    }
  });

  app.put('/attachments/:id', { config: { access, minVersion: '3.27' }, schema: { params: IdParams, body: UpdateAttachmentBody } }, async (req) => {
    const caller = callerOf(volumed, req);
    await visible(caller, req.params.id);
    return { attachment: attachmentView(await connect(req.params.id, req.body.attachment.connector), true) };
  });

  app.post('/attachments/:id/action', { config: { access, minVersion: '3.44' }, schema: { params: IdParams, body: AttachmentActionBody } }, async (req, reply) => {
    const caller = callerOf(volumed, req);
    await visible(caller, req.params.id);
    await engine.completeAttachment(req.params.id);
    return reply.status(204).send();
  });

  app.delete('/attachments/:id', { config: { access, minVersion: '3.27' }, schema: { params: IdParams } }, async (req) => {
    const caller = callerOf(volumed, req);
    const a = await visible(caller, req.params.id);
    if (a.status === 'reserved') await engine.releaseAttachment(a.id);
    else {
      const started = await engine.detachVolume(a.volumeId, a.id);
      await engine.waitForTask(started.task.id, MAX_WAIT_MS);
    }
    const left = (await engine.listAttachments(a.volumeId)).map((x) => attachmentView(x, false));
    return { attachments: left };
  });

  const list = (detail: boolean) => async (req: { query: { limit?: number; all_tenants?: string; volume_id?: string } } & Parameters<typeof callerOf>[1]) => {
    const caller = callerOf(volumed, req);
    const all = caller.admin && req.query.all_tenants !== undefined;
    const items =
      req.query.volume_id !== undefined
        ? await engine.listAttachments((await visibleVolume(volumed, caller, req.query.volume_id)).id)
        : await engine.listAttachmentsIn(all ? undefined : caller.project, Math.min(req.query.limit ?? 1000, 1000));
    return { attachments: items.map((a) => attachmentView(a, detail)) };
  };
  app.get('/attachments', { config: { access: { ...access, need: 'list-volume' }, minVersion: '3.27' }, schema: { params: ProjectParams, querystring: ListQuery } }, list(false));
  app.get('/attachments/detail', { config: { access: { ...access, need: 'list-volume' }, minVersion: '3.27' }, schema: { params: ProjectParams, querystring: ListQuery } }, list(true));
  app.get('/attachments/:id', { config: { access: { ...access, need: 'read-volume' }, minVersion: '3.27' }, schema: { params: IdParams } }, async (req) => {
    return { attachment: attachmentView(await visible(callerOf(volumed, req), req.params.id), true) };
  });
}
