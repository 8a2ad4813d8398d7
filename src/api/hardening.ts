// Rate limiting per token (429 + Retry-After) and the audit log of every
// mutating request (who, what, result) as JSON lines.

import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { tokenOf } from './guard.js';

export interface RateLimitOptions {
  readonly max: number;
  readonly windowSeconds: number;
}

export async function installRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    max: options.max,
    timeWindow: options.windowSeconds * 1000,
    // Per token when one is sent (hashed: the key is kept in memory), else per client address.
    keyGenerator: (req) => {
      const token = tokenOf(req);
      return token ? `t:${createHash('sha256').update(token).digest('hex').slice(0, 32)}` : `ip:${req.ip}`;
    },
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      error: { code: 'rate_limited', message: `too many requests: at most ${ctx.max} per ${options.windowSeconds}s; retry in ${Math.ceil(ctx.ttl / 1000)}s` },
    }),
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
