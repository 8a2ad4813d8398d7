// The part of a SQL store that does not depend on the database: transactions
// that take the next index (committed in groups), and the changes they make,
// published to watchers (blocking queries, task waiters, the task runner).

import { sql, type Kysely, type Transaction } from 'kysely';
import { ChangeHub, type ChangeFilter, type CommittedChange, type Watcher } from '../changes.js';
import type { Pool } from '../../domain/types.js';
import type { Store, StoreTx } from '../store.js';
import { SqlReader } from './reader.js';
import type { Database } from './schema.js';
import { runDirectly, Template, type DirectRunner } from './templates.js';
import { SqlTx } from './writer.js';

/** Other processes may write too (a task worker, PostgreSQL peers): look for their changes this often while anyone watches. */
const POLL_MS = 1000;
const NEXT_INDEX = new Template([] as const, (db) =>
  db
    .updateTable('counters')
    .set((eb) => ({ value: eb('value', '+', 1) }))
    .where('name', '=', 'index')
    .returning('value'),
);
const SET_INDEX = new Template(['value'] as const, (db, p) => db.updateTable('counters').set({ value: p.value }).where('name', '=', 'index'));
const SAVEPOINT = new Template([] as const, (db) => ({ compile: () => sql`savepoint grp`.compile(db) }));
const ROLLBACK_TO_SAVEPOINT = new Template([] as const, (db) => ({ compile: () => sql`rollback to savepoint grp`.compile(db) }));
const RELEASE_SAVEPOINT = new Template([] as const, (db) => ({ compile: () => sql`release savepoint grp`.compile(db) }));
/** At most this many transactions share one commit. */
const MAX_GROUP = 256;

interface Pending {
  readonly fn: (tx: StoreTx) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { readonly ok: true; readonly value: unknown; readonly tx: SqlTx } | { readonly ok: false; readonly error: unknown; readonly tx: SqlTx | undefined };

export abstract class SqlStore extends SqlReader implements Store {
  abstract readonly exclusive: boolean;
  private readonly hub = new ChangeHub();
  private readonly queue: Pending[] = [];
  private flushing = false;
  private closed = false;
  /** Indexes this process committed since the last look for other writers' changes. */
  private readonly localIndexes = new Set<number>();
  private polledIndex: number | undefined;
  private poller: NodeJS.Timeout | undefined;
  /** The pools as last read, while no commit has changed one (kept only where no other process writes). */
  private pools: Promise<readonly Pool[]> | undefined;

  /**
   * Reads outside transactions go to `readDb` (a second connection where the
   * database allows it), so they never queue behind a commit and never see a
   * group's writes before they are committed; transactions use `writeDb`.
   */
  protected constructor(
    private readonly writeDb: Kysely<Database>,
    readDb: Kysely<Database> = writeDb,
  ) {
    super(readDb);
  }

  transact<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushing) {
        // The database calls are synchronous underneath, so a transaction would
        // finish before any other request is even read. Waiting for the end of
        // this turn of the event loop lets every request read in it commit
        // together: one write of the shared pages instead of one each.
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Commits what is queued, a group at a time; what arrives meanwhile forms the next group. */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length) {
        await this.beforeCommit();
        await this.commitGroup(this.queue.splice(0, MAX_GROUP));
      }
    } finally {
      this.flushing = false;
    }
  }

  /** What the database must do before the next commit (SQLite: let its log be copied back, see checkpointer.ts). */
  protected beforeCommit(): Promise<void> | undefined {
    return undefined;
  }

  /** Where the database allows, the write connection itself, so templates skip Kysely's promises (see templates.ts). */
  protected directWriter(): DirectRunner | undefined {
    return undefined;
  }

  private async commitGroup(group: readonly Pending[]): Promise<void> {
    const outcomes: Outcome[] = [];
    try {
      await this.writeDb.transaction().execute(async (trx) => {
        const direct = this.directWriter();
        if (direct) runDirectly(trx, direct);
        // One look at the counter for the whole group: taking it first makes
        // this a write transaction at once and serializes writers on its row in
        // every database. Each transaction that holds gets the next index; one
        // that rolls back leaves its index to the next.
        const first = await this.takeIndex(trx);
        let next = first;
        if (group.length === 1 && group[0]) {
          // Alone: no savepoint; a throw rolls the transaction back.
          const tx = new SqlTx(trx, next, new Date());
          outcomes.push({ ok: true, value: await group[0].fn(tx), tx });
          await tx.writeEvents();
          return;
        }
        for (const item of group) {
          await SAVEPOINT.run(trx, {});
          let tx: SqlTx | undefined;
          try {
            tx = new SqlTx(trx, next, new Date());
            const value = await item.fn(tx);
            await tx.writeEvents();
            outcomes.push({ ok: true, value, tx });
            next++;
          } catch (error) {
            await ROLLBACK_TO_SAVEPOINT.run(trx, {});
            outcomes.push({ ok: false, error, tx });
          }
          await RELEASE_SAVEPOINT.run(trx, {});
        }
        if (next - 1 !== first) await SET_INDEX.run(trx, { value: next - 1 });
      });
    } catch (error) {
      // The commit itself failed (or the lone transaction threw): nothing of the group holds.
      group.forEach((item, i) => {
        const o = outcomes[i];
        for (const fn of o?.tx?.onRollback ?? []) fn();
        item.reject(group.length === 1 || o === undefined || o.ok ? error : o.error);
      });
      return;
    }
    const changes: CommittedChange[] = [];
    group.forEach((item, i) => {
      const o = outcomes[i];
      if (!o) return;
      if (o.ok) {
        if (this.poller) this.localIndexes.add(o.tx.index);
        changes.push(...o.tx.changes);
      } else {
        for (const fn of o.tx?.onRollback ?? []) fn();
      }
    });
    if (this.pools && changes.some((c) => c.topic === 'pool')) this.pools = undefined;
    // Watchers first, then each caller, then their after-commit hooks.
    this.hub.publish(changes);
    group.forEach((item, i) => {
      const o = outcomes[i];
      if (!o) return;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    });
    for (const o of outcomes) if (o.ok) for (const fn of o.tx.onCommit) fn();
  }

  /**
   * Every create places its volume by the pools' records, which change only
   * when a pool is registered or its capacity moves: read once, and again
   * after a commit changes one. Other processes' commits are not seen here,
   * so a store they share reads every time.
   */
  override listPools(): Promise<readonly Pool[]> {
    if (!this.exclusive) return super.listPools();
    const pools = this.pools ?? super.listPools();
    this.pools = pools;
    pools.catch(() => {
      if (this.pools === pools) this.pools = undefined;
    });
    return pools;
  }

  /** The next index, counted as taken. */
  private async takeIndex(trx: Transaction<Database>): Promise<number> {
    const row = await NEXT_INDEX.first(trx, {});
    if (!row) throw new Error('the index counter is missing');
    return Number(row.value);
  }

  watch(filter: ChangeFilter): Watcher {
    const w = this.hub.watch(filter);
    this.startPolling();
    return w;
  }

  onChanges(listener: (changes: readonly CommittedChange[]) => void): () => void {
    const off = this.hub.listen(listener);
    this.startPolling();
    return off;
  }

  async waitForIndex(afterIndex: number, timeoutMs: number, signal?: AbortSignal, filter?: ChangeFilter): Promise<number> {
    const w = this.watch(filter ?? {});
    try {
      const current = await this.latestIndex();
      if (current > afterIndex && (!filter || (await this.changedSince(afterIndex, filter)))) return current;
      if (timeoutMs <= 0) return current;
      const change = await w.next(timeoutMs, signal);
      return Math.max(change?.index ?? 0, await this.latestIndex());
    } finally {
      w.close();
    }
  }

  /** Whether the event log holds a change after `afterIndex` that matches. */
  private async changedSince(afterIndex: number, filter: ChangeFilter): Promise<boolean> {
    const keys = filter.keys ?? [];
    const topics = filter.topics ?? [];
    const row = await this.db
      .selectFrom('events')
      .select('idx')
      .where('idx', '>', afterIndex)
      .where((eb) => eb.or([...(keys.length ? [eb('key', 'in', [...keys])] : []), ...(topics.length ? [eb('topic', 'in', [...topics])] : [])]))
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  private startPolling(): void {
    if (this.poller || this.closed) return;
    // The baseline is read before the caller's own first read (queries run in order).
    void this.latestIndex().then((i) => (this.polledIndex ??= i), () => undefined);
    this.poller = setInterval(() => void this.pollOtherWriters().catch(() => undefined), POLL_MS);
    this.poller.unref();
  }

  /** Publishes changes other processes committed: indexes in the log that this process did not commit. */
  private async pollOtherWriters(): Promise<void> {
    if (this.hub.watching === 0 && this.hub.listening === 0) {
      if (this.poller) clearInterval(this.poller);
      this.poller = undefined;
      this.polledIndex = undefined;
      return;
    }
    const latest = await this.latestIndex();
    const from = this.polledIndex ?? latest;
    let local = 0;
    for (const i of this.localIndexes) if (i > from && i <= latest) local++;
    if (latest - from > local) {
      const events = await this.listEvents(from, 10_000);
      this.hub.publish(events.filter((e) => !this.localIndexes.has(e.index)));
    }
    for (const i of this.localIndexes) if (i <= latest) this.localIndexes.delete(i);
    this.polledIndex = latest;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    while (this.flushing) await new Promise((r) => setTimeout(r, 5));
    if (this.db !== this.writeDb) await this.db.destroy();
    await this.writeDb.destroy();
  }
}
