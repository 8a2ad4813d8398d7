// What the Cinder routes share: the caller (project and admin flag, from the
// URL and the token), the request's microversion, and links.

import type { FastifyRequest } from 'fastify';
import { allows } from '../../domain/acl.js';
import { InvalidInputError, UnauthenticatedError } from '../../domain/errors.js';
import type { Volumed } from '../../app/open.js';
import { tokenOf } from '../guard.js';
import type { KeystoneIdentity } from './keystone.js';
import type { Microversion } from './microversions.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The Cinder microversion of this request (3.0 when not asked for). */
    cinderVersion: Microversion;
    /** With Keystone authentication: who Keystone says the token belongs to. */
    keystoneIdentity: KeystoneIdentity | undefined;
  }
}

export interface Caller {
  /** The project of the URL (or of the token, on 3.67+ URLs without one): a volumed namespace. */
  readonly project: string;
  readonly admin: boolean;
}

/**
 * The caller of a /v3 request. With access control off, Cinder's `noauth`
 * convention: the token is `user:project` (or absent), the context is admin,
 * and a token naming another project than the URL is refused.
 */
export function callerOf(volumed: Volumed, req: FastifyRequest): Caller {
  const params = req.params as { project_id?: string };
  if (req.keystoneIdentity) return { project: req.keystoneIdentity.project, admin: req.keystoneIdentity.admin };
  const token = tokenOf(req);
  if (!volumed.acl.enabled) {
    const tokenProject = token?.includes(':') ? token.slice(token.indexOf(':') + 1) : undefined;
    const project = params.project_id ?? tokenProject ?? 'default';
    if (params.project_id !== undefined && tokenProject !== undefined && tokenProject !== '' && tokenProject !== params.project_id) {
      throw new UnauthenticatedError(`the token's project ${tokenProject} is not the project of the URL, ${params.project_id}`);
    }
    return { project, admin: true };
  }
  const project = params.project_id ?? 'default';
  return { project, admin: allows(req.identity, 'admin', project) };
}

/** The base of this request's links: scheme, host and /v3/{project}. */
export function linkBase(req: FastifyRequest, project: string): { versioned: string; bookmark: string } {
  const host = `${req.protocol}://${req.headers.host ?? 'localhost'}`;
  return { versioned: `${host}/v3/${project}`, bookmark: `${host}/${project}` };
}

export function selfLinks(req: FastifyRequest, project: string, collection: string, id: string): { href: string; rel: string }[] {
  const base = linkBase(req, project);
  return [
    { href: `${base.versioned}/${collection}/${id}`, rel: 'self' },
    { href: `${base.bookmark}/${collection}/${id}`, rel: 'bookmark' },
  ];
}

/** Cinder sizes are whole GiB. */
export const GIB = 1024 ** 3;
/** The largest whole GiB whose bytes a volume can count exactly. */
export const MAX_GIB = Math.floor(Number.MAX_SAFE_INTEGER / GIB);

/** A Cinder size (whole GiB, a number or numeric string) in bytes, refused naming Cinder's field. */
export function gibToBytes(value: number | string, field: string): number {
  const gib = Number(value);
  if (!Number.isInteger(gib) || gib < 1) throw new InvalidInputError(`must be a whole number of GiB, at least 1, not ${String(value)}`, field);
  if (gib > MAX_GIB) throw new InvalidInputError(`${gib} GiB is too large: at most ${MAX_GIB} GiB`, field);
  return gib * GIB;
}
export function toGiB(bytes: number): number {
  return Math.ceil(bytes / GIB);
}

/** Cinder's booleans in query strings: true/false, 1/0, yes/no, on/off, t/f. */
export function parseBool(value: unknown, field: string): boolean {
  const v = String(value).toLowerCase();
  if (['1', 't', 'true', 'on', 'y', 'yes'].includes(v)) return true;
  if (['0', 'f', 'false', 'off', 'n', 'no'].includes(v)) return false;
  throw new InvalidInputError(`Unrecognized value '${String(value)}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'`, field);
}

/** Cinder takes `name`/`description` and the v1 spellings `display_name`/`display_description`. */
export function namesOf(b: { name?: string | null; display_name?: string | null; description?: string | null; display_description?: string | null }): { name?: string; description?: string } {
  const name = b.name ?? b.display_name;
  const description = b.description ?? b.display_description;
  return { ...(name !== undefined && name !== null ? { name } : {}), ...(description !== undefined && description !== null ? { description } : {}) };
}
