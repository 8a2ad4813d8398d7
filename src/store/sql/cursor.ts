// Opaque keyset cursors: the sort key and value of the last row seen, plus its
// id as the tie-breaker. A cursor made for another sort is refused, so a page
// can never skip or repeat rows silently.

import { InvalidInputError } from '../../domain/errors.js';

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
