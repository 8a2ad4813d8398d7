// The one place where errors become Cinder's fault bodies:
// {"<faultName>": {"code": N, "message": "..."}}, with Cinder's fault names
// for each status and its phrasing of the common refusals.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidStateError, isVolumedError, type ErrorCode, type VolumedError } from '../../domain/errors.js';
import { describeValidation, drain } from '../errors.js';
import { VersionNotAcceptableError } from './microversions.js';

const FAULT_NAMES: Readonly<Record<number, string>> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

const STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  invalid_input: 400,
  // Cinder refuses an action from the wrong status as a bad request (InvalidVolume).
  invalid_state: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  quota_exceeded: 413,
  unsupported: 501,
  backend_error: 500,
};

/** Cinder's resource words: "Volume type", "Snapshot". */
const NOUNS: Readonly<Record<string, string>> = { volume: 'Volume', snapshot: 'Snapshot', type: 'Volume type', attachment: 'Volume attachment', image: 'Image', pool: 'Host', task: 'Message' };

function noun(type: string): string {
  return NOUNS[type] ?? type.charAt(0).toUpperCase() + type.slice(1);
}

/** The engine's field names as Cinder's requests name them, so a refusal names the field the caller sent. */
const CINDER_FIELDS: Readonly<Record<string, string>> = {
  sizeBytes: 'size',
  newSizeBytes: 'new_size',
  labels: 'metadata',
  type: 'volume_type',
  'source.snapshotId': 'snapshot_id',
  'source.volumeId': 'source_volid',
  'source.imageId': 'imageRef',
  node: 'host_name',
  instance: 'instance_uuid',
  reference: 'ref',
};

function inputMessage(err: VolumedError & { field?: string }): string {
  const field = err.field;
  const named = field === undefined ? undefined : (CINDER_FIELDS[field] ?? (field.startsWith('labels.') ? `metadata.${field.slice(7)}` : undefined));
  if (field === undefined || named === undefined || !err.message.startsWith(`${field}: `)) return err.message;
  return `${named}: ${err.message.slice(field.length + 2)}`;
}

function messageOf(err: VolumedError): string {
  const type = err.resource?.type ?? 'resource';
  switch (err.code) {
    case 'not_found':
      return `${noun(type)} ${err.resource?.id ?? ''} could not be found.`;
    case 'invalid_state': {
      const e = err as InvalidStateError;
      const word = type.toLowerCase();
      if (e.allowed?.length) return `Invalid ${word}: ${noun(type)} status must be ${e.allowed.join(' or ')}, but current status is: ${e.currentStatus}.`;
      return `Invalid ${word}: ${err.message}`;
    }
    case 'invalid_input':
      return `Invalid input received: ${inputMessage(err)}`;
    case 'unauthenticated':
      return 'The request you have made requires authentication.';
    case 'forbidden':
      return `Policy doesn't allow this operation to be performed: ${err.message}`;
    default:
      return err.message;
  }
}

export interface Fault {
  readonly status: number;
  readonly body: Record<string, { code: number; message: string }>;
}

export function fault(status: number, message: string): Fault {
  return { status, body: { [FAULT_NAMES[status] ?? 'computeFault']: { code: status, message } } };
}

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

export function toFault(err: unknown): Fault {
  if (isVolumedError(err)) return fault(STATUS_OF[err.code], messageOf(err));
  if (err instanceof VersionNotAcceptableError) return fault(406, err.message);
  const fe = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fe.validation) return fault(400, `Invalid input for field/attribute ${describeValidation(fe.validationContext ?? 'request', fe.validation)}`);
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return fault(413, 'Request is too large.');
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return fault(415, 'Unsupported Content-Type');
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) return fault(400, 'Malformed request body');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return fault(fe.statusCode, fe.message);
  return fault(500, 'The server has either erred or is incapable of performing the requested operation.');
}

/** The error handler of the surface; a 401 names where tokens come from, as keystonemiddleware does. */
export function cinderErrorHandler(identityUri: string) {
  return async (err: unknown, req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const { status, body } = toFault(err);
    if (status === 413) await drain(req);
    if (status >= 500 && status !== 501) req.log.error({ err }, 'cinder request failed');
    if (status === 401) void reply.header('WWW-Authenticate', `Keystone uri="${identityUri}"`);
    await reply.status(status).send(body);
  };
}
