// Keystone authentication for the Cinder surface, as keystonemiddleware does
// it: volumed holds a service token of its own (password auth, scoped to its
// project) and validates each X-Auth-Token with GET /v3/auth/tokens. The
// token's project is the caller's namespace; the admin role makes an admin.
// Answers are cached until the token expires or `cacheSeconds` pass.

import { createHash } from 'node:crypto';
import { UnauthenticatedError, BackendError } from '../../domain/errors.js';

export interface KeystoneOptions {
  /** The identity v3 URL, e.g. http://keystone:5000/v3. */
  readonly url: string;
  readonly username: string;
  readonly password: string;
  readonly project: string;
  readonly userDomain?: string;
  readonly projectDomain?: string;
  readonly cacheSeconds?: number;
  /** The role that makes a Cinder admin (default `admin`). */
  readonly adminRole?: string;
}

export interface KeystoneIdentity {
  readonly project: string;
  readonly projectName: string;
  readonly userId: string;
  readonly roles: readonly string[];
  readonly admin: boolean;
  readonly expiresAt: number;
}

interface TokenBody {
  token?: {
    expires_at?: string;
    project?: { id?: string; name?: string };
    user?: { id?: string };
    roles?: { name?: string }[];
  };
}

const MAX_CACHED = 10_000;

export class KeystoneAuth {
  private service: { token: string; expiresAt: number } | undefined;
  private serviceRequest: Promise<string> | undefined;
  private readonly cache = new Map<string, KeystoneIdentity>();
  readonly url: string;

  constructor(private readonly options: KeystoneOptions) {
    this.url = options.url.replace(/\/+$/, '');
  }

  /** The identity of a user token; UnauthenticatedError when Keystone does not know it (or it expired). */
  async identify(token: string | undefined): Promise<KeystoneIdentity> {
    if (!token) throw new UnauthenticatedError('an X-Auth-Token issued by Keystone is required');
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached;
    this.cache.delete(key);
    const identity = await this.validate(token, true);
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(key, identity);
    return identity;
  }

  private async validate(token: string, retry: boolean): Promise<KeystoneIdentity> {
    const res = await this.fetch(`${this.url}/auth/tokens`, { method: 'GET', headers: { 'X-Auth-Token': await this.serviceToken(), 'X-Subject-Token': token } });
    if (res.status === 401 && retry) {
      // Our own token expired or was revoked: get a new one, once.
      this.service = undefined;
      return this.validate(token, false);
    }
    if (res.status === 404 || res.status === 401) throw new UnauthenticatedError('the token is invalid or has expired');
    if (!res.ok) throw new BackendError(`Keystone answered ${res.status} to a token validation`, { transient: true });
    const body = (await res.json()) as TokenBody;
    const project = body.token?.project;
    if (!project?.id) throw new UnauthenticatedError('the token is not scoped to a project');
    const roles = (body.token?.roles ?? []).map((r) => r.name ?? '').filter(Boolean);
    const tokenExpiry = Date.parse(body.token?.expires_at ?? '') || Date.now();
    return {
      project: project.id,
      projectName: project.name ?? project.id,
      userId: body.token?.user?.id ?? '',
      roles,
      admin: roles.includes(this.options.adminRole ?? 'admin'),
      expiresAt: Math.min(tokenExpiry, Date.now() + (this.options.cacheSeconds ?? 60) * 1000),
    };
  }

  private async serviceToken(): Promise<string> {
    if (this.service && this.service.expiresAt > Date.now() + 30_000) return this.service.token;
    // One request for every caller waiting on a new service token.
    this.serviceRequest ??= this.issueServiceToken().finally(() => (this.serviceRequest = undefined));
    return this.serviceRequest;
  }

  private async issueServiceToken(): Promise<string> {
    const o = this.options;
    const res = await this.fetch(`${this.url}/auth/tokens?nocatalog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: o.username, password: o.password, domain: { name: o.userDomain ?? 'Default' } } } },
          scope: { project: { name: o.project, domain: { name: o.projectDomain ?? 'Default' } } },
        },
      }),
    });
    const token = res.headers.get('x-subject-token');
    if (!res.ok || !token) throw new BackendError(`volumed could not authenticate to Keystone at ${this.url} as ${o.username}: HTTP ${res.status}`, { transient: true });
    const body = (await res.json()) as TokenBody;
    this.service = { token, expiresAt: Date.parse(body.token?.expires_at ?? '') || Date.now() + 3600_000 };
    return token;
  }

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    } catch (e) {
      throw new BackendError(`Keystone at ${this.url} is unreachable: ${(e as Error).message}`, { transient: true, cause: e });
    }
  }
}
