// A CSI client over a unix socket: every call has a deadline; ABORTED,
// UNAVAILABLE and DEADLINE_EXCEEDED (another operation in flight, a plugin
// restarting) are retried with backoff, which the spec's idempotency makes
// safe; the rest become volumed's errors, carrying the plugin's message.
// Requests are never logged: they may hold secrets.

import * as grpc from '@grpc/grpc-js';
import { BackendError, ConflictError, ForbiddenError, InvalidInputError, NotFoundError, UnsupportedError } from '../../domain/errors.js';
import { csiServices, socketAddress } from '../../protocols/csi.js';

export type CsiService = 'identity' | 'controller' | 'node';

export interface CsiClientOptions {
  /** `unix:///path/to/csi.sock` (or a plain path). */
  readonly endpoint: string;
  readonly timeoutMs?: number;
  readonly attempts?: number;
  readonly backoffMs?: number;
}

/** A CSI call that failed with a gRPC status. */
export class CsiStatusError extends Error {
  constructor(
    readonly method: string,
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(`${method}: ${grpc.status[code] ?? code}: ${details}`);
  }
}

const RETRIED = new Set([grpc.status.ABORTED, grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export class CsiClient {
  private readonly clients: Record<CsiService, grpc.Client>;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(readonly options: CsiClientOptions) {
    const address = socketAddress(options.endpoint);
    const creds = grpc.credentials.createInsecure();
    const s = csiServices();
    this.clients = { identity: new s.Identity(address, creds), controller: new s.Controller(address, creds), node: new s.Node(address, creds) };
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.attempts = options.attempts ?? 5;
    this.backoffMs = options.backoffMs ?? 200;
  }

  private once<Res>(service: CsiService, method: string, req: unknown, timeoutMs: number): Promise<Res> {
    const client = this.clients[service] as unknown as Record<string, Unary>;
    const fn = client[method];
    if (!fn) return Promise.reject(new CsiStatusError(method, grpc.status.UNIMPLEMENTED, `no such CSI method ${method}`));
    return new Promise<Res>((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(new CsiStatusError(method, err.code, err.details || err.message));
        else resolve(res as Res);
      });
    });
  }

  /** One CSI call, retried while the plugin says to come back later. */
  async call<Res>(service: CsiService, method: string, req: unknown, options: { timeoutMs?: number; attempts?: number } = {}): Promise<Res> {
    const attempts = options.attempts ?? this.attempts;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<Res>(service, method, req, options.timeoutMs ?? this.timeoutMs);
      } catch (e) {
        if (!(e instanceof CsiStatusError) || !RETRIED.has(e.code) || attempt >= attempts) throw e;
        await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** (attempt - 1)));
      }
    }
  }

  close(): void {
    for (const c of Object.values(this.clients)) c.close();
  }
}

/** The plugin's refusal as volumed's error (the message is the plugin's). */
export function volumedErrorOf(e: unknown, resource?: { type: string; id: string }): unknown {
  if (!(e instanceof CsiStatusError)) return e;
  const message = `CSI ${e.method}: ${e.details}`;
  const ref = resource ? { resource } : {};
  switch (e.code) {
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.OUT_OF_RANGE:
      return new InvalidInputError(message, undefined, resource);
    case grpc.status.NOT_FOUND:
      return resource ? new NotFoundError(resource.type, resource.id) : new BackendError(message);
    case grpc.status.ALREADY_EXISTS:
    case grpc.status.FAILED_PRECONDITION:
      return new ConflictError(message, resource);
    case grpc.status.RESOURCE_EXHAUSTED:
      return new BackendError(`out of capacity: ${message}`, ref);
    case grpc.status.UNIMPLEMENTED:
      return new UnsupportedError(message, resource);
    case grpc.status.PERMISSION_DENIED:
    case grpc.status.UNAUTHENTICATED:
      return new ForbiddenError(message, resource);
    default:
      return new BackendError(message, { ...ref, transient: RETRIED.has(e.code) || e.code === grpc.status.INTERNAL, cause: e });
  }
}
