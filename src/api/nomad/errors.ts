// The one place where errors become Nomad's answers: a plain-text body with
// the status code, as Nomad's HTTP agent writes them. Conflicts are 409 and
// refusals from the wrong state 400 — never 500, which Nomad's own agent
// answers for some of them.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidInputError, isVolumedError, type ErrorCode } from '../../domain/errors.js';
import { describeValidation, drain } from '../errors.js';
import { FilterSyntaxError } from './filter.js';

const STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  invalid_input: 400,
  invalid_state: 400,
  // Nomad answers 403 for a token it does not know, as for one that may not.
  unauthenticated: 403,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  quota_exceeded: 429,
  unsupported: 501,
  backend_error: 500,
};

/** The engine's field names as Nomad's requests call them. */
const NOMAD_FIELDS: Readonly<Record<string, string>> = {
  id: 'ID',
  name: 'Name',
  namespace: 'Namespace',
  pool: 'PluginID',
  sizeBytes: 'RequestedCapacityMin',
  newSizeBytes: 'RequestedCapacityMin',
  'source.snapshotId': 'SnapshotID',
  'source.volumeId': 'CloneID',
  kind: 'Parameters.kind',
  type: 'Parameters.type',
  accessMode: 'AccessMode',
  attachmentMode: 'AttachmentMode',
  secrets: 'Secrets',
  topology: 'Topologies',
  reference: 'ExternalID',
  'reference.source-name': 'ExternalID',
  node: 'NodeID',
};

function nomadMessage(err: InvalidInputError): string {
  const field = err.field;
  const named = field === undefined ? undefined : (NOMAD_FIELDS[field] ?? (field.startsWith('secrets.') ? `Secrets.${field.slice(8)}` : undefined));
  if (field === undefined || named === undefined || !err.message.startsWith(`${field}: `)) return err.message;
  return `${named}: ${err.message.slice(field.length + 2)}`;
}

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

export function toNomadError(err: unknown): { status: number; text: string } {
  if (isVolumedError(err)) {
    if (err.code === 'unauthenticated') return { status: 403, text: 'ACL token not found' };
    if (err.code === 'forbidden') return { status: 403, text: `Permission denied: ${err.message}` };
    if (err.code === 'not_found') return { status: 404, text: `${err.resource?.type ?? 'resource'} not found: ${err.resource?.id ?? ''}` };
    if (err instanceof InvalidInputError) return { status: 400, text: nomadMessage(err) };
    return { status: STATUS_OF[err.code], text: err.message };
  }
  if (err instanceof FilterSyntaxError) return { status: 400, text: err.message };
  const fe = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fe.validation) return { status: 400, text: describeValidation(fe.validationContext ?? 'request', fe.validation) };
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, text: 'Request body too large' };
  if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError) return { status: 400, text: `Request decode failed: ${fe.message}` };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return { status: fe.statusCode, text: fe.message };
  return { status: 500, text: 'internal error; see the volumed log' };
}

export async function nomadErrorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { status, text } = toNomadError(err);
  if (status === 413) await drain(req);
  if (status >= 500 && status !== 501) req.log.error({ err }, 'nomad request failed');
  await reply.status(status).type('text/plain; charset=utf-8').send(text);
}
