// Access control for every surface, in one place. Each route declares what it
// needs (`config.access`); these hooks resolve the caller's token and enforce
// it. Reading a resource in a namespace the caller cannot see answers 404, so
// ids do not leak; lacking only the capability answers 403. A route that
// declares nothing is management-only.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { allows, ANONYMOUS_ALL, visibleNamespaces, type Capability, type Identity } from '../domain/acl.js';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../domain/errors.js';
import type { Volumed } from '../app/open.js';

export type Need = Capability | 'management' | 'authenticated';

export interface AccessRule {
  /** No token needed (health, docs, bootstrap). */
  readonly public?: boolean;
  readonly need?: Need | ((req: FastifyRequest) => Need);
  /** The resource named by `params.id` (or `resourceId`) whose namespace decides. */
  readonly resource?: 'volume' | 'snapshot' | 'task' | 'image';
  readonly resourceId?: (req: FastifyRequest) => unknown;
  /** Where the namespace of a create or list comes from (default namespace: `default`). */
  readonly namespaceFrom?: 'body' | 'query' | 'params';
  /** The field of `namespaceFrom` that names the namespace (default `namespace`; Cinder's URLs: `project_id`). */
  readonly namespaceParam?: string;
  /** A list: without a namespace it shows every namespace the caller may list. */
  readonly list?: boolean;
  /** Source references in the body (snapshotId, volumeId, imageId) must be readable. */
  readonly sources?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessRule;
  }
  interface FastifyRequest {
    identity: Identity;
    /** A refused token, answered (401) once the rate limiter has counted the request. */
    unauthenticated: UnauthenticatedError | undefined;
    /** For lists: the namespaces the caller may see; undefined means all. */
    visible: readonly string[] | undefined;
  }
}

/** `?force` turns an action into an admin action. */
/** `need`, or admin when the request asks for force and the state table reserves the forced action to admins. */
export const forceIsAdmin =
  (need: Capability, forcedNeedsAdmin: boolean) =>
  (req: FastifyRequest): Capability =>
    (req.query as { force?: boolean } | undefined)?.force && forcedNeedsAdmin ? 'admin' : need;

/** Tokens arrive in the header each surface's clients use. */
export function tokenOf(req: Pick<FastifyRequest, 'headers'>): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  for (const h of ['x-volumed-token', 'x-nomad-token', 'x-auth-token']) {
    const v = req.headers[h];
    if (typeof v === 'string' && v.length) return v;
  }
  return undefined;
}

async function namespaceOf(volumed: Volumed, kind: NonNullable<AccessRule['resource']>, id: string): Promise<string | undefined> {
  return volumed.engine.namespaceOf(kind, id);
}

const NOBODY: Identity = { token: null, management: false, rules: [] };

/** 404 when the caller cannot even read there, 403 when it can read but not do this. */
function checkResource(identity: Identity, need: Capability, namespace: string, type: string, id: string): void {
  if (!allows(identity, 'read-volume', namespace) && !allows(identity, need, namespace)) throw new NotFoundError(type, id);
  if (!allows(identity, need, namespace)) throw new ForbiddenError(`permission denied: ${need} in namespace ${namespace}`, { type, id });
}

/**
 * For a surface whose clients carry their credential their own way (a
 * VI/JSON session): identify the caller with that secret instead of a token header.
 */
export async function identifyWith(volumed: Volumed, req: FastifyRequest, secret: string | undefined): Promise<void> {
  req.identity = await volumed.acl.identify(secret);
  req.unauthenticated = undefined;
}

/** For a request that acts on many resources (a batch): may the caller do `need` to this one? */
export async function authorize(volumed: Volumed, req: FastifyRequest, need: Capability, kind: NonNullable<AccessRule['resource']>, id: string): Promise<void> {
  if (!volumed.acl.enabled) return;
  const ns = await namespaceOf(volumed, kind, id);
  if (ns !== undefined) checkResource(req.identity, need, ns, kind, id);
}

/** May the caller do `need` in this namespace (creating there)? */
export function authorizeIn(volumed: Volumed, req: FastifyRequest, need: Capability, namespace: string): void {
  if (!volumed.acl.enabled || allows(req.identity, need, namespace)) return;
  throw new ForbiddenError(`permission denied: ${need} in namespace ${namespace}`, { type: 'namespace', id: namespace });
}

/** The namespaces the caller may `need` in (undefined: all), for a list that decides them itself. */
export async function visibleTo(volumed: Volumed, req: FastifyRequest, need: Capability): Promise<readonly string[] | undefined> {
  if (!volumed.acl.enabled) return undefined;
  const visible = visibleNamespaces(req.identity, need, await volumed.engine.listNamespaces());
  return visible === 'all' ? undefined : visible;
}

export function installGuard(app: FastifyInstance, volumed: Volumed, publicPrefixes: readonly string[]): void {
  app.decorateRequest('identity', null as unknown as Identity);
  app.decorateRequest('visible', undefined);
  // Routes that plugins add (the docs page) are public by prefix.
  app.addHook('onRoute', (route) => {
    if (publicPrefixes.some((p) => route.url.startsWith(p))) route.config = { ...(route.config ?? {}), access: { public: true } };
  });

  app.decorateRequest('unauthenticated', undefined);
  if (!volumed.acl.enabled) {
    // ACLs off: everyone may do everything, so there is no token to look up and nothing to check.
    app.addHook('onRequest', (req, _reply, done) => {
      req.identity = ANONYMOUS_ALL;
      done();
    });
    return;
  }
  app.addHook('onRequest', async (req) => {
    const rule = req.routeOptions.config.access;
    if (rule?.public) return;
    try {
      req.identity = await volumed.acl.identify(tokenOf(req));
    } catch (e) {
      if (!(e instanceof UnauthenticatedError)) throw e;
      // Not thrown yet: the rate limiter (a later onRequest hook) must count
      // refused requests too, or made-up tokens would each get a fresh bucket.
      req.identity = NOBODY;
      req.unauthenticated = e;
    }
  });
  // Before the body is read.
  app.addHook('preParsing', async (req, _reply, payload) => {
    if (req.unauthenticated) throw req.unauthenticated;
    return payload;
  });

  app.addHook('preHandler', async (req) => {
    const rule = req.routeOptions.config.access ?? { need: 'management' };
    if (rule.public) return;
    const identity = req.identity;
    const need = typeof rule.need === 'function' ? rule.need(req) : (rule.need ?? 'management');
    if (need === 'authenticated') return;
    if (need === 'management') {
      if (!identity.management) throw new ForbiddenError('permission denied: this needs a management token');
      return;
    }
    const params = (req.params ?? {}) as Record<string, unknown>;
    const resourceId = rule.resourceId ? rule.resourceId(req) : params.id;
    if (rule.resource && typeof resourceId === 'string') {
      const ns = await namespaceOf(volumed, rule.resource, resourceId);
      if (ns !== undefined) checkResource(identity, need, ns, rule.resource, resourceId);
    }
    if (rule.namespaceFrom) {
      const from = (rule.namespaceFrom === 'body' ? req.body : rule.namespaceFrom === 'query' ? req.query : req.params) as Record<string, unknown> | undefined;
      const named = from?.[rule.namespaceParam ?? 'namespace'];
      const ns = typeof named === 'string' ? named : undefined;
      // `*` (Nomad's namespace=*) lists every namespace the caller may list.
      if (rule.list && (ns === undefined || ns === '*')) {
        const visible = visibleNamespaces(identity, need, await volumed.engine.listNamespaces());
        req.visible = visible === 'all' ? undefined : visible;
      } else if (!allows(identity, need, ns ?? 'default')) {
        throw new ForbiddenError(`permission denied: ${need} in namespace ${ns ?? 'default'}`, { type: 'namespace', id: ns ?? 'default' });
      }
    }
    if (rule.sources) {
      const source = (req.body as { source?: Record<string, unknown> } | undefined)?.source ?? {};
      for (const [key, kind] of [['volumeId', 'volume'], ['snapshotId', 'snapshot'], ['imageId', 'image']] as const) {
        const id = source[key];
        if (typeof id !== 'string') continue;
        const ns = await namespaceOf(volumed, kind, id);
        if (ns !== undefined && !allows(identity, 'read-volume', ns)) throw new NotFoundError(kind, id);
      }
    }
  });
}
