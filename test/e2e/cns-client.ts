// A VI/JSON client for CNS as a script written against vCenter drives it:
// Login, then POST the method's RequestType with the session header; a
// method that answers a Task MoRef is followed by polling the Task's info
// until it ends; HTTP 500 carries the fault object.

import { requestErrors, responseErrors, SPEC_RELEASES } from '../support/vi-json-schema.js';

type Json = Record<string, unknown>;

/** A request or answer that broke vSphere's published VI/JSON schema. */
export class SpecViolation extends Error {}

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
  fault?: Json & { _typeName: string };
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

  /**
   * One call, held to the VI/JSON spec both ways: the request the test sends
   * (unless `offSpec`: a test of how volumed takes a malformed request) and
   * the answer volumed gives, whatever the request.
   */
  async raw(method: string, p: string, body?: unknown, options: { offSpec?: boolean } = {}): Promise<{ status: number; body: Json; headers: Headers }> {
    // A release the document does not describe (a test of refusing it) has nothing to hold the call to.
    const described = SPEC_RELEASES.includes(this.release);
    const broken = options.offSpec || !described ? [] : requestErrors(method, p, body);
    if (broken.length) throw new SpecViolation(`the test's request breaks the VI/JSON spec:\n${broken.join('\n')}`);
    const res = await fetch(this.url(p), {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.session ? { 'vmware-api-session-id': this.session } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as Json) : undefined;
    // Off the spec: a method or result type outside the copied part is let through, nothing else.
    const outside = (e: string): boolean => e.endsWith('no such operation in the VI/JSON spec') || e.endsWith('is no type of the spec');
    const wrong = (described ? responseErrors(method, p, res.status, parsed) : []).filter((e) => !(options.offSpec && outside(e)));
    if (wrong.length) throw new SpecViolation(`volumed's answer to ${method} ${p} breaks the VI/JSON spec:\n${wrong.join('\n')}\n${text.slice(0, 2000)}`);
    return { status: res.status, body: parsed ?? {}, headers: res.headers };
  }

  private async call(method: string, p: string, body?: unknown, options: { offSpec?: boolean } = {}): Promise<Json> {
    const res = await this.raw(method, p, body, options);
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
  invoke(method: string, body: Json, options: { offSpec?: boolean } = {}): Promise<Json> {
    return this.call('POST', `/vsan/CnsVolumeManager/cns-volume-manager/${method}`, body, options);
  }

  taskInfo(taskId: string, options: { offSpec?: boolean } = {}): Promise<Json> {
    return this.call('GET', `/Task/${taskId}/info`, undefined, options);
  }

  /** Polls the task's info until it ends, as a VI/JSON client waits for a task. */
  async waitTask(ref: Json, seen?: (info: Json) => void, options: { offSpec?: boolean } = {}): Promise<Json> {
    const id = String(ref.value);
    for (let i = 0; i < 600; i++) {
      const info = await this.taskInfo(id, options);
      seen?.(info);
      if (info.state === 'success' || info.state === 'error') return info;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`task ${id} did not end`);
  }

  /** Invoke and wait: the task's per-spec results. */
  async run(method: string, body: Json, options: { offSpec?: boolean } = {}): Promise<{ info: Json; results: VolumeResult[] }> {
    const info = await this.waitTask(await this.invoke(method, body, options), undefined, options);
    const results = ((info.result as Json | undefined)?.volumeResults ?? []) as VolumeResult[];
    return { info, results };
  }
}

export const vid = (id: string): Json => ({ _typeName: 'CnsVolumeId', id });
export const ds = (pool: string): Json => ({ _typeName: 'ManagedObjectReference', type: 'Datastore', value: pool });
export const vm = (name: string): Json => ({ _typeName: 'ManagedObjectReference', type: 'VirtualMachine', value: name });
export const k8sCluster = (clusterId = 'k8s-1', extra: Json = {}): Json => ({ _typeName: 'CnsContainerCluster', clusterType: 'KUBERNETES', clusterId, vSphereUser: 'admin', clusterFlavor: 'VANILLA', ...extra });

export const kv = (key: string, value: string): Json => ({ _typeName: 'KeyValue', key, value });
export const attach = (id: string, vmName = 'vm-42'): Json => ({ _typeName: 'CnsVolumeAttachDetachSpec', volumeId: vid(id), vm: vm(vmName) });
export const nfs = (netPermission: Json, remove?: boolean): Json => ({ _typeName: 'CnsNFSAccessControlSpec', netPermission, ...(remove !== undefined ? { delete: remove } : {}) });
export const snapDelete = (volumeId: string, snapshotId: string): Json => ({ _typeName: 'CnsSnapshotDeleteSpec', volumeId: vid(volumeId), snapshotId: { _typeName: 'CnsSnapshotId', id: snapshotId } });

export function blockSpec(name: string, capacityInMb: number, extra: Json = {}): Json {
  return {
    _typeName: 'CnsVolumeCreateSpec',
    name,
    volumeType: 'BLOCK',
    backingObjectDetails: { _typeName: 'CnsBlockBackingDetails', capacityInMb },
    ...extra,
  };
}
