// The typed HTTP client of the native API (/api/v1): what the CLI and the
// CSI plugin's --server mode speak to a running volumed with. It imports
// only the domain's types, never the server, so it sits beside the surfaces,
// not under them.

import type { Readable } from 'node:stream';
import type { AclToken, Policy, PolicyRule } from '../domain/acl.js';
import type { Attachment, Image, ManageableObject, Pool, Quota, Snapshot, Task, Volume, VolumeType } from '../domain/types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

export interface Accepted {
  readonly volume: Volume | null;
  readonly task: Task;
}

export class VolumedClient {
  /** token: an ACL secret, sent as `Authorization: Bearer` (needed when the server runs with --acl). */
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}`, ...extra } : extra;
  }

  private url(path: string, query: Query = {}): string {
    const u = new URL(`/api/v1${path}`, this.baseUrl);
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v as readonly string[]) u.searchParams.append(k, item);
      else u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  async request<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.url(path, options.query), {
        method,
        headers: this.headers(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    } catch (e) {
      throw new ApiError(0, 'unreachable', `cannot reach volumed at ${this.baseUrl}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      throw new ApiError(res.status, 'bad_response', `unexpected answer from volumed (${res.status}): ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const err = (body as { error?: { code?: string; message?: string } }).error;
      throw new ApiError(res.status, err?.code ?? 'error', err?.message ?? `HTTP ${res.status}`);
    }
    return body as T;
  }

  // volumes
  createVolume = (body: Record<string, unknown>, wait = false) => this.request<Accepted>('POST', '/volumes', { body, query: { wait } });
  listVolumes = (query: Query) => this.request<{ volumes: Volume[]; nextCursor: string | null }>('GET', '/volumes', { query });
  getVolume = (id: string) => this.request<{ volume: Volume }>('GET', `/volumes/${encodeURIComponent(id)}`).then((r) => r.volume);
  updateVolume = (id: string, body: Record<string, unknown>) => this.request<{ volume: Volume }>('PATCH', `/volumes/${encodeURIComponent(id)}`, { body }).then((r) => r.volume);
  deleteVolume = (id: string, query: Query) => this.request<Accepted>('DELETE', `/volumes/${encodeURIComponent(id)}`, { query });
  action = (id: string, action: string, body: Record<string, unknown> = {}, wait = false) =>
    this.request<Accepted & { image?: Image }>('POST', `/volumes/${encodeURIComponent(id)}/${action}`, { body, query: { wait } });
  manageVolume = (body: Record<string, unknown>, wait = false) => this.request<Accepted>('POST', '/volumes/manage', { body, query: { wait } });

  // attachments
  listAttachments = (id: string) => this.request<{ attachments: Attachment[] }>('GET', `/volumes/${encodeURIComponent(id)}/attachments`).then((r) => r.attachments);
  attach = (id: string, body: Record<string, unknown>, wait = false) =>
    this.request<Accepted & { attachment: Attachment | null }>('POST', `/volumes/${encodeURIComponent(id)}/attachments`, { body, query: { wait } });
  detach = (id: string, attachmentId: string, query: Query) =>
    this.request<Accepted>('DELETE', `/volumes/${encodeURIComponent(id)}/attachments/${encodeURIComponent(attachmentId)}`, { query });

  // snapshots
  createSnapshot = (volumeId: string, body: Record<string, unknown>, wait = false) =>
    this.request<{ snapshot: Snapshot | null; task: Task }>('POST', `/volumes/${encodeURIComponent(volumeId)}/snapshots`, { body, query: { wait } });
  listSnapshots = (query: Query) => this.request<{ snapshots: Snapshot[]; nextCursor: string | null }>('GET', '/snapshots', { query });
  getSnapshot = (id: string) => this.request<{ snapshot: Snapshot }>('GET', `/snapshots/${encodeURIComponent(id)}`).then((r) => r.snapshot);
  deleteSnapshot = (id: string, query: Query) => this.request<{ snapshot: Snapshot | null; task: Task }>('DELETE', `/snapshots/${encodeURIComponent(id)}`, { query });
  manageSnapshot = (body: Record<string, unknown>, wait = false) => this.request<{ snapshot: Snapshot | null; task: Task }>('POST', '/snapshots/manage', { body, query: { wait } });

  // pools, types
  listPools = () => this.request<{ pools: Pool[] }>('GET', '/pools').then((r) => r.pools);
  getPool = (id: string) => this.request<{ pool: Pool }>('GET', `/pools/${encodeURIComponent(id)}`).then((r) => r.pool);
  manageable = (id: string, what: 'volumes' | 'snapshots', query: Query = {}) =>
    this.request<Record<string, ManageableObject[]>>('GET', `/pools/${encodeURIComponent(id)}/manageable-${what}`, { query }).then((r) => r[what === 'volumes' ? 'manageableVolumes' : 'manageableSnapshots'] ?? []);
  listTypes = () => this.request<{ types: VolumeType[] }>('GET', '/types').then((r) => r.types);
  getType = (id: string) => this.request<{ type: VolumeType }>('GET', `/types/${encodeURIComponent(id)}`).then((r) => r.type);
  createType = (body: Record<string, unknown>) => this.request<{ type: VolumeType }>('POST', '/types', { body }).then((r) => r.type);
  deleteType = (id: string) => this.request<undefined>('DELETE', `/types/${encodeURIComponent(id)}`);

  // tasks
  listTasks = (query: Query) => this.request<{ tasks: Task[]; nextCursor: string | null }>('GET', '/tasks', { query });
  /** The engine's invariants on the live server (management tokens only). */
  checkInvariants = () => this.request<{ ok: boolean; checkedAt: string; violations: { rule: string; id: string; detail: string }[] }>('GET', '/admin/check');
  getTask = (id: string, wait?: string) => this.request<{ task: Task }>('GET', `/tasks/${encodeURIComponent(id)}`, { query: { wait } }).then((r) => r.task);

  // access control, quotas
  bootstrap = () => this.request<{ token: AclToken; secretId: string }>('POST', '/acl/bootstrap');
  listPolicies = () => this.request<{ policies: Policy[] }>('GET', '/acl/policies').then((r) => r.policies);
  getPolicy = (name: string) => this.request<{ policy: Policy }>('GET', `/acl/policies/${encodeURIComponent(name)}`).then((r) => r.policy);
  putPolicy = (body: { name: string; description?: string; rules: readonly PolicyRule[] }) => this.request<{ policy: Policy }>('POST', '/acl/policies', { body }).then((r) => r.policy);
  deletePolicy = (name: string) => this.request<undefined>('DELETE', `/acl/policies/${encodeURIComponent(name)}`);
  listTokens = () => this.request<{ tokens: AclToken[] }>('GET', '/acl/tokens').then((r) => r.tokens);
  getToken = (id: string) => this.request<{ token: AclToken }>('GET', id === 'self' ? '/acl/token/self' : `/acl/tokens/${encodeURIComponent(id)}`).then((r) => r.token);
  createToken = (body: { name: string; policies?: readonly string[]; management?: boolean }) => this.request<{ token: AclToken; secretId: string }>('POST', '/acl/tokens', { body });
  deleteToken = (id: string) => this.request<undefined>('DELETE', `/acl/tokens/${encodeURIComponent(id)}`);
  getQuota = (namespace: string) => this.request<{ quota: Quota; usage: Omit<Quota, 'namespace'> }>('GET', `/quotas/${encodeURIComponent(namespace)}`);
  setQuota = (namespace: string, body: Omit<Quota, 'namespace'>) => this.request<{ quota: Quota }>('PUT', `/quotas/${encodeURIComponent(namespace)}`, { body }).then((r) => r.quota);

  // images
  listImages = () => this.request<{ images: Image[] }>('GET', '/images').then((r) => r.images);
  getImage = (id: string) => this.request<{ image: Image }>('GET', `/images/${encodeURIComponent(id)}`).then((r) => r.image);
  deleteImage = (id: string) => this.request<undefined>('DELETE', `/images/${encodeURIComponent(id)}`);
  async uploadImage(name: string, data: Readable, namespace?: string): Promise<Image> {
    const res = await fetch(this.url('/images', { name, namespace }), {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/octet-stream' }),
      body: data,
      duplex: 'half',
    });
    const body = (await res.json()) as { image?: Image; error?: { code: string; message: string } };
    if (!res.ok || !body.image) throw new ApiError(res.status, body.error?.code ?? 'error', body.error?.message ?? `HTTP ${res.status}`);
    return body.image;
  }
  async downloadImage(id: string): Promise<ReadableStream<Uint8Array>> {
    const res = await fetch(this.url(`/images/${encodeURIComponent(id)}/data`), { headers: this.headers() });
    if (!res.ok || !res.body) {
      const body = (await res.json()) as { error?: { code: string; message: string } };
      throw new ApiError(res.status, body.error?.code ?? 'error', body.error?.message ?? `HTTP ${res.status}`);
    }
    return res.body;
  }
}
