// Statements whose SQL never changes, built and compiled by Kysely once (per
// dialect) and then run with new parameters. Building and compiling a query
// costs more than running most of ours; the hottest ones (one record by id,
// the event log, usage, the index) run thousands of times a second.

import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './schema.js';

/** Parameters are built as markers and swapped for the values at each run. */
const MARKER = '\u0000volumed-param:';

export class Template<K extends string, R> {
  private readonly compiled = new Map<unknown, CompiledQuery<R>>();

  constructor(
    private readonly keys: readonly K[],
    private readonly build: (db: Kysely<Database>, p: Readonly<Record<K, never>>) => Compilable<R>,
  ) {}

  /** Runs the statement with these values (one per key). */
  run(db: Kysely<Database>, values: Readonly<Record<K, unknown>>): Promise<QueryResult<R>> {
    const executor = db.getExecutor();
    const dialect = executor.adapter.constructor;
    let compiled = this.compiled.get(dialect);
    if (!compiled) {
      const markers = Object.fromEntries(this.keys.map((k) => [k, `${MARKER}${k}`])) as unknown as Record<K, never>;
      compiled = this.build(db, markers).compile();
      this.compiled.set(dialect, compiled);
    }
    const parameters = compiled.parameters.map((p) => (typeof p === 'string' && p.startsWith(MARKER) ? values[p.slice(MARKER.length) as K] : p));
    return db.executeQuery<R>({ ...compiled, parameters });
  }

  async first(db: Kysely<Database>, values: Readonly<Record<K, unknown>>): Promise<R | undefined> {
    return (await this.run(db, values)).rows[0];
  }
}
