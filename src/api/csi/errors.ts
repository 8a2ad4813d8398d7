// The one place where errors become gRPC statuses, as the CSI spec names
// them: bad input INVALID_ARGUMENT, unknown ids NOT_FOUND, a rule in the way
// FAILED_PRECONDITION, a call racing another on the same volume ABORTED.

import { status, type ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { isVolumedError, type ErrorCode } from '../../domain/errors.js';

/** A refusal the plugin decides itself, with the status the spec gives it. */
export class CsiError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

export const invalid = (message: string): CsiError => new CsiError(status.INVALID_ARGUMENT, message);

/** A REQUIRED field of the spec: empty is INVALID_ARGUMENT naming it. */
export function required(value: string | undefined, field: string): string {
  if (!value) throw invalid(`${field}: is required`);
  return value;
}

const STATUS_OF: Readonly<Record<ErrorCode, status>> = {
  invalid_input: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  invalid_state: status.FAILED_PRECONDITION,
  conflict: status.FAILED_PRECONDITION,
  quota_exceeded: status.RESOURCE_EXHAUSTED,
  unsupported: status.INVALID_ARGUMENT,
  forbidden: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  backend_error: status.INTERNAL,
};

export function toServiceError(e: unknown): Partial<ServiceError> {
  const of = (code: status, details: string): Partial<ServiceError> => ({ code, details, message: details, metadata: new Metadata() });
  if (e instanceof CsiError) return of(e.code, e.message);
  if (isVolumedError(e)) {
    const transient = e.code === 'backend_error' && (e as { transient?: boolean }).transient === true;
    return of(transient ? status.UNAVAILABLE : STATUS_OF[e.code], e.message);
  }
  return of(status.INTERNAL, e instanceof Error ? e.message : String(e));
}
