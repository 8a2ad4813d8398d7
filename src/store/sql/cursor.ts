// Opaque keyset cursors: the sort key and value of the last row seen, plus its
// id as the tie-breaker. A cursor made for another sort is refused, so a page
// can never skip or repeat rows silently.

import { sql, type SelectQueryBuilder } from 'kysely';
import { InvalidInputError } from '../../domain/errors.js';
import type { ListPage } from '../store.js';
import type { Database } from './schema.js';

export interface CursorPosition {
  readonly sort: string;
  readonly direction: 'asc' | 'desc';
  readonly value: string | number;
  readonly id: string;
}

export function encodeCursor(pos: CursorPosition): string {
  return Buffer.from(JSON.stringify([pos.sort, pos.direction, pos.value, pos.id])).toString('base64url');
}

export function decodeCursor(cursor: string, sort: string, direction: 'asc' | 'desc'): CursorPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidInputError('malformed cursor', 'cursor');
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw new InvalidInputError('malformed cursor', 'cursor');
  const [s, d, value, id] = parsed as unknown[];
  if (typeof s !== 'string' || (d !== 'asc' && d !== 'desc') || typeof id !== 'string' || (typeof value !== 'string' && typeof value !== 'number')) {
    throw new InvalidInputError('malformed cursor', 'cursor');
  }
  if (s !== sort || d !== direction) {
    throw new InvalidInputError(`cursor was made for sort ${s} ${d}, not ${sort} ${direction}`, 'cursor');
  }
  return { sort: s, direction: d, value, id };
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new InvalidInputError(`must be an integer from 1 to ${MAX_LIMIT}`, 'limit');
  return limit;
}

type Paged = 'snapshots' | 'tasks' | 'images';

/** Keyset page over (created_at, id), oldest first. */
export async function pageByCreated<T, TB extends Paged>(
  query: SelectQueryBuilder<Database, TB, { doc: string; id: string; created_at: number }>,
  rawLimit: number | undefined,
  cursor: string | undefined,
  parse: (doc: string) => T = (doc) => JSON.parse(doc) as T,
): Promise<ListPage<T>> {
  const limit = clampLimit(rawLimit);
  let q = query;
  if (cursor !== undefined) {
    const pos = decodeCursor(cursor, 'createdAt', 'asc');
    q = q.where(sql<boolean>`(created_at, id) > (${pos.value}, ${pos.id})`);
  }
  const rows = await q.orderBy(sql`created_at`).orderBy(sql`id`).limit(limit + 1).execute();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => parse(r.doc)),
    nextCursor: rows.length > limit && last ? encodeCursor({ sort: 'createdAt', direction: 'asc', value: Number(last.created_at), id: last.id }) : null,
  };
}
