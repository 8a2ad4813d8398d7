// /v1/plugins and /v1/plugin/csi/:id — volumed's pools as CSI plugins — and
// /v1/volumes/external: the storage objects a plugin's pool holds.

import { InvalidInputError } from '../../domain/errors.js';
import { blocking, type App } from './context.js';
import { ExternalQuery, IdParams, PluginQuery } from './schemas.js';
import { externalStub, pluginDetail, pluginStub } from './views.js';
import type { NomadContext } from './volumes.js';

export function pluginRoutes(app: App, ctx: NomadContext): void {
  const { volumed, version } = ctx;
  const { engine } = volumed;

  app.get('/plugins', { config: { access: { need: 'authenticated' } }, schema: { querystring: PluginQuery } }, async (req, reply) => {
    const q = req.query;
    if (q.type === undefined) return blocking(volumed, req, reply, q, { topics: ['pool'] }, async () => []);
    if (q.type !== 'csi') throw new InvalidInputError(`must be csi, not ${JSON.stringify(q.type)}`, 'type');
    const pools = await blocking(volumed, req, reply, q, { topics: ['pool'] }, () => engine.listPools());
    return pools.filter((p) => !q.prefix || p.id.startsWith(q.prefix)).map(pluginStub);
  });

  app.get('/plugin/csi/:id', { config: { access: { need: 'authenticated' } }, schema: { params: IdParams, querystring: PluginQuery } }, async (req, reply) => {
    const pool = await blocking(volumed, req, reply, req.query, { topics: ['pool'] }, () => engine.getPool(req.params.id));
    return pluginDetail(pool, version, new Date().toISOString());
  });

  app.get('/volumes/external', { config: { access: { need: 'write-volume', namespaceFrom: 'query' } }, schema: { querystring: ExternalQuery } }, async (req, reply) => {
    const q = req.query;
    if (!q.plugin_id) throw new InvalidInputError('is required', 'plugin_id');
    const pool = await engine.getPool(q.plugin_id);
    const objects = await blocking(volumed, req, reply, q, { topics: ['volume'] }, () => engine.listManageableVolumes(pool.id));
    const rows = objects.map((o) => ({ object: o, externalId: String(externalStub(o, []).ExternalID) })).sort((a, b) => (a.externalId < b.externalId ? -1 : a.externalId > b.externalId ? 1 : 0));
    const from = q.next_token ? rows.findIndex((r) => r.externalId >= (q.next_token ?? '')) : 0;
    const start = from < 0 ? rows.length : from;
    const end = q.per_page ? start + q.per_page : rows.length;
    const volumes = [];
    for (const { object } of rows.slice(start, end)) {
      const nodes = object.managedId ? [...new Set((await engine.listAttachments(object.managedId).catch(() => [])).map((a) => a.node))] : [];
      volumes.push(externalStub(object, nodes));
    }
    return { Volumes: volumes, NextToken: rows[end]?.externalId ?? '' };
  });
}
