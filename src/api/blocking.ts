// Blocking reads for every surface: wait until a change after the index the
// client has seen matches what it reads (a list's topic, a record's key), then
// read, and tell the index the answer is as of. Each surface parses its own
// `index`/`wait` and names its own header.

import type { FastifyRequest } from 'fastify';
import type { Volumed } from '../app/open.js';
import type { ChangeFilter } from '../store/changes.js';

/** Aborts when the client goes away, so a wait stops waiting for nobody. */
export function clientGone(req: FastifyRequest): AbortSignal {
  const ac = new AbortController();
  req.raw.once('close', () => ac.abort());
  return ac.signal;
}

/** Reads once a change after `after` matches `filter` (at once without `after`), or when `waitMs` passes. */
export async function readAfter<T>(
  volumed: Volumed,
  req: FastifyRequest,
  after: number | undefined,
  waitMs: number,
  filter: ChangeFilter,
  read: () => Promise<T>,
): Promise<{ readonly value: T; readonly index: number }> {
  if (after !== undefined) await volumed.engine.waitForChange(after, filter, waitMs, clientGone(req));
  // The index first: the answer is at least as new as the index it carries.
  const index = await volumed.engine.latestIndex();
  return { value: await read(), index };
}
