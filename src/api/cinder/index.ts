// The Cinder Block Storage v3 surface: `GET /` (versions), `/v3/` and every
// resource under `/v3/{project_id}/...` — and without the project id from
// microversion 3.67. Routes call only the engine; errors become Cinder
// faults in errors.ts.

import type { RouteMethods } from '../allowed-methods.js';
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Volumed } from '../../app/open.js';
import { ForbiddenError, NotFoundError } from '../../domain/errors.js';
import type { App } from '../app.js';
import { tokenOf, type AccessRule, type Need } from '../guard.js';
import { cinderErrorHandler, fault } from './errors.js';
import type { KeystoneAuth } from './keystone.js';
import { atLeast, format, MAX_VERSION, MIN_VERSION, negotiate, VERSION_HEADER, type Microversion } from './microversions.js';
import { volumeActionRoutes } from './actions.js';
import { attachmentRoutes } from './attachments.js';
import { manageRoutes } from './manage.js';
import { messageRoutes } from './messages.js';
import { quotaRoutes } from './quotas.js';
import { serviceRoutes } from './services.js';
import { snapshotRoutes } from './snapshots.js';
import { typeRoutes } from './types.js';
import { volumeRoutes } from './volumes.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The first Cinder microversion that has this route (404 before it, as Cinder). */
    minVersion?: string;
    /** With Keystone: what the route needs, checked against the Keystone token instead of volumed's ACL. */
    keystoneAccess?: AccessRule;
  }
}

export interface CinderOptions {
  /** Authenticate X-Auth-Token with Keystone (else: volumed tokens with ACLs on, noauth with them off). */
  readonly keystone?: KeystoneAuth;
  /** What methods each path has, for 405 answers. */
  readonly routeMethods?: RouteMethods;
}

/**
 * Keystone's word on a request: the admin role for admin routes; a member
 * only in its own project (the URL's project must be the token's).
 */
function checkKeystoneAccess(req: FastifyRequest): void {
  const identity = req.keystoneIdentity;
  if (!identity) return;
  const rule = req.routeOptions.config.keystoneAccess ?? {};
  if (rule.public) return;
  const need: Need = typeof rule.need === 'function' ? rule.need(req) : (rule.need ?? 'admin');
  if ((need === 'admin' || need === 'management') && !identity.admin) throw new ForbiddenError(`this needs the admin role; the token has ${identity.roles.join(', ') || 'no roles'}`);
  const project = (req.params as { project_id?: string }).project_id;
  if (project !== undefined && project !== identity.project && !identity.admin) {
    throw new ForbiddenError(`the token is scoped to project ${identity.project}, not ${project}`);
  }
}

/** When this API's version document says it was last updated. */
const UPDATED = '2023-09-06T00:00:00Z';

function versionDoc(req: FastifyRequest): Record<string, unknown> {
  const host = `${req.protocol}://${req.headers.host ?? 'localhost'}`;
  return {
    id: 'v3.0',
    status: 'CURRENT',
    version: MAX_VERSION,
    min_version: MIN_VERSION,
    updated: UPDATED,
    links: [
      { href: 'https://docs.openstack.org/', type: 'text/html', rel: 'describedby' },
      { href: `${host}/v3/`, rel: 'self' },
    ],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.volume+json;version=3' }],
  };
}

/** Everything a v3 scope registers: once under `/:project_id`, once without. */
function resourceRoutes(app: App, volumed: Volumed): void {
  volumeRoutes(app, volumed);
  volumeActionRoutes(app, volumed);
  snapshotRoutes(app, volumed);
  typeRoutes(app, volumed);
  quotaRoutes(app, volumed);
  serviceRoutes(app, volumed);
  messageRoutes(app, volumed);
  attachmentRoutes(app, volumed);
  manageRoutes(app, volumed);
}

export async function cinderRoutes(app: App, volumed: Volumed, options: CinderOptions = {}): Promise<void> {
  const keystone = options.keystone;
  app.get('/', { config: { access: { public: true } }, schema: { hide: true } }, async (req, reply) => {
    void reply.header('x-openstack-request-id', `req-${randomUUID()}`);
    return reply.status(300).send({ versions: [versionDoc(req)] });
  });

  await app.register(
    async (scope) => {
      const v3 = scope as unknown as App;
      v3.setErrorHandler(cinderErrorHandler(keystone?.url ?? 'volumed'));
      v3.addHook('onRoute', (route) => {
        // The native API's OpenAPI document describes /api/v1 only.
        route.schema = { ...(route.schema ?? {}), hide: true };
        // Keystone decides instead of volumed's ACL: the guard lets these through.
        if (keystone) route.config = { ...(route.config ?? {}), keystoneAccess: route.config?.access ?? {}, access: { public: true } };
      });
      v3.setNotFoundHandler(async (req, reply) => {
        const allowed = options.routeMethods?.allowed(req.url) ?? [];
        if (allowed.length) {
          const { status, body } = fault(405, `The method ${req.method} is not allowed for this resource; it takes ${allowed.join(', ')}.`);
          return reply.status(status).header('allow', allowed.join(', ')).send(body);
        }
        const { status, body } = fault(404, 'The resource could not be found.');
        return reply.status(status).send(body);
      });
      v3.decorateRequest('cinderVersion', null as unknown as Microversion);
      v3.decorateRequest('keystoneIdentity', undefined);
      v3.addHook('onRequest', async (req, reply) => {
        void reply.header('x-openstack-request-id', `req-${randomUUID()}`);
        void reply.header('Vary', VERSION_HEADER);
        req.cinderVersion = negotiate(req.headers['openstack-api-version']);
        void reply.header(VERSION_HEADER, `volume ${format(req.cinderVersion)}`);
        const min = req.routeOptions.config.minVersion;
        if (min !== undefined && !atLeast(req.cinderVersion, min)) throw new NotFoundError('resource', req.url.split('?')[0] ?? '');
        if (keystone && !req.routeOptions.config.keystoneAccess?.public) req.keystoneIdentity = await keystone.identify(tokenOf(req));
      });
      v3.addHook('preHandler', async (req) => checkKeystoneAccess(req));

      v3.get('/', { config: { access: { public: true } }, schema: { hide: true } }, async (req) => ({ versions: [versionDoc(req)] }));
      await v3.register(async (s) => resourceRoutes(s as unknown as App, volumed), { prefix: '/:project_id' });
      await v3.register(
        async (s) => {
          const bare = s as unknown as App;
          bare.addHook('onRequest', async (req) => {
            if (!atLeast(req.cinderVersion, '3.67')) throw new NotFoundError('resource', req.url.split('?')[0] ?? '');
          });
          resourceRoutes(bare, volumed);
        },
        { prefix: '' },
      );
    },
    { prefix: '/v3' },
  );
}
