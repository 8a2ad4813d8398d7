// A VI/JSON client for CNS as a script written against vCenter drives it:
// Login, then POST the method's RequestType with the session header; a
// method that answers a Task MoRef is followed by polling the Task's info
// until it ends; HTTP 500 carries the fault object.

type Json = Record<string, unknown>;

export class VimFaultError extends Error {
  constructor(
    readonly status: number,
    readonly fault: Json,
  ) {
    super(`${status} ${String(fault._typeName)}: ${JSON.stringify(fault.faultMessage ?? fault)}`);
  }
  get typeName(): string {
    return String(this.fault._typeName);
  }
  get message0(): string {
    return String((this.fault.faultMessage as { message: string }[] | undefined)?.[0]?.message ?? '');
  }
}

export interface VolumeResult extends Json {
  _typeName: string;
  volumeId: { id: string };
  fault?: { _typeName: string; fault: Json & { _typeName: string }; localizedMessage: string };
}

export class CnsClient {
  session: string | undefined;
  constructor(
    readonly base: string,
    readonly release = '8.0.3.0',
  ) {}

  private url(p: string): string {
    return `${this.base}/sdk/vim25/${this.release}${p}`;
  }

  async raw(method: string, p: string, body?: unknown): Promise<{ status: number; body: Json; headers: Headers }> {
    const res = await fetch(this.url(p), {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.session ? { 'vmware-api-session-id': this.session } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json, headers: res.headers };
  }

  private async call(method: string, p: string, body?: unknown): Promise<Json> {
    const res = await this.raw(method, p, body);
    if (res.status !== 200 && res.status !== 204) throw new VimFaultError(res.status, res.body);
    return res.body;
  }

  async login(userName = 'administrator@vsphere.local', password = 'vmware'): Promise<Json> {
    const res = await this.raw('POST', '/SessionManager/SessionManager/Login', { userName, password });
    if (res.status !== 200) throw new VimFaultError(res.status, res.body);
    this.session = res.headers.get('vmware-api-session-id') ?? undefined;
    return res.body;
  }

  logout(): Promise<Json> {
    return this.call('POST', '/SessionManager/SessionManager/Logout');
  }

  /** A CnsVolumeManager method as it answers (a Task MoRef or the method's value). */
  invoke(method: string, body: Json): Promise<Json> {
    return this.call('POST', `/vsan/CnsVolumeManager/cns-volume-manager/${method}`, body);
  }

  taskInfo(taskId: string): Promise<Json> {
    return this.call('GET', `/Task/${taskId}/info`);
  }

  /** Polls the task's info until it ends, as a VI/JSON client waits for a task. */
  async waitTask(ref: Json, seen?: (info: Json) => void): Promise<Json> {
    const id = String(ref.value);
    for (let i = 0; i < 600; i++) {
      const info = await this.taskInfo(id);
      seen?.(info);
      if (info.state === 'success' || info.state === 'error') return info;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`task ${id} did not end`);
  }

  /** Invoke and wait: the task's per-spec results. */
  async run(method: string, body: Json): Promise<{ info: Json; results: VolumeResult[] }> {
    const info = await this.waitTask(await this.invoke(method, body));
    const results = ((info.result as Json | undefined)?.volumeResults ?? []) as VolumeResult[];
    return { info, results };
  }
}

export const vid = (id: string): Json => ({ _typeName: 'CnsVolumeId', id });
export const ds = (pool: string): Json => ({ _typeName: 'ManagedObjectReference', type: 'Datastore', value: pool });
export const vm = (name: string): Json => ({ _typeName: 'ManagedObjectReference', type: 'VirtualMachine', value: name });
export const k8sCluster = (clusterId = 'k8s-1', extra: Json = {}): Json => ({ _typeName: 'CnsContainerCluster', clusterType: 'KUBERNETES', clusterId, vSphereUser: 'admin', clusterFlavor: 'VANILLA', ...extra });

export function blockSpec(name: string, capacityInMb: number, extra: Json = {}): Json {
  return {
    _typeName: 'CnsVolumeCreateSpec',
    name,
    volumeType: 'BLOCK',
    backingObjectDetails: { _typeName: 'CnsBlockBackingDetails', capacityInMb },
    ...extra,
  };
}
