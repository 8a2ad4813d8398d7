// The part of a SQL store that does not depend on the database: transactions
// that take the next index, and waiting for an index (blocking queries).

import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { Store, StoreTx } from '../store.js';
import { SqlReader } from './reader.js';
import type { Database } from './schema.js';
import { SqlTx } from './writer.js';

/** Other processes may write too (PostgreSQL): look for their changes this often. */
const POLL_MS = 1000;

export abstract class SqlStore extends SqlReader implements Store {
  abstract readonly exclusive: boolean;
  private readonly committed = new EventEmitter();
  private closed = false;

  protected constructor(db: Kysely<Database>) {
    super(db);
    this.committed.setMaxListeners(0);
  }

  async transact<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('store is closed');
    const result = await this.db.transaction().execute(async (trx) => {
      // Taking the index first makes this a write transaction at once, and
      // serializes writers on the counter row in every database.
      const row = await trx
        .updateTable('counters')
        .set((eb) => ({ value: eb('value', '+', 1) }))
        .where('name', '=', 'index')
        .returning('value')
        .executeTakeFirstOrThrow();
      return fn(new SqlTx(trx, Number(row.value), new Date()));
    });
    this.committed.emit('commit');
    return result;
  }

  async waitForIndex(afterIndex: number, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    const current = await this.latestIndex();
    if (current > afterIndex || timeoutMs <= 0) return current;
    return new Promise<number>((resolve) => {
      let done = false;
      const check = (): void => {
        void this.latestIndex().then(
          (index) => {
            if (index > afterIndex) finish(index);
          },
          () => finish(afterIndex),
        );
      };
      const poll = setInterval(check, POLL_MS);
      const timer = setTimeout(() => void this.latestIndex().then(finish, () => finish(afterIndex)), timeoutMs);
      const onAbort = (): void => finish(afterIndex);
      const finish = (index: number): void => {
        if (done) return;
        done = true;
        clearInterval(poll);
        clearTimeout(timer);
        this.committed.off('commit', check);
        signal?.removeEventListener('abort', onAbort);
        resolve(index);
      };
      this.committed.on('commit', check);
      signal?.addEventListener('abort', onAbort);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy();
  }
}
