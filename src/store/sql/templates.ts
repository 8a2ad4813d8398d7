// Statements whose SQL never changes, built and compiled by Kysely once (per
// dialect) and then run with new parameters. Building and compiling a query
// costs more than running most of ours; the hottest ones (one record by id,
// the event log, usage, the index) run thousands of times a second.

import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './schema.js';

/** Parameters are built as markers and swapped for the values at each run. */
const MARKER = '\u0000volumed-param:';

/**
 * Runs compiled SQL at once on the connection behind a Kysely handle. SQLite's
 * driver is synchronous underneath, yet each statement through Kysely passes
 * its connection provider and several promises; a store whose connection can
 * be reached registers a runner for it and templates go straight there.
 */
export type DirectRunner = (sql: string, parameters: readonly unknown[]) => QueryResult<unknown>;
const directRunners = new WeakMap<Kysely<Database>, DirectRunner>();

/** Templates run on `db` go to `runner` (same connection, so the same transaction). */
export function runDirectly(db: Kysely<Database>, runner: DirectRunner): void {
  directRunners.set(db, runner);
}

export class Template<K extends string, R> {
  private readonly compiled = new Map<unknown, CompiledQuery<R>>();

  constructor(
    private readonly keys: readonly K[],
    private readonly build: (db: Kysely<Database>, p: Readonly<Record<K, never>>) => Compilable<R>,
  ) {}

  /** Runs the statement with these values (one per key). */
  run(db: Kysely<Database>, values: Readonly<Record<K, unknown>>): Promise<QueryResult<R>> {
    const dialect = db.getExecutor().adapter.constructor;
    let compiled = this.compiled.get(dialect);
    if (!compiled) {
      const markers = Object.fromEntries(this.keys.map((k) => [k, `${MARKER}${k}`])) as unknown as Record<K, never>;
      compiled = this.build(db, markers).compile();
      this.compiled.set(dialect, compiled);
    }
    const parameters = compiled.parameters.map((p) => (typeof p === 'string' && p.startsWith(MARKER) ? values[p.slice(MARKER.length) as K] : p));
    const direct = directRunners.get(db);
    if (direct) return Promise.resolve(direct(compiled.sql, parameters) as QueryResult<R>);
    return db.executeQuery<R>({ ...compiled, parameters });
  }

  async first(db: Kysely<Database>, values: Readonly<Record<K, unknown>>): Promise<R | undefined> {
    return (await this.run(db, values)).rows[0];
  }
}

/**
 * `update <table> set <columns> where <key> = ? and ...`: updates write only
 * the columns that changed, so their SQL varies; each set of columns is
 * built and compiled once, then run with new values.
 */
export class ColumnUpdate {
  private readonly byColumns = new Map<string, Template<string, unknown>>();

  constructor(
    private readonly table: 'volumes' | 'tasks' | 'snapshots' | 'attachments',
    private readonly keys: readonly string[],
  ) {}

  /** Runs the update; the number of rows it changed. */
  async run(db: Kysely<Database>, set: Readonly<Record<string, unknown>>, where: Readonly<Record<string, unknown>>): Promise<number> {
    const columns = Object.keys(set).sort();
    const signature = columns.join(',');
    let template = this.byColumns.get(signature);
    if (!template) {
      const { table, keys } = this;
      template = new Template([...columns.map((c) => `set:${c}`), ...keys.map((k) => `where:${k}`)], (kdb, p) => {
        const param = p;
        // The table and columns are fixed per template; Kysely's types cannot follow a table chosen at run time.
        let query = kdb.updateTable(table).set(Object.fromEntries(columns.map((c) => [c, param[`set:${c}`]])) as never);
        for (const k of keys) query = query.where(k as never, '=', param[`where:${k}`] as never);
        return query;
      });
      this.byColumns.set(signature, template);
    }
    const values: Record<string, unknown> = {};
    for (const c of columns) values[`set:${c}`] = set[c];
    for (const k of this.keys) values[`where:${k}`] = where[k];
    const result = await template.run(db, values);
    return Number(result.numAffectedRows ?? 0n);
  }
}

/** `insert into <table> (<columns>) values (...)`: one template per set of columns. */
export class RowInsert {
  private readonly byColumns = new Map<string, Template<string, unknown>>();

  constructor(private readonly table: 'volumes' | 'tasks' | 'snapshots' | 'attachments') {}

  async run(db: Kysely<Database>, row: object): Promise<void> {
    const values = row as Readonly<Record<string, unknown>>;
    const columns = Object.keys(values);
    const signature = columns.join(',');
    let template = this.byColumns.get(signature);
    if (!template) {
      const { table } = this;
      // As in ColumnUpdate: the table is chosen at run time, beyond what Kysely's types follow.
      template = new Template(columns, (kdb, p) => kdb.insertInto(table).values(Object.fromEntries(columns.map((c) => [c, p[c]])) as never));
      this.byColumns.set(signature, template);
    }
    await template.run(db, values);
  }
}
