// One operation at a time per volume (or snapshot name): a second call while
// the first runs is ABORTED, as the spec lets a plugin answer a CO that lost
// track of what it had in flight; the CO retries with backoff.

import { status } from '@grpc/grpc-js';
import { CsiError } from './errors.js';

export class InFlight {
  private readonly busy = new Set<string>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    if (this.busy.has(key)) throw new CsiError(status.ABORTED, `an operation on ${key} is already in flight; retry later`);
    this.busy.add(key);
    try {
      return await work();
    } finally {
      this.busy.delete(key);
    }
  }
}
