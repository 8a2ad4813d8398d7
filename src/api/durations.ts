// Durations in query strings (`wait=30s`), bounded so no request waits forever.

import { InvalidInputError } from '../domain/errors.js';

export const MAX_WAIT_MS = 5 * 60_000;
const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string, field: string, max = MAX_WAIT_MS): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!m) throw new InvalidInputError(`must be a duration such as 500ms, 30s or 5m, got ${JSON.stringify(text)}`, field);
  const ms = Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000);
  if (ms > max) throw new InvalidInputError(`must be at most ${max / 1000}s`, field);
  return Math.round(ms);
}
