// What the Nomad routes share: blocking queries with Nomad's parameters and
// headers, the request namespace, CSI secrets from their header, and waiting
// for the engine's task behind a write (Nomad's writes answer when done).

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Volumed } from '../../app/open.js';
import { BackendError, InvalidInputError, taskFailure } from '../../domain/errors.js';
import type { Task } from '../../domain/types.js';
import type { ChangeFilter } from '../../store/changes.js';
import { MAX_WAIT_MS, parseDuration } from '../durations.js';
import { clientGone, readAfter } from '../blocking.js';

export type { App } from '../app.js';

const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_BLOCK_MS = 10 * 60_000;

export interface BlockingQuery {
  readonly index?: number | undefined;
  readonly wait?: string | undefined;
}

/**
 * Nomad's blocking query: with `index`, answer once a change after it matches
 * `filter`, or after `wait` (default 5m, at most 10m) plus up to 1/16 of it
 * as jitter, so many waiters do not all come back at once.
 */
export async function blocking<T>(volumed: Volumed, req: FastifyRequest, reply: FastifyReply, query: BlockingQuery, filter: ChangeFilter, read: () => Promise<T>): Promise<T> {
  const asked = query.wait !== undefined ? Math.min(parseDuration(query.wait, 'wait', Infinity), MAX_BLOCK_MS) : DEFAULT_WAIT_MS;
  const waitMs = asked + Math.floor(Math.random() * (asked / 16));
  // Nomad treats index 0 as no index: answer at once.
  const { value, index } = await readAfter(volumed, req, query.index || undefined, waitMs, filter, read);
  void reply.header('X-Nomad-Index', String(index));
  return value;
}

/** The namespaces a list covers: `*` is every one the token may list, none is `default`. */
export function listNamespaces(req: FastifyRequest, namespace: string | undefined): readonly string[] | undefined {
  if (namespace === '*') return req.visible;
  const ns = namespace ?? 'default';
  return req.visible && !req.visible.includes(ns) ? [] : [ns];
}

/** `X-Nomad-CSI-Secrets: k=v,k2=v2`. */
export function secretsHeader(req: FastifyRequest): Record<string, string> | undefined {
  const raw = req.headers['x-nomad-csi-secrets'];
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const out: Record<string, string> = {};
  for (const pair of raw.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new InvalidInputError('must be key=value pairs separated by commas', 'X-Nomad-CSI-Secrets');
    out[pair.slice(0, at).trim()] = pair.slice(at + 1);
  }
  return out;
}

/** Waits for the task behind a write; a task that failed is the storage's error. */
export async function done(volumed: Volumed, req: FastifyRequest, task: Task): Promise<Task> {
  const ended = await volumed.engine.waitForTask(task.id, MAX_WAIT_MS, clientGone(req));
  if (ended.state === 'error') throw taskFailure(ended);
  if (ended.state !== 'success') throw new BackendError(`${ended.operation} still ${ended.state} after ${MAX_WAIT_MS / 1000}s; task ${ended.id}`, { transient: true });
  return ended;
}

/** Writes answer the index they reached, as Nomad's do. */
export async function writeIndex(volumed: Volumed, reply: FastifyReply): Promise<void> {
  void reply.header('X-Nomad-Index', String(await volumed.engine.latestIndex()));
}

/**
 * A write's answer body with Nomad's QueryMeta inlined (Index, LastContact,
 * KnownLeader, NextToken), as Nomad's register, create and snapshot answers carry it.
 */
export async function writeResponse<T extends Record<string, unknown>>(volumed: Volumed, reply: FastifyReply, body: T): Promise<T & { Index: number; LastContact: number; KnownLeader: boolean; NextToken: string }> {
  const index = await volumed.engine.latestIndex();
  void reply.header('X-Nomad-Index', String(index));
  return { ...body, Index: index, LastContact: 0, KnownLeader: true, NextToken: '' };
}
