// The event log: every change a transaction made, under its index, written
// together as the transaction ends (a statement per 16 rows, not one each).

import type { Kysely } from 'kysely';
import type { CommittedChange } from '../changes.js';
import type { Database } from './schema.js';
import { Template } from './templates.js';

const EVENT_COLUMNS = ['idx', 'seq', 'topic', 'type', 'key', 'namespace', 'created_at', 'payload'] as const;
type EventRow = Record<(typeof EVENT_COLUMNS)[number], unknown>;
const ROWS_PER_INSERT = 16;
/** `insert into events values (...), (...)`, one template per row count. */
const INSERTS = Array.from({ length: ROWS_PER_INSERT }, (_, n) => {
  const keys = Array.from({ length: n + 1 }, (_, row) => EVENT_COLUMNS.map((c) => `${c}${String(row)}`)).flat();
  return new Template(keys, (db, p) =>
    db.insertInto('events').values(Array.from({ length: n + 1 }, (_, row) => Object.fromEntries(EVENT_COLUMNS.map((c) => [c, p[`${c}${String(row)}`]])) as never)),
  );
});

/** `payloadJson[i]`, where given, is change i's payload already serialized. */
export async function appendEvents(db: Kysely<Database>, index: number, createdAt: number, changes: readonly CommittedChange[], payloadJson: readonly (string | undefined)[]): Promise<void> {
  for (let start = 0; start < changes.length; start += ROWS_PER_INSERT) {
    const chunk = changes.slice(start, start + ROWS_PER_INSERT);
    const values: Record<string, unknown> = {};
    chunk.forEach((c, i) => {
      const row: EventRow = { idx: index, seq: start + i, topic: c.topic, type: c.type, key: c.key, namespace: c.namespace, created_at: createdAt, payload: payloadJson[start + i] ?? JSON.stringify(c.payload) };
      for (const column of EVENT_COLUMNS) values[`${column}${String(i)}`] = row[column];
    });
    await INSERTS[chunk.length - 1]?.run(db, values);
  }
}
