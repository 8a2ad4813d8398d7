// The CLI's VI/JSON session with a volumed server's CNS surface: login,
// method calls with the session header, task info, logout. A fault answer
// becomes an Error carrying the fault's type and message.

export interface VimObject {
  readonly _typeName?: string;
  readonly [key: string]: unknown;
}

export class CnsSession {
  private key: string | undefined;

  constructor(
    private readonly server: string,
    private readonly release: string,
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<VimObject> {
    let res: Response;
    try {
      res = await fetch(new URL(`/sdk/vim25/${this.release}${path}`, this.server), {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.key ? { 'vmware-api-session-id': this.key } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      throw new Error(`cannot reach volumed at ${this.server}: ${(e as Error).message}`);
    }
    if (path.endsWith('/Login')) this.key = res.headers.get('vmware-api-session-id') ?? undefined;
    const text = await res.text();
    const answer = (text ? JSON.parse(text) : {}) as VimObject;
    if (!res.ok) {
      const message = (answer.faultMessage as { message?: string }[] | undefined)?.[0]?.message ?? `HTTP ${res.status}`;
      throw new Error(`${answer._typeName ?? 'fault'}: ${message}`);
    }
    return answer;
  }

  login(userName: string, password: string): Promise<VimObject> {
    return this.call('POST', '/SessionManager/SessionManager/Login', { userName, password });
  }

  logout(): Promise<VimObject> {
    return this.call('POST', '/SessionManager/SessionManager/Logout');
  }

  invoke(method: string, body: VimObject): Promise<VimObject> {
    return this.call('POST', `/vsan/CnsVolumeManager/cns-volume-manager/${method}`, body);
  }

  taskInfo(id: string): Promise<VimObject> {
    return this.call('GET', `/Task/${encodeURIComponent(id)}/info`);
  }
}
