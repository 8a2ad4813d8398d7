// The cinder CLI through a real Keystone (Debian's keystone, on loopback with
// SQLite, set up with keystone-manage and the openstack CLI): password auth
// against Keystone's catalogue pointing at volumed, member and admin tokens,
// and a token of another project that sees nothing.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { props, rows } from './cli-tables.js';
import { startServer, type RunningServer } from './harness.js';

const exec = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const TOOLS = ['/usr/bin/keystone-manage', '/usr/bin/keystone-wsgi-public', '/usr/bin/uwsgi', '/usr/bin/sqlite3', '/usr/bin/openstack', '/usr/bin/cinder'];
const missing = TOOLS.filter((t) => !existsSync(t));
if (missing.length) console.warn(`skipping the Keystone tests: ${missing.join(', ')} missing (apt-get install keystone python3-openstackclient python3-cinderclient; .ci/run installs them)`);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}


describe.skipIf(missing.length > 0)('Cinder with Keystone tokens', { timeout: 180_000 }, () => {
  let dir = '';
  let keystone: ChildProcess | undefined;
  let ksUrl = '';
  let s: RunningServer | undefined;
  const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8' });
  const adminEnv = (): NodeJS.ProcessEnv => ({
    ...env(),
    OS_AUTH_URL: ksUrl,
    OS_USERNAME: 'admin',
    OS_PASSWORD: 'admin-secret',
    OS_PROJECT_NAME: 'admin',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_IDENTITY_API_VERSION: '3',
  });
  const openstack = async (...args: string[]): Promise<string> => {
    try {
      return (await exec(PYTHON, ['/usr/bin/openstack', ...args], { env: adminEnv() })).stdout;
    } catch (e) {
      const log = await fs.readFile(path.join(dir, 'keystone.log'), 'utf8').catch(() => '');
      throw new Error(`openstack ${args.join(' ')}: ${String((e as { stderr?: string }).stderr ?? e)}\nkeystone log: ${log.split('\n').filter((l) => / ERROR /.test(l)).slice(-3).join('\n')}`);
    }
  };
  const conf = (): string => path.join(dir, 'keystone.conf');
  const manage = async (...args: string[]): Promise<void> => {
    await exec(PYTHON, ['/usr/bin/keystone-manage', '--config-file', conf(), ...args], { env: env(), cwd: dir });
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-keystone-'));
    const port = await freePort();
    ksUrl = `http://127.0.0.1:${port}/v3`;
    await fs.writeFile(
      conf(),
      [
        '[DEFAULT]',
        `log_file = ${dir}/keystone.log`,
        'use_stderr = false',
        '[database]',
        `connection = sqlite:///${dir}/keystone.db`,
        '[token]',
        'provider = fernet',
        '[fernet_tokens]',
        `key_repository = ${dir}/fernet-keys`,
        '[fernet_receipts]',
        `key_repository = ${dir}/fernet-keys`,
        '[credential]',
        `key_repository = ${dir}/credential-keys`,
        '',
      ].join('\n'),
    );
    await manage('db_sync');
    // With the default rollback journal, Keystone's pooled connections lock each other out of writes.
    await exec('sqlite3', [path.join(dir, 'keystone.db'), 'pragma journal_mode=wal;']);
    await manage('fernet_setup', '--keystone-user', 'root', '--keystone-group', 'root');
    await manage('credential_setup', '--keystone-user', 'root', '--keystone-group', 'root');
    await manage('bootstrap', '--bootstrap-password', 'admin-secret', '--bootstrap-public-url', ksUrl, '--bootstrap-region-id', 'RegionOne');
    // As Debian runs it: uwsgi with the python3 plugin (one worker is plenty here).
    keystone = spawn(
      'uwsgi',
      ['--plugins', 'python3', '--http-socket', `127.0.0.1:${port}`, '--wsgi-file', '/usr/bin/keystone-wsgi-public', '--master', '--processes', '1', '--threads', '1', '--lazy-apps', '--die-on-term', '--buffer-size', '65535', '--add-header', 'Connection: close', '--chdir', dir],
      { env: { ...env(), OS_KEYSTONE_CONFIG_FILES: conf() }, cwd: dir, stdio: 'ignore' },
    );
    for (let i = 0; ; i++) {
      const up = await fetch(ksUrl).then((r) => r.ok, () => false);
      if (up) break;
      if (i > 200) throw new Error('Keystone did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    // volumed's service user, a member in each of two projects, the catalogue entry.
    await openstack('project', 'create', '--domain', 'Default', 'service');
    await openstack('project', 'create', '--domain', 'Default', 'proj-a');
    await openstack('project', 'create', '--domain', 'Default', 'proj-b');
    await openstack('role', 'create', 'service');
    await openstack('user', 'create', '--domain', 'Default', '--password', 'volumed-secret', 'volumed');
    await openstack('role', 'add', '--project', 'service', '--user', 'volumed', 'service');
    await openstack('user', 'create', '--domain', 'Default', '--password', 'alice-secret', 'alice');
    await openstack('role', 'add', '--project', 'proj-a', '--user', 'alice', 'member');
    await openstack('user', 'create', '--domain', 'Default', '--password', 'bob-secret', 'bob');
    await openstack('role', 'add', '--project', 'proj-b', '--user', 'bob', 'member');
    s = await startServer({
      config: `keystone:\n  url: ${ksUrl}\n  username: volumed\n  project: service\n  cacheSeconds: 5\n`,
      env: { VOLUMED_KEYSTONE_PASSWORD: 'volumed-secret' },
    });
    await openstack('service', 'create', '--name', 'cinderv3', 'volumev3');
    await openstack('endpoint', 'create', '--region', 'RegionOne', 'volumev3', 'public', `${s.url}/v3/%(project_id)s`);
  }, 170_000);

  afterAll(async () => {
    await s?.stop();
    if (keystone && keystone.exitCode === null) {
      const exited = new Promise((r) => keystone?.once('exit', r));
      keystone.kill('SIGTERM');
      await exited;
    }
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  async function cinderAs(user: string, project: string, ...args: string[]): Promise<{ out: string; code: number }> {
    const auth = ['--os-auth-url', ksUrl, '--os-username', user, '--os-password', `${user}-secret`, '--os-project-name', project, '--os-user-domain-name', 'Default', '--os-project-domain-name', 'Default'];
    try {
      const { stdout, stderr } = await exec(PYTHON, ['/usr/bin/cinder', ...auth, ...args], { env: env() });
      return { out: stdout + stderr, code: 0 };
    } catch (e) {
      const { stdout = '', stderr = '', code = 1 } = e as { stdout?: string; stderr?: string; code?: number };
      return { out: stdout + stderr, code };
    }
  }

  it('lets a member create, list and delete in its project, and refuses it admin actions', async () => {
    const created = await cinderAs('alice', 'proj-a', 'create', '1', '--name', 'ks-vol');
    expect(created.out).toMatch(/ks-vol/);
    expect(created.code).toBe(0);
    const id = props(created.out).id ?? '';
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const projectId = (await openstack('project', 'show', '-f', 'value', '-c', 'id', 'proj-a')).trim();
    const native = await s?.api<{ volume: { namespace: string } }>('GET', `/api/v1/volumes/${id}`);
    expect(native?.body.volume.namespace).toBe(projectId);
    expect(rows((await cinderAs('alice', 'proj-a', 'list')).out)).toEqual([expect.objectContaining({ ID: id, Name: 'ks-vol' })]);

    const refused = await cinderAs('alice', 'proj-a', 'reset-state', '--state', 'error', id);
    expect(refused.out).toMatch(/admin role.*HTTP 403/);
    // An admin may; the member then sees what the admin did.
    expect((await cinderAs('admin', 'admin', 'reset-state', '--state', 'error', id)).code).toBe(0);
    expect(props((await cinderAs('alice', 'proj-a', 'show', id)).out).status).toBe('error');
    expect((await cinderAs('admin', 'admin', 'reset-state', '--state', 'available', id)).code).toBe(0);

    // Another project's token sees nothing of it.
    expect(rows((await cinderAs('bob', 'proj-b', 'list')).out)).toEqual([]);
    expect((await cinderAs('bob', 'proj-b', 'show', id)).out).toMatch(/No volume with a name or ID of|could not be found/);

    expect((await cinderAs('alice', 'proj-a', 'delete', id)).code).toBe(0);
    for (let i = 0; i < 200 && (await s?.api('GET', `/api/v1/volumes/${id}`))?.status !== 404; i++) await new Promise((r) => setTimeout(r, 25));
    expect((await s?.api('GET', `/api/v1/volumes/${id}`))?.status).toBe(404);
  });

  it('answers 401 with where to get a token for a token Keystone does not know', async () => {
    const projectId = (await openstack('project', 'show', '-f', 'value', '-c', 'id', 'proj-a')).trim();
    const res = await s?.api<Record<string, unknown>>('GET', `/v3/${projectId}/volumes`, undefined, { 'X-Auth-Token': 'gAAAAA-not-a-token' });
    expect(res?.status).toBe(401);
    expect(res?.headers.get('www-authenticate')).toBe(`Keystone uri="${ksUrl}"`);
    expect(res?.body).toHaveProperty('unauthorized');
    expect((await s?.api('GET', `/v3/${projectId}/volumes`))?.status).toBe(401);
  });
});
