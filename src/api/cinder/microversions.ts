// Cinder's microversions: `OpenStack-API-Version: volume 3.x` (or `latest`)
// in, the version served plus `Vary` out. Without the header a request is 3.0.

import { InvalidInputError } from '../../domain/errors.js';

export const MIN_VERSION = '3.0';
export const MAX_VERSION = '3.71';
export const VERSION_HEADER = 'OpenStack-API-Version';

export interface Microversion {
  readonly major: number;
  readonly minor: number;
}

/** A version outside [MIN, MAX]: Cinder answers 406 Not Acceptable. */
export class VersionNotAcceptableError extends Error {
  constructor(readonly requested: string) {
    super(`Version ${requested} is not supported by the API. Minimum is ${MIN_VERSION} and maximum is ${MAX_VERSION}.`);
  }
}

function parse(text: string): Microversion {
  const m = /^(\d+)\.(\d+)$/.exec(text);
  if (!m) throw new InvalidInputError(`API Version String ${text} is of invalid format. Must be of format MajorNum.MinorNum.`, VERSION_HEADER);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

const MIN = parse(MIN_VERSION);
const MAX = parse(MAX_VERSION);

export function compare(a: Microversion, b: Microversion): number {
  return a.major - b.major || a.minor - b.minor;
}

/** From the request headers: the version asked for (several headers or services may be listed, comma-separated). */
export function negotiate(header: string | string[] | undefined): Microversion {
  const values = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((v) => v.trim()).filter(Boolean);
  const mine = values.map((v) => v.split(/\s+/)).find(([service]) => service?.toLowerCase() === 'volume');
  if (!mine) return MIN;
  const text = mine.slice(1).join(' ');
  if (text.toLowerCase() === 'latest') return MAX;
  const version = parse(text);
  if (compare(version, MIN) < 0 || compare(version, MAX) > 0) throw new VersionNotAcceptableError(text);
  return version;
}

export function format(v: Microversion): string {
  return `${v.major}.${v.minor}`;
}

/** Whether the request's version is at least `min` ("3.42"). */
export function atLeast(v: Microversion, min: string): boolean {
  return compare(v, parse(min)) >= 0;
}
