// The one place where errors become HTTP for the native API: domain errors by
// code, Fastify's own (validation, body size, unknown route) by their codes.
// Body: {error: {code, message, resource?}}.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isVolumedError, type ErrorCode } from '../domain/errors.js';

export const STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  invalid_state: 409,
  conflict: 409,
  quota_exceeded: 413,
  unsupported: 501,
  backend_error: 502,
};

export interface ErrorBody {
  error: { code: string; message: string; resource?: { type: string; id: string } };
}

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** `body.sizeBytes: must be >= 1`, `query.foo: unknown field`. */
export function describeValidation(context: string, errors: readonly AjvError[]): string {
  const e = errors[0];
  if (!e) return `${context}: invalid`;
  const base = [context, ...e.instancePath.split('/').filter(Boolean)].join('.');
  if (e.keyword === 'additionalProperties') return `${base}.${String(e.params.additionalProperty)}: unknown field`;
  if (e.keyword === 'required') return `${base}.${String(e.params.missingProperty)}: is required`;
  return `${base}: ${e.message ?? 'is invalid'}`;
}

/** The content types a JSON API takes, said in the 415 that refuses another. */
export function unsupportedMediaType(sent: string | undefined): string {
  return `content-type ${sent ? JSON.stringify(sent) : 'of this body'} is not accepted: send application/json (application/octet-stream for image bytes)`;
}

/** `contentType`: the request's, named in a 415. */
export function toErrorResponse(err: unknown, contentType?: string): { status: number; body: ErrorBody } {
  if (isVolumedError(err)) {
    return {
      status: STATUS_OF[err.code],
      body: { error: { code: err.code, message: err.message, ...(err.resource ? { resource: err.resource } : {}) } },
    };
  }
  const fe = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fe.validation) {
    return { status: 400, body: { error: { code: 'invalid_input', message: describeValidation(fe.validationContext ?? 'request', fe.validation) } } };
  }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, body: { error: { code: 'too_large', message: 'request body is too large' } } };
  if (fe.statusCode === 429) return { status: 429, body: { error: { code: 'rate_limited', message: fe.message } } };
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, body: { error: { code: 'unsupported_media_type', message: unsupportedMediaType(contentType) } } };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { error: { code: 'invalid_input', message: fe.message } } };
  }
  return { status: 500, body: { error: { code: 'internal', message: 'internal error; see the server log' } } };
}

/** Bodies up to this size are read and dropped before a 413, so the client sees the answer, not a broken pipe. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

export function drain(req: FastifyRequest): Promise<void> {
  const length = Number(req.headers['content-length'] ?? NaN);
  if (!(length <= DRAIN_LIMIT) || req.raw.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 5000);
    req.raw.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    req.raw.on('error', () => resolve());
    req.raw.resume();
  });
}

export async function handleError(err: unknown, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { status, body } = toErrorResponse(err, req.headers['content-type']);
  if (status === 413) await drain(req);
  if (status >= 500 && status !== 501) req.log.error({ err }, 'request failed');
  await reply.status(status).send(body);
}
