// What the OpenAPI document says every native operation may answer besides
// its success: the refusals, each with the one error body every surface of
// /api/v1 uses, so a client (or a fuzzer) can hold the server to them.
// Documentation only: it is added to the document, not to the routes, so
// answers are serialized as before.

import type { FastifySchema } from 'fastify';

export const ERROR_BODY = {
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', description: 'invalid_input, unauthenticated, forbidden, not_found, conflict, invalid_state, quota_exceeded, too_large, unsupported_media_type, method_not_allowed, rate_limited, unsupported, backend_error, header_too_large' },
        message: { type: 'string', description: 'what was refused, naming the field or the resource' },
        resource: { type: 'object', required: ['type', 'id'], additionalProperties: false, properties: { type: { type: 'string' }, id: { type: 'string' } } },
      },
    },
  },
} as const;

const REFUSALS: Readonly<Record<string, string>> = {
  400: 'bad input: a field is wrong or the state does not allow it (the message names which)',
  401: 'no token, or one volumed does not know (ACLs on)',
  403: "the token's policies do not allow this",
  404: 'no such resource (or one the token may not see)',
  405: 'the path exists, but not with this method (see Allow)',
  409: 'a rule forbids it now: a name or id taken, no room, a changed modifyIndex',
  413: 'the body is too large, or the quota would be exceeded',
  415: 'the body is not application/json',
  429: 'too many requests for this token (see Retry-After)',
  501: "the pool's driver cannot do this",
  502: 'the storage failed the task (with ?wait=true)',
};

/** @fastify/swagger's transform: each /api/v1 operation's document lists every success and refusal. */
export function documentRefusals({ schema, url }: { schema: FastifySchema; url: string }): { schema: FastifySchema; url: string } {
  if (!url.startsWith('/api/v1') || (schema as { hide?: boolean }).hide) return { schema, url };
  const response: Record<string, unknown> = { ...((schema.response as Record<string, unknown> | undefined) ?? {}) };
  // No body schema: a 204 has none, and each success's body is described with its operation.
  response['2XX'] ??= { description: 'done (200, 201), accepted with its task (202), or nothing to say (204)', type: 'null' };
  for (const [status, description] of Object.entries(REFUSALS)) response[status] ??= { description, ...ERROR_BODY };
  return { schema: { ...schema, response }, url };
}
