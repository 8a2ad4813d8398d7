// The statements a transaction writes with, built once (see templates.ts).

import { ColumnUpdate, RowInsert, Template } from './templates.js';

/** Compare-and-set updates: the row is changed only while it is as it was read. */
export const UPDATE_VOLUME = new ColumnUpdate('volumes', ['id', 'modify_index']);
export const UPDATE_TASK = new ColumnUpdate('tasks', ['id', 'state']);
export const UPDATE_SNAPSHOT = new ColumnUpdate('snapshots', ['id', 'modify_index']);
export const UPDATE_ATTACHMENT = new ColumnUpdate('attachments', ['id', 'status']);
export const INSERT_VOLUME = new RowInsert('volumes');
export const INSERT_SNAPSHOT = new RowInsert('snapshots');
export const INSERT_ATTACHMENT = new RowInsert('attachments');
export const INSERT_TASK = new RowInsert('tasks');
export const DELETE_LABELS = new Template(['volume_id'] as const, (db, p) => db.deleteFrom('volume_labels').where('volume_id', '=', p.volume_id));
export const DELETE_VOLUME = new Template(['id'] as const, (db, p) => db.deleteFrom('volumes').where('id', '=', p.id));
export const DELETE_SNAPSHOT = new Template(['id'] as const, (db, p) => db.deleteFrom('snapshots').where('id', '=', p.id));
export const DELETE_ATTACHMENT = new Template(['id'] as const, (db, p) => db.deleteFrom('attachments').where('id', '=', p.id));
export const ADD_USAGE = new Template(['scope', 'key', 'volumes', 'bytes', 'snapshots'] as const, (db, p) =>
  db
    .insertInto('usage')
    .values({ scope: p.scope, key: p.key, volumes: p.volumes, bytes: p.bytes, snapshots: p.snapshots })
    .onConflict((oc) =>
      oc.columns(['scope', 'key']).doUpdateSet((eb) => ({
        volumes: eb('usage.volumes', '+', eb.ref('excluded.volumes')),
        bytes: eb('usage.bytes', '+', eb.ref('excluded.bytes')),
        snapshots: eb('usage.snapshots', '+', eb.ref('excluded.snapshots')),
      })),
    ),
);
export const INSERT_LOCK = new Template(['task_id', 'lock_key'] as const, (db, p) => db.insertInto('task_locks').values({ task_id: p.task_id, lock_key: p.lock_key }));
export const DELETE_LOCKS = new Template(['task_id'] as const, (db, p) => db.deleteFrom('task_locks').where('task_id', '=', p.task_id));
