// Checks on values that reach the engine from any surface. Surfaces validate
// shapes with schemas; these are the rules on meaning, in one place.

import { InvalidInputError } from './errors.js';
import { ACCESS_MODES, VOLUME_STATUSES, type AccessModeRequest, type VolumeStatus } from './types.js';

export const MAX_LABELS = 64;

/**
 * Control characters (C0, DEL, C1) and the bidirectional overrides and
 * isolates: a name with one breaks a table line, colours or reorders a
 * terminal, or hides what it says.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

function checkPrintable(name: string, field: string): string {
  const bad = UNPRINTABLE.exec(name);
  if (bad) throw new InvalidInputError(`must not contain control or bidirectional-override characters (found U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')} at ${bad.index})`, field);
  return name;
}

export function checkName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidInputError('must be a non-empty string', field);
  if (name.length > 255) throw new InvalidInputError('must be at most 255 characters', field);
  return checkPrintable(name, field);
}

/** A volume's or snapshot's display name: may be empty (Cinder's may be null), never unprintable. */
export function checkDisplayName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string') throw new InvalidInputError('must be a string', field);
  if (name.length > 255) throw new InvalidInputError('must be at most 255 characters', field);
  return checkPrintable(name, field);
}

/** A record id chosen by the caller (Nomad volume ids): also a file name in some pools. */
export function checkRecordId(id: unknown, field = 'id'): string {
  if (typeof id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id)) {
    throw new InvalidInputError('must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit', field);
  }
  return id;
}

export function checkSize(bytes: unknown, field = 'sizeBytes'): number {
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes <= 0) throw new InvalidInputError('must be a positive whole number of bytes', field);
  return bytes;
}

export function checkNamespace(ns: unknown, field = 'namespace'): string {
  if (typeof ns !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(ns)) {
    throw new InvalidInputError('must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit', field);
  }
  return ns;
}

export function checkLabels(labels: unknown, field = 'labels'): Record<string, string> {
  if (labels === undefined) return {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) throw new InvalidInputError('must be an object of strings', field);
  const entries = Object.entries(labels as Record<string, unknown>);
  if (entries.length > MAX_LABELS) throw new InvalidInputError(`at most ${MAX_LABELS} entries`, field);
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > 255) throw new InvalidInputError('keys must be 1-255 characters', `${field}.${k}`);
    if (typeof v !== 'string' || v.length > 1024) throw new InvalidInputError('must be a string of at most 1024 characters', `${field}.${k}`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

export function checkAccessModes(modes: unknown, field = 'accessModes'): AccessModeRequest[] {
  if (modes === undefined) return [];
  if (!Array.isArray(modes)) throw new InvalidInputError('must be a list', field);
  return modes.map((m: unknown, i) => {
    const rec = (m ?? {}) as Record<string, unknown>;
    if (!ACCESS_MODES.includes(rec.accessMode as never)) throw new InvalidInputError(`must be one of ${ACCESS_MODES.join(', ')}`, `${field}[${i}].accessMode`);
    const attachmentMode = rec.attachmentMode ?? 'filesystem';
    if (attachmentMode !== 'filesystem' && attachmentMode !== 'block') throw new InvalidInputError('must be filesystem or block', `${field}[${i}].attachmentMode`);
    return { accessMode: rec.accessMode as AccessModeRequest['accessMode'], attachmentMode };
  });
}

export function checkVolumeStatus(status: unknown, field = 'status'): VolumeStatus {
  if (!VOLUME_STATUSES.includes(status as VolumeStatus)) throw new InvalidInputError(`must be one of ${VOLUME_STATUSES.join(', ')}`, field);
  return status as VolumeStatus;
}

/** A node, instance or host name an attachment records. */
export function checkAttachName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 255) throw new InvalidInputError('must be a non-empty string of at most 255 characters', field);
  return value;
}

export function checkAttachMode(mode: unknown): 'rw' | 'ro' {
  const m = mode ?? 'rw';
  if (m !== 'rw' && m !== 'ro') throw new InvalidInputError('must be rw or ro', 'mode');
  return m;
}
