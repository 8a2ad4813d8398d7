// What the v1 routes share: the typed Fastify instance, blocking reads, and
// the shape of an accepted (asynchronous) request.

import { taskFailure } from '../../domain/errors.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Volumed } from '../../app/open.js';
import type { Task } from '../../domain/types.js';
import type { ChangeFilter } from '../../store/changes.js';
import { clientGone, readAfter } from '../blocking.js';
import { MAX_WAIT_MS, parseDuration } from '../durations.js';

export type { App } from '../app.js';

export const INDEX_HEADER = 'X-Volumed-Index';
const DEFAULT_BLOCK_MS = 60_000;

/**
 * Runs `read` once a change after `index` (if given) matches `filter` — the
 * topic of a list, the id of a record — and sets the index header.
 */
export async function blocking<T>(
  volumed: Volumed,
  req: FastifyRequest,
  reply: FastifyReply,
  query: { index?: number | undefined; wait?: string | undefined },
  filter: ChangeFilter,
  read: () => Promise<T>,
): Promise<T> {
  const waitMs = query.wait !== undefined ? parseDuration(query.wait, 'wait') : DEFAULT_BLOCK_MS;
  // Index 0 asks for nothing newer than the start: answer at once, as Nomad does.
  const { value, index } = await readAfter(volumed, req, query.index || undefined, waitMs, filter, read);
  void reply.header(INDEX_HEADER, String(index));
  return value;
}

/** With `wait`, holds the answer until the task has ended (bounded). */
/**
 * With ?wait=true, the task as it ended; one that ended in error is the
 * storage's failure, answered 502 with its message (its record stays
 * readable at /tasks/{id}).
 */
export async function settle(volumed: Volumed, req: FastifyRequest, task: Task, wait: boolean | undefined): Promise<Task> {
  if (!wait) return task;
  const ended = await volumed.engine.waitForTask(task.id, MAX_WAIT_MS, clientGone(req));
  if (ended.state === 'error') throw taskFailure(ended);
  return ended;
}
