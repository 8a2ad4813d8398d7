// One Fastify listener for every surface. Routes are thin: validate (schemas),
// one engine call, translate back; errors are mapped in api/errors.ts.

import type { Duplex } from 'node:stream';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import ajvFormats from 'ajv-formats';
import { lazyValidatorBuilder } from './lazy-validation.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Volumed } from '../app/open.js';
import { handleError } from './errors.js';
import { installGuard } from './guard.js';
import { installAuditLog, installRateLimit, type RateLimitOptions } from './hardening.js';
import { installMetrics } from './metrics.js';
import { cinderRoutes } from './cinder/index.js';
import { KeystoneAuth, type KeystoneOptions } from './cinder/keystone.js';
import { nomadRoutes } from './nomad/index.js';
import { vsphereRoutes } from './vsphere/index.js';
import { installJsonBodyParser } from './json-body.js';
import { RouteMethods } from './allowed-methods.js';
import { documentRefusals } from './v1/refusals.js';
import { adminRoutes } from './v1/admin.js';
import { aclRoutes } from './v1/acl.js';
import { attachmentRoutes } from './v1/attachments.js';
import type { App } from './v1/context.js';
import { eventRoutes } from './v1/events.js';
import { imageRoutes } from './v1/images.js';
import { poolRoutes } from './v1/pools.js';
import { snapshotRoutes } from './v1/snapshots.js';
import { taskRoutes } from './v1/tasks.js';
import { typeRoutes } from './v1/types.js';
import { volumeRoutes } from './v1/volumes.js';

export const BODY_LIMIT = 1024 * 1024;

export interface ServerOptions {
  readonly logger?: FastifyBaseLogger | boolean;
  readonly version?: string;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly rateLimit?: RateLimitOptions | false;
  /** JSON-lines file for the audit log of mutating requests. */
  readonly auditLog?: string | false;
  /** The Cinder surface's Keystone authentication. */
  readonly keystone?: KeystoneOptions;
}

/**
 * A request Node's parser refused before any route saw it (a URL or headers
 * past Node's 16 KiB, a malformed request line): answered in the documented
 * `{"error": {code, message}}` shape rather than Fastify's own, then closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify({
    error: tooLarge
      ? { code: 'header_too_large', message: 'the request line and headers are too large (at most 16 KiB): put long values in the body' }
      : { code: 'bad_request', message: `the request could not be read: ${err.code ?? err.message}` },
  });
  socket.end(`HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export async function buildServer(volumed: Volumed, options: ServerOptions = {}): Promise<App> {
  const app = Fastify({
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
    ...(typeof options.logger === 'object' ? { loggerInstance: options.logger } : { logger: options.logger ?? false }),
    bodyLimit: BODY_LIMIT,
    // Ids may be 128 characters and a Nomad or Cinder id in a path segment more;
    // Fastify's default (100) answered 414 for a valid id.
    routerOptions: { maxParamLength: 1024 },
    clientErrorHandler: answerClientError,
    // One line per request, written in onResponse below, instead of two.
    logController: new LogController({ disableRequestLogging: true }),
    schemaController: { compilersFactory: { buildValidator: lazyValidatorBuilder() } },
    ajv: {
      // Unknown fields are an error, never silently dropped; query strings are coerced.
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
      plugins: [ajvFormats as never],
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  const routeMethods = new RouteMethods();
  routeMethods.watch(app);

  installJsonBodyParser(app);
  // Image uploads are streamed, not buffered; the handler reads the stream.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
  app.setErrorHandler(handleError);
  installGuard(app, volumed, ['/api/v1/docs']);
  if (options.rateLimit) await installRateLimit(app, options.rateLimit);
  if (options.auditLog) installAuditLog(app, options.auditLog);
  const methodNotAllowed = (req: FastifyRequest, reply: FastifyReply, allowed: readonly string[]) =>
    reply.status(405).header('allow', allowed.join(', ')).send({ error: { code: 'method_not_allowed', message: `${req.method} is not served at ${req.url.split('?')[0] ?? ''}; it takes ${allowed.join(', ')}` } });
  // A method no route has on a known native path is refused before its body is read (QUERY, TRACE, ...).
  app.addHook('onRequest', async (req, reply) => {
    if (!req.is404 || !req.url.startsWith('/api/v1/')) return;
    const allowed = routeMethods.allowed(req.url);
    if (allowed.length) return methodNotAllowed(req, reply, allowed);
  });
  app.setNotFoundHandler(async (req, reply) => {
    const allowed = routeMethods.allowed(req.url);
    if (allowed.length) return methodNotAllowed(req, reply, allowed);
    return reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` } });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'volumed native API', version: options.version ?? '0.1.0', description: 'Volumes on real storage: create, attach, snapshot, extend, migrate, adopt, delete.' },
      servers: [],
    },
    transform: documentRefusals,
  });
  await app.register(swaggerUi, { routePrefix: '/api/v1/docs' });

  installMetrics(app, volumed);
  // One line per request at level info; a server set to log less skips the hook.
  if ((app.log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info')) {
    app.addHook('onResponse', async (req, reply) => {
      req.log.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    });
  }
  app.get('/healthz', { config: { access: { public: true } }, schema: { tags: ['health'] } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { access: { public: true } }, schema: { tags: ['health'] } }, async (_req, reply) => {
    try {
      await volumed.engine.latestIndex();
      return { status: 'ready', pools: volumed.pools.ids() };
    } catch (e) {
      return reply.status(503).send({ status: 'unavailable', error: (e as Error).message });
    }
  });

  await app.register(
    async (v1) => {
      const api = v1 as unknown as App;
      volumeRoutes(api, volumed);
      attachmentRoutes(api, volumed);
      snapshotRoutes(api, volumed);
      poolRoutes(api, volumed);
      typeRoutes(api, volumed);
      taskRoutes(api, volumed);
      imageRoutes(api, volumed);
      eventRoutes(api, volumed);
      aclRoutes(api, volumed);
      adminRoutes(api, volumed);
      api.get('/openapi.json', { config: { access: { public: true } }, schema: { tags: ['docs'] } }, async () => app.swagger());
    },
    { prefix: '/api/v1' },
  );
  await cinderRoutes(app, volumed, { routeMethods, ...(options.keystone ? { keystone: new KeystoneAuth(options.keystone) } : {}) });
  await nomadRoutes(app, volumed, { version: options.version ?? '0.1.0', routeMethods });
  await vsphereRoutes(app, volumed, { version: options.version ?? '0.1.0' });
  return app;
}
