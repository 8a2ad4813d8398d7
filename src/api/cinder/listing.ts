// Cinder's list parameters turned into engine queries: sort (`sort=key:dir`
// or the old sort_key/sort_dir), marker/limit/offset, the filters, and the
// next link of a full page.

import type { FastifyRequest } from 'fastify';
import { InvalidInputError } from '../../domain/errors.js';
import type { VolumeQuery } from '../../store/store.js';
import { linkBase, parseBool, type Caller } from './context.js';

/** osapi_max_limit. */
export const MAX_LIMIT = 1000;

const SORT_KEYS: Readonly<Record<string, NonNullable<VolumeQuery['sort']>>> = {
  created_at: 'createdAt',
  name: 'name',
  display_name: 'name',
  size: 'sizeBytes',
};

export interface ListParams {
  readonly limit?: number;
  readonly marker?: string;
  readonly offset?: number;
  readonly sort?: string;
  readonly sort_key?: string;
  readonly sort_dir?: string;
  readonly all_tenants?: string;
  readonly project_id?: string;
}

export function sortOf(q: ListParams): { sort: NonNullable<VolumeQuery['sort']>; direction: 'asc' | 'desc' } {
  if (q.sort !== undefined && (q.sort_key !== undefined || q.sort_dir !== undefined)) {
    throw new InvalidInputError("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.", 'sort');
  }
  const [first, ...rest] = (q.sort ?? '').split(',').filter(Boolean);
  if (rest.length) throw new InvalidInputError('volumed sorts by one key only', 'sort');
  const [key, dir] = first ? first.split(':') : [q.sort_key, q.sort_dir];
  const sort = key === undefined ? 'createdAt' : SORT_KEYS[key];
  if (!sort) throw new InvalidInputError(`Invalid sort key ${key ?? ''}; volumed sorts by ${Object.keys(SORT_KEYS).join(', ')}`, 'sort');
  const direction = (dir ?? 'desc').toLowerCase();
  if (direction !== 'asc' && direction !== 'desc') throw new InvalidInputError(`Unknown sort direction, must be 'desc' or 'asc'`, 'sort_dir');
  return { sort, direction };
}

export function pageOf(q: ListParams): { limit: number; afterId?: string; offset?: number } {
  const limit = q.limit === undefined || q.limit > MAX_LIMIT ? MAX_LIMIT : q.limit;
  if (limit === 0) throw new InvalidInputError('limit must be greater than 0', 'limit');
  return { limit, ...(q.marker !== undefined ? { afterId: q.marker } : {}), ...(q.offset !== undefined ? { offset: q.offset } : {}) };
}

/** Whose records a list shows: the URL's project; every project (or one named) for admins with all_tenants. */
export function scopeOf(caller: Caller, q: ListParams): { namespace?: string } {
  const all = q.all_tenants !== undefined && parseBool(q.all_tenants, 'all_tenants');
  if (!all || !caller.admin) return { namespace: caller.project };
  return q.project_id !== undefined ? { namespace: q.project_id } : {};
}

/** Cinder passes metadata filters as a dict (`{'k': 'v'}`, Python's repr) or JSON. */
export function metadataFilter(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const attempts = [text, text.replace(/'/g, '"')];
  for (const attempt of attempts) {
    try {
      const parsed: unknown = JSON.parse(attempt);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
    } catch {
      // try the next reading
    }
  }
  throw new InvalidInputError(`must be a dictionary of key/value pairs, not ${text}`, 'metadata');
}

/** `gt:2024-01-01T00:00:00`, `lte:...`: a time comparison of created_at or updated_at, as two bounds. */
export function timeFilter(text: string | undefined, field: 'created_at' | 'updated_at'): Pick<VolumeQuery, 'createdAfter' | 'createdBefore' | 'updatedAfter' | 'updatedBefore'> {
  if (text === undefined) return {};
  const m = /^(gt|gte|lt|lte|eq):(.+)$/.exec(text);
  const when = m?.[2] !== undefined ? new Date(m[2].endsWith('Z') || /[+-]\d\d:?\d\d$/.test(m[2]) ? m[2] : `${m[2]}Z`) : undefined;
  if (!m || !when || Number.isNaN(when.getTime())) throw new InvalidInputError(`must be an operator (gt, gte, lt, lte, eq) and a time, e.g. gte:2024-01-01T00:00:00, not ${text}`, field);
  const at = when.toISOString();
  const next = new Date(when.getTime() + 1).toISOString();
  const [after, before] = field === 'created_at' ? (['createdAfter', 'createdBefore'] as const) : (['updatedAfter', 'updatedBefore'] as const);
  switch (m[1]) {
    case 'gt':
      return { [after]: next };
    case 'gte':
      return { [after]: at };
    case 'lt':
      return { [before]: at };
    case 'lte':
      return { [before]: next };
    default:
      return { [after]: at, [before]: next };
  }
}

/** `{<collection>_links: [next]}` for a page that may continue (the same query, the last id as marker), else nothing. */
export function nextLinks(req: FastifyRequest, caller: Caller, collection: string, path: string, lastId: string | undefined, more: boolean): Record<string, unknown> {
  if (!more || lastId === undefined) return {};
  const url = new URL(req.url, 'http://x');
  url.searchParams.delete('offset');
  url.searchParams.set('marker', lastId);
  return { [`${collection}_links`]: [{ href: `${linkBase(req, caller.project).versioned}/${path}?${url.searchParams.toString()}`, rel: 'next' }] };
}
