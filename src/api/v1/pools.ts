// /api/v1/pools and what each pool holds that could be adopted.

import { InvalidInputError } from '../../domain/errors.js';
import type { ManageableObject } from '../../domain/types.js';
import type { Volumed } from '../../app/open.js';
import { blocking, type App } from './context.js';
import { BlockingQuery, IdParams, ManageableQuery } from './schemas.js';

interface ManageablePageQuery {
  marker?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
  sort?: 'identifier' | 'size' | undefined;
  direction?: 'asc' | 'desc' | undefined;
}

const identifier = (m: ManageableObject): string => Object.values(m.reference)[0] ?? '';

/** Cinder's manageable listing: sorted, then marker (an identifier) and/or offset, then limit. */
export function pageManageable(all: readonly ManageableObject[], q: ManageablePageQuery): { items: ManageableObject[]; nextMarker: string | null } {
  const dir = q.direction === 'desc' ? -1 : 1;
  const sorted = [...all].sort((a, b) => dir * (q.sort === 'size' ? a.sizeBytes - b.sizeBytes || identifier(a).localeCompare(identifier(b)) : identifier(a).localeCompare(identifier(b))));
  let start = 0;
  if (q.marker !== undefined) {
    const at = sorted.findIndex((m) => identifier(m) === q.marker);
    if (at < 0) throw new InvalidInputError(`no manageable object ${q.marker}`, 'marker');
    start = at + 1;
  }
  start += q.offset ?? 0;
  const limit = q.limit ?? 1000;
  const items = sorted.slice(start, start + limit);
  const last = items.at(-1);
  return { items, nextMarker: start + limit < sorted.length && last ? identifier(last) : null };
}

export function poolRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;

  app.get('/pools', { config: { access: { need: 'authenticated' } }, schema: { tags: ['pools'], querystring: BlockingQuery } }, async (req, reply) => {
    return { pools: await blocking(volumed, req, reply, req.query, { topics: ['pool'] }, () => engine.listPools()) };
  });

  app.get('/pools/:id', { config: { access: { need: 'authenticated' } }, schema: { tags: ['pools'], params: IdParams, querystring: BlockingQuery } }, async (req, reply) => {
    return { pool: await blocking(volumed, req, reply, req.query, { keys: [req.params.id] }, () => engine.getPool(req.params.id)) };
  });

  app.get('/pools/:id/manageable-volumes', { schema: { tags: ['adoption'], params: IdParams, querystring: ManageableQuery } }, async (req) => {
    const page = pageManageable(await engine.listManageableVolumes(req.params.id), req.query);
    return { manageableVolumes: page.items, nextMarker: page.nextMarker };
  });

  app.get('/pools/:id/manageable-snapshots', { schema: { tags: ['adoption'], params: IdParams, querystring: ManageableQuery } }, async (req) => {
    const page = pageManageable(await engine.listManageableSnapshots(req.params.id), req.query);
    return { manageableSnapshots: page.items, nextMarker: page.nextMarker };
  });
}
