// Typed errors. The domain knows no HTTP numbers: each surface maps these in
// one place. Every error names the resource it is about, so that a user with
// hundreds of volumes knows which one was refused.

export interface ResourceRef {
  readonly type: string;
  readonly id: string;
}

export type ErrorCode =
  | 'not_found'
  | 'invalid_state'
  | 'invalid_input'
  | 'conflict'
  | 'quota_exceeded'
  | 'unsupported'
  | 'backend_error'
  | 'forbidden'
  | 'unauthenticated';

export abstract class VolumedError extends Error {
  abstract readonly code: ErrorCode;
  readonly resource: ResourceRef | undefined;

  constructor(message: string, resource?: ResourceRef) {
    super(message);
    this.name = new.target.name;
    this.resource = resource;
  }
}

export class NotFoundError extends VolumedError {
  readonly code = 'not_found';
  constructor(type: string, id: string) {
    super(`${type} ${id} not found`, { type, id });
  }
}

/** The action is not allowed from the resource's current status. */
export class InvalidStateError extends VolumedError {
  readonly code = 'invalid_state';
  readonly currentStatus: string;
  readonly action: string;
  /** The statuses the action is allowed from, when a status list decides (surfaces phrase their own messages from it). */
  readonly allowed: readonly string[] | undefined;
  constructor(resource: ResourceRef, action: string, currentStatus: string, detail?: string, allowed?: readonly string[]) {
    super(
      `cannot ${action}: ${resource.type} ${resource.id} has status ${currentStatus}` + (detail ? ` (${detail})` : ''),
      resource,
    );
    this.currentStatus = currentStatus;
    this.action = action;
    this.allowed = allowed;
  }
}

export class InvalidInputError extends VolumedError {
  readonly code = 'invalid_input';
  readonly field: string | undefined;
  constructor(message: string, field?: string, resource?: ResourceRef) {
    super(field ? `${field}: ${message}` : message, resource);
    this.field = field;
  }
}

/** A rule other than status forbids the change (access modes, name taken, lost update). */
export class ConflictError extends VolumedError {
  readonly code = 'conflict';
}

/** The storage object is already some volume's: adopting it again would give it two owners. */
export class AlreadyManagedError extends ConflictError {
  constructor(externalId: string, poolId: string, volumeId: string) {
    super(`${externalId} in pool ${poolId} is already managed as volume ${volumeId}`, { type: 'volume', id: volumeId });
  }
}

export class QuotaExceededError extends VolumedError {
  readonly code = 'quota_exceeded';
  constructor(namespace: string, what: string, limit: number, requested: number, inUse: number) {
    super(
      `quota exceeded in namespace ${namespace}: ${what} limit ${limit}, in use ${inUse}, requested ${requested}`,
      { type: 'namespace', id: namespace },
    );
  }
}

export class UnsupportedError extends VolumedError {
  readonly code = 'unsupported';
}

export class BackendError extends VolumedError {
  readonly code = 'backend_error';
  /** A transient error is retried with backoff by the task runner. */
  readonly transient: boolean;
  constructor(message: string, options: { transient?: boolean; resource?: ResourceRef; cause?: unknown } = {}) {
    super(message, options.resource);
    this.transient = options.transient ?? false;
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

export class ForbiddenError extends VolumedError {
  readonly code = 'forbidden';
}

/** No token, or one volumed does not know. */
export class UnauthenticatedError extends VolumedError {
  readonly code = 'unauthenticated';
}

export function isVolumedError(e: unknown): e is VolumedError {
  return e instanceof VolumedError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A task that ended in error, as the error its caller answers: the storage's
 * failure, naming the operation, its reason and the task (its record stays
 * readable). Every surface that waits for a task says it this way.
 */
export function taskFailure(task: { readonly id: string; readonly operation: string; readonly error: string | null; readonly resourceType: string; readonly resourceId: string }): BackendError {
  return new BackendError(`${task.operation} failed: ${task.error ?? 'unknown error'} (task ${task.id})`, { resource: { type: task.resourceType, id: task.resourceId } });
}
