// The one place where errors become VI/JSON faults. A method that fails as a
// whole answers HTTP 500 with the fault object; one spec of a batch that
// fails carries the MethodFault itself in its result's `fault` (VI/JSON's
// CnsVolumeOperationResult.fault and TaskInfo.error are MethodFault, not the
// SOAP LocalizedMethodFault wrapper). Every fault has
// `_typeName` and a faultMessage; CNS faults also a `reason`. Field names are
// the request's (createSpecs[1].backingObjectDetails.capacityInMb).

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AlreadyManagedError, InvalidInputError, isVolumedError, type ErrorCode } from '../../domain/errors.js';
import type { ItemError } from '../../engine/batches.js';
import { describeValidation } from '../errors.js';
import { moRef, type VimObject } from './views.js';

export type Fault = VimObject;

/** A fault raised on purpose by the surface (login, sessions, releases). */
export class VimFault extends Error {
  constructor(
    readonly fault: Fault,
    readonly status = 500,
  ) {
    super(String((fault.faultMessage as { message: string }[] | undefined)?.[0]?.message ?? fault._typeName));
  }
}

export function fault(typeName: string, message: string, fields: Record<string, unknown> = {}): Fault {
  return { _typeName: typeName, faultMessage: [{ _typeName: 'LocalizableMessage', key: `com.vmware.volumed.${typeName}`, message }], ...fields };
}

const CNS_FAULT_OF: Readonly<Partial<Record<ErrorCode, string>>> = {
  invalid_state: 'CnsFault',
  conflict: 'CnsFault',
  quota_exceeded: 'CnsFault',
  backend_error: 'CnsFault',
  unsupported: 'NotSupported',
  forbidden: 'NoPermission',
  unauthenticated: 'NotAuthenticated',
};

/** The engine's field names as the spec under `path` calls them. */
export type FieldNames = Readonly<Record<string, string>>;

/** The engine's field in the request's words: the longest name that is the field or a prefix of it. */
function cnsFieldOf(field: string, names: FieldNames): string {
  let best = '';
  for (const key of Object.keys(names)) {
    const prefixes = field === key || field.startsWith(`${key}.`) || field.startsWith(`${key}[`);
    if (prefixes && key.length > best.length) best = key;
  }
  return best ? `${names[best] ?? best}${field.slice(best.length)}` : field;
}

function renamed(message: string, field: string | undefined, path: string, names: FieldNames): { message: string; property: string } {
  const cnsField = field === undefined ? undefined : cnsFieldOf(field, names);
  const property = cnsField === undefined ? path : path ? `${path}.${cnsField}` : cnsField;
  const detail = field !== undefined && message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
  return { message: `${property}: ${detail}`, property };
}

/** The fault for an error in the dialect of CNS, naming `path` (the spec) and its field. */
export function faultOf(code: string, message: string, ctx: { field?: string; resourceType?: string; resourceId?: string; path: string; names: FieldNames; alreadyManaged?: boolean }): Fault {
  const volumeId = (id: string): VimObject => ({ _typeName: 'CnsVolumeId', id });
  const where = ctx.path ? `${ctx.path}: ` : '';
  if (code === 'invalid_input') {
    const { message: text, property } = renamed(message, ctx.field, ctx.path, ctx.names);
    return fault('InvalidArgument', text, { invalidProperty: property });
  }
  if (code === 'not_found' && ctx.resourceType === 'volume' && ctx.resourceId) {
    return fault('CnsVolumeNotFoundFault', `${where}volume ${ctx.resourceId} not found`, { reason: `${where}volume ${ctx.resourceId} not found`, volumeId: volumeId(ctx.resourceId) });
  }
  if (code === 'not_found' && ctx.resourceType === 'snapshot' && ctx.resourceId) {
    const text = `${where}snapshot ${ctx.resourceId} not found`;
    // VI/JSON spells this one field with a capital S.
    return fault('CnsSnapshotNotFoundFault', text, { reason: text, SnapshotId: { _typeName: 'CnsSnapshotId', id: ctx.resourceId } });
  }
  if (code === 'not_found' && ctx.resourceType === 'task' && ctx.resourceId) {
    return fault('ManagedObjectNotFound', `${where}${message}`, { obj: moRef('Task', ctx.resourceId) });
  }
  if (code === 'not_found') return fault('NotFound', `${where}${message}`);
  if (ctx.alreadyManaged && ctx.resourceId) {
    return fault('CnsAlreadyRegisteredFault', `${where}${message}`, { reason: `${where}${message}`, volumeId: volumeId(ctx.resourceId) });
  }
  const typeName = CNS_FAULT_OF[code as ErrorCode] ?? 'CnsFault';
  return fault(typeName, `${where}${message}`, typeName === 'CnsFault' ? { reason: `${where}${message}` } : {});
}

/** A thrown error as CNS describes it. */
export function faultOfError(err: unknown, path = '', names: FieldNames = {}): Fault {
  if (err instanceof VimFault) return err.fault;
  if (isVolumedError(err)) {
    return faultOf(err.code, err.message, {
      path,
      names,
      ...(err instanceof InvalidInputError && err.field ? { field: err.field } : {}),
      ...(err.resource ? { resourceType: err.resource.type, resourceId: err.resource.id } : {}),
      alreadyManaged: err instanceof AlreadyManagedError,
    });
  }
  return fault('SystemError', 'internal error; see the volumed log', { reason: 'internal error' });
}

/** A batch item's fault, from what the engine recorded of it. */
export function itemFault(message: string, error: ItemError | undefined, path: string, names: FieldNames): VimObject {
  return faultOf(error?.code ?? 'backend_error', message, {
    path,
    names,
    ...(error?.field ? { field: error.field } : {}),
    ...(error?.resourceType ? { resourceType: error.resourceType } : {}),
    ...(error?.resourceId ? { resourceId: error.resourceId } : {}),
    alreadyManaged: error?.name === AlreadyManagedError.name,
  });
}

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

export async function vimErrorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const fe = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  let body: Fault;
  let status = 500;
  if (err instanceof VimFault) {
    body = err.fault;
    status = err.status;
  } else if (fe.validation) {
    const text = describeValidation(fe.validationContext ?? 'body', fe.validation);
    body = fault('InvalidArgument', text, { invalidProperty: fe.validation[0]?.instancePath.replace(/^\//, '').replaceAll('/', '.') ?? '' });
  } else if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError) {
    body = fault('InvalidRequest', `the request body is not valid JSON: ${fe.message}`);
    status = 400;
  } else if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    body = fault('InvalidRequest', 'request body too large');
    status = 413;
  } else {
    body = faultOfError(err);
    if (body._typeName === 'SystemError') req.log.error({ err }, 'VI/JSON request failed');
  }
  await reply.status(status).type('application/json').send(body);
}
