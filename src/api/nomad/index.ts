// The Nomad CSI volume surface: /v1/volumes, /v1/volume/csi/:id,
// /v1/volumes/external, /v1/volumes/snapshot, /v1/plugins and
// /v1/plugin/csi/:id, as Nomad's HTTP agent serves them, so the Nomad CLI's
// client library and scripts written against Nomad work unchanged. A plugin
// is a volumed pool. Routes call only the engine; errors become plain text
// in errors.ts.

import type { RouteMethods } from '../allowed-methods.js';
import type { FastifyRequest } from 'fastify';
import type { Volumed } from '../../app/open.js';
import { InvalidInputError } from '../../domain/errors.js';
import type { App } from '../app.js';
import { nomadErrorHandler } from './errors.js';
import { pluginRoutes } from './plugins.js';
import { canonicalBody, ClaimBody, SnapshotsBody, VolumesBody } from './schemas.js';
import { snapshotRoutes } from './snapshots.js';
import { volumeRoutes } from './volumes.js';

const BODY_SCHEMAS = [VolumesBody, SnapshotsBody, ClaimBody];

/** A write's namespace is the request's; Nomad's client may carry it in the body's volumes instead of the query. */
function namespaceFromBody(req: FastifyRequest): void {
  const query = req.query as { namespace?: string };
  const body = req.body as { Namespace?: unknown; Volumes?: { Namespace?: unknown }[] } | undefined;
  const named = new Set<string>();
  if (typeof body?.Namespace === 'string' && body.Namespace) named.add(body.Namespace);
  for (const v of body?.Volumes ?? []) if (typeof v?.Namespace === 'string' && v.Namespace) named.add(v.Namespace);
  if (query.namespace) named.add(query.namespace);
  if (named.size > 1) throw new InvalidInputError(`one request writes to one namespace; it names ${[...named].join(', ')}`, 'Namespace');
  const [ns] = named;
  if (ns !== undefined) query.namespace = ns;
}

export async function nomadRoutes(app: App, volumed: Volumed, options: { version: string; routeMethods?: RouteMethods }): Promise<void> {
  await app.register(
    async (scope) => {
      const v1 = scope as unknown as App;
      v1.setErrorHandler(nomadErrorHandler);
      v1.setNotFoundHandler(async (req, reply) => {
        const allowed = options.routeMethods?.allowed(req.url) ?? [];
        if (allowed.length) return reply.status(405).header('allow', allowed.join(', ')).type('text/plain; charset=utf-8').send('Invalid method');
        return reply.status(404).type('text/plain; charset=utf-8').send('Invalid URL');
      });
      v1.addHook('onRoute', (route) => {
        // The native API's OpenAPI document describes /api/v1 only.
        route.schema = { ...(route.schema ?? {}), hide: true };
      });
      v1.addHook('onRequest', async (req, reply) => {
        void reply.header('X-Nomad-KnownLeader', 'true');
        void reply.header('X-Nomad-LastContact', '0');
        // Nomad reads every body as JSON whatever it is labelled (curl --data says form-encoded; Nomad's client says nothing).
        const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
        if (hasBody) req.headers['content-type'] = 'application/json';
      });
      v1.addHook('preValidation', async (req) => {
        const schema = req.routeOptions.schema?.body;
        if (req.body !== undefined && BODY_SCHEMAS.includes(schema as never)) req.body = canonicalBody(req.body, schema as never);
        if (req.method !== 'GET') namespaceFromBody(req);
      });
      const ctx = { volumed, version: options.version };
      volumeRoutes(v1, ctx);
      snapshotRoutes(v1, ctx);
      pluginRoutes(v1, ctx);
    },
    { prefix: '/v1' },
  );
}
