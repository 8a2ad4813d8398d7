// /api/v1/tasks: the asynchronous operations; `?wait=30s` on one task blocks
// until it ends or the wait passes.

import type { Volumed } from '../../app/open.js';
import { parseDuration } from '../durations.js';
import { clientGone } from '../blocking.js';
import { blocking, INDEX_HEADER, type App } from './context.js';
import { BlockingQuery, IdParams, ListTasksQuery } from './schemas.js';

export function taskRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;

  app.get('/tasks', { config: { access: { need: 'list-volume', namespaceFrom: 'query', list: true } }, schema: { tags: ['tasks'], querystring: ListTasksQuery } }, async (req, reply) => {
    const { index, wait, ...q } = req.query;
    const page = await blocking(volumed, req, reply, { index, wait }, { topics: ['task'] }, () => engine.listTasks({ ...q, ...(req.visible ? { namespaces: req.visible } : {}) }));
    return { tasks: page.items, nextCursor: page.nextCursor };
  });

  app.get('/tasks/:id', { config: { access: { need: 'read-volume', resource: 'task' } }, schema: { tags: ['tasks'], params: IdParams, querystring: BlockingQuery } }, async (req, reply) => {
    if (req.query.wait !== undefined && req.query.index === undefined) {
      // Without an index, wait means: until this task has ended.
      const task = await engine.waitForTask(req.params.id, parseDuration(req.query.wait, 'wait'), clientGone(req));
      void reply.header(INDEX_HEADER, String(await engine.latestIndex()));
      return { task };
    }
    return { task: await blocking(volumed, req, reply, req.query, { keys: [req.params.id] }, () => engine.getTask(req.params.id)) };
  });
}
