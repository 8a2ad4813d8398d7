// /v3/{project}/messages (3.3+): user messages for asynchronous operations
// that failed, one per failed task, saying which resource, what failed and why.

import { Type } from 'typebox';
import type { Volumed } from '../../app/open.js';
import { NotFoundError, UnsupportedError } from '../../domain/errors.js';
import type { Task } from '../../domain/types.js';
import type { App } from '../app.js';
import { callerOf } from './context.js';
import { pageOf } from './listing.js';
import { IdParams, ProjectParams } from './schemas.js';

// Paging of messages by marker is not implemented: a list answers the first `limit` (at most 1000).
const MessageQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false });

/** Cinder's message lifetime (message_ttl): 30 days. */
const TTL_MS = 30 * 24 * 3600 * 1000;

/** What failed, in the words of Cinder's user messages ("create volume from backend storage"...). */
function actionOf(operation: string): string {
  return operation.replace(/^volume\./, '').replace(/^snapshot\./, 'snapshot ').replace(/-/g, ' ');
}

export function messageView(t: Task): Record<string, unknown> {
  const finished = t.finishedAt ?? t.updatedAt;
  return {
    id: t.id,
    event_id: `VOLUME_${t.resourceType.toUpperCase()}_${t.operation.replace(/^[a-z]+\./, '').replace(/[^a-z]/gi, '_').toUpperCase()}`,
    user_message: `${actionOf(t.operation)}: ${t.error ?? 'failed'}`,
    message_level: 'ERROR',
    resource_type: t.resourceType.toUpperCase(),
    resource_uuid: t.resourceId,
    created_at: finished,
    guaranteed_until: new Date(Date.parse(finished) + TTL_MS).toISOString(),
    request_id: `req-${t.id}`,
    links: [],
  };
}

export function messageRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;
  const access = { need: 'read-volume' as const, namespaceFrom: 'params' as const, namespaceParam: 'project_id' };

  app.get('/messages', { config: { access, minVersion: '3.3' }, schema: { params: ProjectParams, querystring: MessageQuery } }, async (req) => {
    const caller = callerOf(volumed, req);
    const { limit } = pageOf(req.query);
    const page = await engine.listTasks({ namespace: caller.project, state: ['error'], limit });
    return { messages: page.items.map(messageView) };
  });
  app.get('/messages/:id', { config: { access, minVersion: '3.3' }, schema: { params: IdParams } }, async (req) => {
    const caller = callerOf(volumed, req);
    const task = await engine.getTask(req.params.id).catch(() => undefined);
    if (!task || task.state !== 'error' || (!caller.admin && task.namespace !== caller.project)) throw new NotFoundError('message', req.params.id);
    return { message: messageView(task) };
  });
  app.delete('/messages/:id', { config: { access, minVersion: '3.3' }, schema: { params: IdParams } }, async () => {
    throw new UnsupportedError('deleting messages is not implemented: a message is the record of a failed task, kept with the task');
  });
}
