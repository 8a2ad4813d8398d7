// Record ids: UUIDs whose first bits are the time (RFC 9562 version 7), still
// valid UUIDs for every API that expects one. New ids sort after older ones,
// so a new record lands on the last page of every index keyed by id instead
// of on a random one: a group commit then writes a handful of pages, not one
// per record per index.

import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

// uuid asks Web Crypto for 16 bytes per id, which costs more than the rest of
// the id; the bytes come from a pool drawn 4 KiB at a time instead. Given its
// bytes, uuid no longer keeps its clock and counter, so they are kept here as
// it keeps them: a new millisecond starts a random counter, the same one
// counts up, so ids made in one millisecond still sort in order.
const pool = new Uint8Array(4096);
let offset = pool.length;
let msecs = -Infinity;
let seq = 0;

function randomBytes16(): Uint8Array {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 16);
  offset += 16;
  return bytes;
}

export function newId(): string {
  const random = randomBytes16();
  const now = Date.now();
  if (now > msecs) {
    msecs = now;
    seq = (((random[6] ?? 0) & 0x7f) << 24) | ((random[7] ?? 0) << 16) | ((random[8] ?? 0) << 8) | (random[9] ?? 0);
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) msecs++;
  }
  return v7({ random, msecs, seq });
}
