// Requests as Nomad's Go client (github.com/hashicorp/nomad/api) makes them,
// for the tests of the Nomad surface: bodies without a Content-Type, every
// field of api.CSIVolume marshalled with Go's zero values, the token in
// X-Nomad-Token, write options in the query, `wait` in milliseconds; and
// answers read as the client reads them: a non-200 is "Unexpected response
// code", and a query's X-Nomad-Index and X-Nomad-LastContact must parse as
// unsigned integers or the call fails.

export interface QueryOptions {
  readonly namespace?: string;
  readonly index?: number;
  readonly waitMs?: number;
  readonly prefix?: string;
  readonly filter?: string;
  readonly perPage?: number;
  readonly nextToken?: string;
  readonly params?: Readonly<Record<string, string>>;
}

export interface QueryMeta {
  readonly lastIndex: number;
  readonly lastContact: number;
  readonly knownLeader: boolean;
  readonly nextToken: string;
}

export class UnexpectedResponse extends Error {
  constructor(
    readonly status: number,
    readonly text: string,
  ) {
    super(`Unexpected response code: ${status} (${text})`);
  }
}

const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** api.CSIVolume as json.Marshal writes it: every field, unset ones as Go's zero values. */
export function goVolume(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return {
    ID: '',
    Name: '',
    ExternalID: '',
    Namespace: '',
    RequestedTopologies: null,
    Topologies: null,
    AccessMode: '',
    AttachmentMode: '',
    MountOptions: null,
    Secrets: null,
    Parameters: null,
    Context: null,
    Capacity: 0,
    RequestedCapacityMin: 0,
    RequestedCapacityMax: 0,
    RequestedCapabilities: null,
    CloneID: '',
    SnapshotID: '',
    ReadAllocs: null,
    WriteAllocs: null,
    Allocations: null,
    Schedulable: false,
    PluginID: '',
    Provider: '',
    ProviderVersion: '',
    ControllerRequired: false,
    ControllersHealthy: 0,
    ControllersExpected: 0,
    NodesHealthy: 0,
    NodesExpected: 0,
    ResourceExhausted: GO_ZERO_TIME,
    CreateIndex: 0,
    ModifyIndex: 0,
    CreateTime: 0,
    ModifyTime: 0,
    ...fields,
  };
}

/** api.CSISnapshot as json.Marshal writes it. */
export function goSnapshot(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return { ID: '', ExternalSourceVolumeID: '', SizeBytes: 0, CreateTime: 0, IsReady: false, SourceVolumeID: '', PluginID: '', Name: '', Secrets: null, Parameters: null, ...fields };
}

/** The WriteRequest fields api.CSIVolumeCreateRequest and friends embed. */
const WRITE_REQUEST = { Region: '', Namespace: '', SecretID: '', IdempotencyToken: '' };

function parseUint(header: string | null, name: string): number {
  if (header === null || !/^\d+$/.test(header)) throw new Error(`Failed to parse ${name}: ${JSON.stringify(header)}`);
  return Number(header);
}

export class NomadClient {
  constructor(
    private readonly address: string,
    private readonly token?: string,
  ) {}

  private headers(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
    return { 'Accept-Encoding': 'gzip', ...(this.token ? { 'X-Nomad-Token': this.token } : {}), ...extra };
  }

  private async send(method: string, path: string, params: URLSearchParams, body?: unknown, headers?: Readonly<Record<string, string>>): Promise<Response> {
    const query = params.toString();
    const url = `${this.address}${path}${query ? (path.includes('?') ? '&' : '?') + query : ''}`;
    // Go's http.NewRequest with an io.Reader body: no Content-Type header at all.
    const init: RequestInit = { method, headers: this.headers(headers) };
    if (body !== undefined) init.body = new Blob([JSON.stringify(body) + '\n']);
    const res = await fetch(url, init);
    if (res.status !== 200) throw new UnexpectedResponse(res.status, await res.text());
    return res;
  }

  async query<T>(path: string, q: QueryOptions = {}, headers?: Readonly<Record<string, string>>): Promise<{ body: T; meta: QueryMeta }> {
    const params = new URLSearchParams();
    if (q.namespace) params.set('namespace', q.namespace);
    if (q.index) params.set('index', String(q.index));
    if (q.waitMs) params.set('wait', `${q.waitMs}ms`);
    if (q.prefix) params.set('prefix', q.prefix);
    if (q.filter) params.set('filter', q.filter);
    if (q.perPage) params.set('per_page', String(q.perPage));
    if (q.nextToken) params.set('next_token', q.nextToken);
    for (const [k, v] of Object.entries(q.params ?? {})) params.set(k, v);
    const res = await this.send('GET', path, params, undefined, headers);
    const meta: QueryMeta = {
      lastIndex: parseUint(res.headers.get('X-Nomad-Index'), 'X-Nomad-Index'),
      lastContact: parseUint(res.headers.get('X-Nomad-LastContact'), 'X-Nomad-LastContact'),
      knownLeader: res.headers.get('X-Nomad-KnownLeader') === 'true',
      nextToken: res.headers.get('X-Nomad-NextToken') ?? '',
    };
    return { body: (await res.json()) as T, meta };
  }

  async put<T>(path: string, body: unknown, namespace?: string, headers?: Readonly<Record<string, string>>): Promise<T> {
    const params = new URLSearchParams(namespace ? { namespace } : {});
    const res = await this.send('PUT', path, params, body, headers);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async delete(path: string, namespace?: string, headers?: Readonly<Record<string, string>>): Promise<void> {
    await this.send('DELETE', path, new URLSearchParams(namespace ? { namespace } : {}), undefined, headers);
  }

  // The calls of api.CSIVolumes and api.CSIPlugins, by the same paths and bodies.
  listVolumes = <T>(q: QueryOptions = {}) => this.query<T[]>('/v1/volumes?type=csi', q);
  info = <T>(id: string, q: QueryOptions = {}) => this.query<T>(`/v1/volume/csi/${id}`, q);
  register = (vol: Record<string, unknown>, namespace?: string) => this.put<void>(`/v1/volume/csi/${String(vol.ID)}`, { Volumes: [goVolume(vol)], ...WRITE_REQUEST }, namespace);
  create = <T>(vol: Record<string, unknown>, namespace?: string) => this.put<{ Volumes: T[] }>(`/v1/volume/csi/${String(vol.ID)}/create`, { Volumes: [goVolume(vol)], ...WRITE_REQUEST }, namespace);
  deregister = (id: string, force: boolean, namespace?: string) => this.delete(`/v1/volume/csi/${encodeURIComponent(id)}?force=${String(force)}`, namespace);
  deleteVolume = (id: string, secrets: Readonly<Record<string, string>> = {}, namespace?: string) =>
    this.delete(`/v1/volume/csi/${encodeURIComponent(id)}/delete`, namespace, { 'X-Nomad-CSI-Secrets': Object.entries(secrets).map(([k, v]) => `${k}=${v}`).join(',') });
  detach = (id: string, node: string, namespace?: string) => this.delete(`/v1/volume/csi/${encodeURIComponent(id)}/detach?node=${node}`, namespace);
  createSnapshot = <T>(snap: Record<string, unknown>, namespace?: string) => {
    const secrets = (snap.Secrets ?? {}) as Record<string, string>;
    return this.put<{ Snapshots: T[] }>('/v1/volumes/snapshot', { Snapshots: [goSnapshot(snap)], ...WRITE_REQUEST }, namespace, { 'X-Nomad-CSI-Secrets': Object.entries(secrets).map(([k, v]) => `${k}=${v}`).join(',') });
  };
  deleteSnapshot = (id: string, pluginId: string) => this.delete(`/v1/volumes/snapshot?${new URLSearchParams({ snapshot_id: id, plugin_id: pluginId }).toString()}`, undefined, { 'X-Nomad-CSI-Secrets': '' });
  listSnapshots = <T>(pluginId: string, q: QueryOptions = {}) =>
    this.query<{ Snapshots: T[]; NextToken: string }>(`/v1/volumes/snapshot?${new URLSearchParams({ plugin_id: pluginId, ...(q.perPage ? { per_page: String(q.perPage) } : {}), ...(q.nextToken ? { next_token: q.nextToken } : {}) }).toString()}`, { ...q, perPage: 0, nextToken: '' }, { 'X-Nomad-CSI-Secrets': '' });
  listExternal = <T>(pluginId: string, q: QueryOptions = {}) =>
    this.query<{ Volumes: T[]; NextToken: string }>(`/v1/volumes/external?${new URLSearchParams({ plugin_id: pluginId, ...(q.nextToken ? { next_token: q.nextToken } : {}), ...(q.perPage ? { per_page: String(q.perPage) } : {}) }).toString()}`, { ...q, perPage: 0, nextToken: '' });
  listPlugins = <T>(q: QueryOptions = {}) => this.query<T[]>('/v1/plugins?type=csi', q);
  pluginInfo = <T>(id: string, q: QueryOptions = {}) => this.query<T>(`/v1/plugin/csi/${id}`, q);
}
