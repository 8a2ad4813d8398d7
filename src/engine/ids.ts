// Record ids: UUIDs whose first bits are the time (RFC 9562 version 7), still
// valid UUIDs for every API that expects one. New ids sort after older ones,
// so a new record lands on the last page of every index keyed by id instead
// of on a random one: a group commit then writes a handful of pages, not one
// per record per index.

import { v7 } from 'uuid';

export function newId(): string {
  return v7();
}
