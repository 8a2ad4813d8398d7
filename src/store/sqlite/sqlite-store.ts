// The embedded default: one SQLite file in WAL mode, owned by one process.

import Sqlite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type LogEvent, type SqliteDatabase } from 'kysely';
import { migrationProvider, type Database } from '../sql/schema.js';
import { SqlStore } from '../sql/sql-store.js';

export interface SqliteStoreOptions {
  /** Sees every statement run (tests read query plans with it). */
  readonly onQuery?: (sql: string, parameters: readonly unknown[]) => void;
}

/** How many distinct statements stay prepared (lists with `IN (...)` lists make a few variants each). */
const STATEMENT_CACHE = 1000;

/**
 * Kysely prepares every query anew; preparing costs more than running most of
 * ours, so each SQL text is prepared once and reused.
 */
function withStatementCache(database: Sqlite.Database): SqliteDatabase {
  const cache = new Map<string, Sqlite.Statement>();
  return {
    close: () => database.close(),
    prepare: (text: string) => {
      let statement = cache.get(text);
      if (!statement) {
        if (cache.size >= STATEMENT_CACHE) cache.clear();
        statement = database.prepare(text);
        cache.set(text, statement);
      }
      return statement;
    },
  };
}

export class SqliteStore extends SqlStore {
  readonly exclusive = true;

  private constructor(db: Kysely<Database>) {
    super(db);
  }

  /** Opens (creating if needed) the database at `file` (':memory:' for tests) and migrates it. */
  static async open(file: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    const database = new Sqlite(file);
    database.pragma('journal_mode = WAL');
    // WAL + NORMAL survives a killed process; only a power cut may lose the last commits.
    database.pragma('synchronous = NORMAL');
    database.pragma('busy_timeout = 5000');
    const onQuery = options.onQuery;
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: withStatementCache(database) }),
      ...(onQuery ? { log: (e: LogEvent) => onQuery(e.query.sql, e.query.parameters) } : {}),
    });
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
    if (error) {
      await db.destroy();
      throw error instanceof Error ? error : new Error('database migration failed', { cause: error });
    }
    return new SqliteStore(db);
  }
}
