// The embedded default: one SQLite file in WAL mode, owned by one process.

import Sqlite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type LogEvent } from 'kysely';
import { migrationProvider, type Database } from '../sql/schema.js';
import { SqlStore } from '../sql/sql-store.js';
import { runDirectly, type DirectRunner } from '../sql/templates.js';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';

export interface SqliteStoreOptions {
  /** Sees every statement run (tests read query plans with it). */
  readonly onQuery?: (sql: string, parameters: readonly unknown[]) => void;
  /** Pages the write-ahead log may hold before a commit waits for its checkpoint, and how often it is checkpointed (tests make both small). */
  readonly walLimitPages?: number;
  readonly checkpointEveryMs?: number;
}

/** SQLite's default threshold for the checkpoint it runs at commit. */
const AUTO_CHECKPOINT_PAGES = 1000;
/** How many distinct statements stay prepared (lists with `IN (...)` lists make a few variants each). */
const STATEMENT_CACHE = 1000;

/**
 * Kysely prepares every query anew; preparing costs more than running most of
 * ours, so each SQL text is prepared once and reused, by Kysely and by the
 * templates that run straight on the connection.
 */
function statementCache(database: Sqlite.Database): (text: string) => Sqlite.Statement {
  const cache = new Map<string, Sqlite.Statement>();
  return (text) => {
    let statement = cache.get(text);
    if (!statement) {
      if (cache.size >= STATEMENT_CACHE) cache.clear();
      statement = database.prepare(text);
      cache.set(text, statement);
    }
    return statement;
  };
}

/** What Kysely's SQLite driver does with a statement, without its promises. */
function directRunner(prepare: (text: string) => Sqlite.Statement): DirectRunner {
  return (text, parameters) => {
    const statement = prepare(text);
    if (statement.reader) return { rows: statement.all(parameters) };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
  };
}


export class SqliteStore extends SqlStore {
  readonly exclusive = true;
  private known: { readonly dataVersion: number; readonly index: number } | undefined;

  private constructor(
    db: Kysely<Database>,
    readDb: Kysely<Database> | undefined,
    /** `pragma data_version` on the read connection (a file store's). */
    private readonly dataVersion: Sqlite.Statement<[], number> | undefined,
    private readonly writeRunner: DirectRunner | undefined,
    private readonly checkpointer?: Checkpointer,
  ) {
    super(db, readDb);
  }

  protected override directWriter(): DirectRunner | undefined {
    return this.writeRunner;
  }

  /** Opens (creating if needed) the database at `file` (':memory:' for tests) and migrates it. */
  static async open(file: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    const database = new Sqlite(file);
    database.pragma('journal_mode = WAL');
    // WAL + NORMAL survives a killed process; only a power cut may lose the last commits.
    database.pragma('synchronous = NORMAL');
    database.pragma('busy_timeout = 5000');
    // Each transaction of a commit group runs in a savepoint, whose undo pages
    // would otherwise go to a temp file: a write syscall per page changed.
    database.pragma('temp_store = MEMORY');
    const onQuery = options.onQuery;
    const kysely = (d: Sqlite.Database, prepare: (text: string) => Sqlite.Statement): Kysely<Database> =>
      new Kysely<Database>({
        dialect: new SqliteDialect({ database: { close: () => d.close(), prepare } }),
        ...(onQuery ? { log: (e: LogEvent) => onQuery(e.query.sql, e.query.parameters) } : {}),
      });
    const prepareWrite = statementCache(database);
    const db = kysely(database, prepareWrite);
    // Statements seen by `onQuery` must all pass through Kysely (tests read query plans).
    const writeRunner = onQuery ? undefined : directRunner(prepareWrite);
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
    if (error) {
      await db.destroy();
      throw error instanceof Error ? error : new Error('database migration failed', { cause: error });
    }
    // An in-memory database has one connection only; a file gets a second one for reads.
    if (file === ':memory:') return new SqliteStore(db, undefined, undefined, writeRunner);
    // Checkpoints run on their own thread; where it cannot start, SQLite's own at commit remain.
    const checkpointer = await startCheckpointer(file, {
      ...(options.walLimitPages !== undefined ? { logLimitPages: options.walLimitPages } : {}),
      ...(options.checkpointEveryMs !== undefined ? { everyMs: options.checkpointEveryMs } : {}),
      // Without the worker (failed, or stopped at close), SQLite's own checkpoint at commit again.
      onGone: () => {
        if (database.open) database.pragma(`wal_autocheckpoint = ${String(AUTO_CHECKPOINT_PAGES)}`);
      },
    }).catch(() => undefined);
    if (checkpointer) database.pragma('wal_autocheckpoint = 0');
    const reader = new Sqlite(file, { readonly: true });
    reader.pragma('busy_timeout = 5000');
    // SQLite's count of commits by other connections (this process's writer, or another process).
    const dataVersion = reader.prepare<[], number>('pragma data_version').pluck();
    const prepareRead = statementCache(reader);
    const readDb = kysely(reader, prepareRead);
    if (!onQuery && writeRunner) {
      // A connection drops its whole page cache when another one has
      // committed, and the writer commits every few milliseconds: the read
      // connection would read each page again from the files. Between
      // transactions the writer holds only committed data, so reads run there
      // then, with its pages cached; during a commit group they go to the
      // read connection, which cannot see the group's writes.
      const readRunner = directRunner(prepareRead);
      runDirectly(readDb, (text, parameters) => (database.inTransaction ? readRunner(text, parameters) : writeRunner(text, parameters)));
    }
    return new SqliteStore(db, readDb, dataVersion, writeRunner, checkpointer);
  }

  protected override beforeCommit(): Promise<void> | undefined {
    return this.checkpointer?.beforeCommit();
  }

  override async close(): Promise<void> {
    // The worker's connection closes first, so the writer's close (the last connection) checkpoints and removes the log.
    await this.checkpointer?.stop();
    await super.close();
  }

  /**
   * Every answer carries the index: it is read again only when a commit has
   * happened since (SQLite's data_version moves on any other connection's
   * commit: this process's writer, or another process sharing the file).
   */
  override async latestIndex(): Promise<number> {
    if (!this.dataVersion) return super.latestIndex();
    const dataVersion = this.dataVersion.get() ?? 0;
    if (this.known?.dataVersion !== dataVersion) this.known = { dataVersion, index: await super.latestIndex() };
    return this.known.index;
  }
}
