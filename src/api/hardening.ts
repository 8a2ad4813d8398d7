// Rate limiting per token (429 + Retry-After) and the audit log of every
// mutating request (who, what, result) as JSON lines.

import { createWriteStream, type WriteStream } from 'node:fs';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';

export interface RateLimitOptions {
  readonly max: number;
  readonly windowSeconds: number;
}

export async function installRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    max: options.max,
    timeWindow: options.windowSeconds * 1000,
    // Per token once the guard has accepted it, else per client address (so
    // made-up tokens share their sender's bucket, as does everyone with ACLs off).
    keyGenerator: (req) => {
      const token = req.identity?.token;
      return token ? `t:${token.id}` : `ip:${req.ip}`;
    },
    // Thrown, and answered by the surface's error handler like every other error.
    errorResponseBuilder: (_req, ctx) =>
      Object.assign(new Error(`too many requests: at most ${ctx.max} per ${options.windowSeconds}s; retry in ${Math.ceil(ctx.ttl / 1000)}s`), { statusCode: 429, code: 'rate_limited' }),
  });
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Appends one JSON line per mutating request. The line never holds a body, a query string or a secret. */
export function installAuditLog(app: FastifyInstance, file: string): WriteStream {
  const out = createWriteStream(file, { flags: 'a', mode: 0o600 });
  app.addHook('onResponse', async (req, reply) => {
    if (!MUTATING.has(req.method)) return;
    const params = (req.params ?? {}) as Record<string, unknown>;
    const token = req.identity?.token ?? null;
    const line = {
      time: new Date().toISOString(),
      who: token ? { tokenId: token.id, tokenName: token.name } : { tokenId: null, remote: req.ip },
      method: req.method,
      route: req.routeOptions.url ?? null,
      path: req.url.split('?')[0],
      resourceId: typeof params.id === 'string' ? params.id : null,
      status: reply.statusCode,
      result: reply.statusCode < 400 ? 'ok' : 'refused',
    };
    out.write(JSON.stringify(line) + '\n');
  });
  app.addHook('onClose', async () => {
    await new Promise<void>((resolve) => out.end(resolve));
  });
  return out;
}
