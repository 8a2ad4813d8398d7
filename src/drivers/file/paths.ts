// Every path the file driver touches is derived from volumed's ids or from a
// manage reference; both are checked here so nothing leaves the pool root.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { InvalidInputError } from '../../domain/errors.js';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export const VOLUMES_DIR = 'volumes';
export const SNAPSHOTS_DIR = 'snapshots';
/** Work in progress is built here and renamed into place, so a crash leaves no half-made volume. */
export const TMP_DIR = '.tmp';

export function assertSafeId(id: string, field = 'id'): string {
  if (!ID_PATTERN.test(id)) throw new InvalidInputError(`not a valid identifier: ${JSON.stringify(id)}`, field);
  return id;
}

export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Resolves a user-supplied relative reference inside `root`, refusing
 * absolute paths, `..` segments and symlinks anywhere along the way.
 * Returns the normalized relative path and the absolute path.
 */
export async function resolveReference(root: string, reference: string, field: string): Promise<{ rel: string; abs: string }> {
  if (reference.length === 0) throw new InvalidInputError('must not be empty', field);
  if (reference.includes('\0')) throw new InvalidInputError('must not contain NUL bytes', field);
  if (path.isAbsolute(reference)) throw new InvalidInputError(`must be relative to the pool root, not absolute: ${reference}`, field);
  const segments = reference.split(/[\\/]+/);
  if (segments.some((s) => s === '..')) throw new InvalidInputError(`must not contain '..': ${reference}`, field);
  const rel = path.normalize(reference);
  if (rel.split(path.sep)[0] === TMP_DIR) throw new InvalidInputError(`refers to volumed's work area: ${reference}`, field);
  const realRoot = await fs.realpath(root);
  let current = realRoot;
  for (const segment of rel.split(path.sep).filter((s) => s !== '' && s !== '.')) {
    current = path.join(current, segment);
    let st;
    try {
      st = await fs.lstat(current);
    } catch {
      throw new InvalidInputError(`no such object in the pool: ${reference}`, field);
    }
    if (st.isSymbolicLink()) throw new InvalidInputError(`is or passes through a symlink: ${reference}`, field);
  }
  const real = await fs.realpath(current);
  if (!isInside(realRoot, real) || real === realRoot) throw new InvalidInputError(`escapes the pool root: ${reference}`, field);
  return { rel: path.relative(realRoot, real), abs: real };
}
