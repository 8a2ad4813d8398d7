// Hardening through the built server: secrets that never come back out, paths
// that stay inside their pool, the rate limit, the audit log, the listener's
// refusal without ACLs, and TLS.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot, Task, Volume } from '../../src/domain/types.js';
import { MAIN, startServer, type RunningServer } from './harness.js';

const exec = promisify(execFile);
const MiB = 1024 * 1024;

interface ErrorBody {
  error: { code: string; message: string };
}

/** Reads the event stream from index 0 until it has passed `until`, then hangs up. */
async function readEvents(s: RunningServer, until: number): Promise<string> {
  const abort = new AbortController();
  const res = await fetch(`${s.url}/api/v1/events?index=0`, { signal: abort.signal });
  if (!res.body) throw new Error(`no event stream: ${res.status}`);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (!new RegExp(`^id: ${until}$`, 'm').test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    abort.abort();
  }
  return text;
}

describe('secrets, audit log', () => {
  let s: RunningServer;
  const secret = `s3cr3t-${randomBytes(12).toString('hex')}`;
  beforeAll(async () => {
    // debug: the most the server ever logs.
    s = await startServer({ env: { VOLUMED_LOG_LEVEL: 'debug' } });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('never returns, logs or stores a secret in the clear, through a full run', async () => {
    const seen: unknown[] = [];
    const call = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
      const res = await s.api<T>(method, url, body);
      expect(res.status, `${method} ${url}`).toBeLessThan(300);
      seen.push(res.body);
      return res.body;
    };
    const { volume } = await call<{ volume: Volume }>('POST', '/api/v1/volumes?wait=true', { name: 'with-secrets', sizeBytes: 4 * MiB, secrets: { chapPassword: secret, [`key-${secret}`]: 'x' } });
    const { snapshot } = await call<{ snapshot: Snapshot }>('POST', `/api/v1/volumes/${volume.id}/snapshots?wait=true`, { name: 'snap', secrets: { token: secret } });
    const clone = await call<{ volume: Volume }>('POST', '/api/v1/volumes?wait=true', { name: 'clone', sizeBytes: 4 * MiB, source: { snapshotId: snapshot.id }, secrets: { chapPassword: secret } });
    await call('POST', `/api/v1/volumes/${volume.id}/extend?wait=true`, { newSizeBytes: 8 * MiB });
    await call('GET', `/api/v1/volumes/${volume.id}`);
    await call('GET', '/api/v1/volumes');
    await call('GET', `/api/v1/snapshots/${snapshot.id}`);
    await call('GET', '/api/v1/snapshots');
    const tasks = await call<{ tasks: Task[] }>('GET', '/api/v1/tasks?limit=100');
    for (const t of tasks.tasks) await call('GET', `/api/v1/tasks/${t.id}`);
    await call('DELETE', `/api/v1/volumes/${clone.volume.id}?wait=true`);
    await call('DELETE', `/api/v1/volumes/${volume.id}?cascade=true&wait=true`);
    const last = Number((await s.api('GET', '/api/v1/volumes?limit=1')).headers.get('x-volumed-index'));
    const events = await readEvents(s, last);
    expect(events).toContain(`id: ${last}`);

    const responses = JSON.stringify(seen);
    expect(responses).toContain(volume.id);
    expect(responses).not.toContain(secret);
    expect(events).not.toContain(secret);
    // The log at debug level has the requests in it, but not the secret.
    expect(s.output()).toContain(volume.id);
    expect(s.output()).not.toContain(secret);
    for (const file of ['volumed.db', 'volumed.db-wal', 'audit.log']) {
      const bytes = await fs.readFile(path.join(s.dataDir, file)).catch(() => Buffer.alloc(0));
      expect(bytes.includes(Buffer.from(secret)), `${file} holds the secret`).toBe(false);
    }
    const key = await fs.stat(path.join(s.dataDir, 'secret.key'));
    expect(key.mode & 0o777).toBe(0o600);
  });

  it('writes one audit line per mutating request: who, what, result', async () => {
    const ok = await s.api<{ volume: Volume }>('POST', '/api/v1/volumes?wait=true', { name: 'audited', sizeBytes: MiB });
    // Only a reserved volume can be unreserved: a refusal whatever the timing.
    const refused = await s.api('POST', `/api/v1/volumes/${ok.body.volume.id}/unreserve`, {});
    expect(refused.status).toBe(409);
    await s.api('GET', '/api/v1/volumes');
    const lines = (await fs.readFile(path.join(s.dataDir, 'audit.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.every((l) => l.method !== 'GET')).toBe(true);
    const mine = lines.filter((l) => l.resourceId === ok.body.volume.id || (l.route === '/api/v1/volumes' && l.method === 'POST'));
    expect(mine.at(-2)).toMatchObject({ method: 'POST', route: '/api/v1/volumes', status: 201, result: 'ok', who: { tokenId: null, remote: '127.0.0.1' } });
    expect(mine.at(-1)).toMatchObject({ method: 'POST', route: '/api/v1/volumes/:id/unreserve', resourceId: ok.body.volume.id, status: 409, result: 'refused' });
    expect(typeof mine.at(-1)?.time).toBe('string');
    expect((await fs.stat(path.join(s.dataDir, 'audit.log'))).mode & 0o777).toBe(0o600);
  });
});

describe('paths derived from input', () => {
  let s: RunningServer;
  let outside: string;
  beforeAll(async () => {
    s = await startServer();
    outside = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-outside-'));
  });
  afterAll(async () => {
    await s.stop();
    await fs.rm(outside, { recursive: true, force: true });
  });

  it('refuses manage references that leave the pool with 400, and touches nothing', async () => {
    const target = path.join(outside, 'precious.img');
    await fs.writeFile(target, 'precious bytes');
    const before = await fs.stat(target);
    const root = path.join(s.dataDir, 'pools', 'local');
    await fs.symlink(target, path.join(root, 'escape.img'));
    await fs.symlink(outside, path.join(root, 'escape-dir'));
    const index = async (): Promise<number> => Number((await s.api('GET', '/api/v1/volumes?limit=1')).headers.get('x-volumed-index'));
    const start = await index();
    const references = ['../../../etc/passwd', '..', target, '/etc/passwd', 'escape.img', 'escape-dir/precious.img', 'volumes/../../../../etc/passwd', 'a/\0b'];
    for (const ref of references) {
      for (const url of ['/api/v1/volumes/manage', '/api/v1/snapshots/manage']) {
        const body = url.includes('snapshots') ? { volumeId: 'missing', reference: { 'source-name': ref } } : { pool: 'local', reference: { 'source-name': ref } };
        const res = await s.api<ErrorBody>('POST', url, body);
        expect([400, 404], `${url} ${JSON.stringify(ref)}: ${JSON.stringify(res.body)}`).toContain(res.status);
        if (url.includes('volumes')) expect(res.status, `${url} ${JSON.stringify(ref)}`).toBe(400);
      }
    }
    expect(await index()).toBe(start);
    const after = await fs.stat(target);
    expect([after.size, after.mtimeMs, after.mode]).toEqual([before.size, before.mtimeMs, before.mode]);
    expect(await fs.readFile(target, 'utf8')).toBe('precious bytes');
    const list = await s.api<{ manageableVolumes: { reference: Record<string, string>; safeToManage: boolean; reasonNotSafe: string | null }[] }>('GET', '/api/v1/pools/local/manageable-volumes');
    const escape = list.body.manageableVolumes.find((m) => m.reference['source-name'] === 'escape.img');
    expect(escape?.safeToManage).toBe(false);
    expect(escape?.reasonNotSafe).toMatch(/escapes the pool root/);
  });

  it('refuses snapshot references that leave the pool for a real volume', async () => {
    const { body } = await s.api<{ volume: Volume }>('POST', '/api/v1/volumes?wait=true', { name: 'base', sizeBytes: MiB });
    for (const ref of ['../x', '/etc/passwd', 'escape.img']) {
      const res = await s.api<ErrorBody>('POST', '/api/v1/snapshots/manage', { volumeId: body.volume.id, reference: { 'source-name': ref } });
      expect(res.status, `${ref}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.message).toMatch(/reference|source-name|pool/);
    }
    expect((await s.api<{ snapshots: Snapshot[] }>('GET', `/api/v1/snapshots?volumeId=${body.volume.id}`)).body.snapshots).toEqual([]);
  });
});

describe('rate limit (per token, 429 with Retry-After)', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ args: ['--acl'], config: 'rateLimit: { max: 5, windowSeconds: 60 }\n' });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('gives each token its own bucket, and made-up tokens share their sender’s', async () => {
    const boot = await s.api<{ secretId: string }>('POST', '/api/v1/acl/bootstrap'); // 1 of the address's 5
    const root = { authorization: `Bearer ${boot.body.secretId}` };
    const other = await s.api<{ secretId: string }>('POST', '/api/v1/acl/tokens', { name: 'other', management: true }, root); // 1 of root's 5
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await s.api('GET', '/api/v1/volumes', undefined, root)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    const limited = await s.api<ErrorBody>('GET', '/api/v1/volumes', undefined, root);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await s.api('GET', '/api/v1/volumes', undefined, { 'x-volumed-token': other.body.secretId })).status).toBe(200);

    const guesses: number[] = [];
    for (let i = 0; i < 5; i++) guesses.push((await s.api('GET', '/api/v1/volumes', undefined, { authorization: `Bearer guess-${i}` })).status);
    expect(guesses).toEqual([401, 401, 401, 401, 429]);
  });
});

describe('listener', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-listen-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function serveFails(...args: string[]): Promise<string> {
    const dataDir = await fs.mkdtemp(path.join(dir, 'data-'));
    try {
      await exec(process.execPath, [MAIN, 'serve', '--data-dir', dataDir, ...args], { timeout: 20_000 });
    } catch (e) {
      expect((e as { code: number }).code).toBe(1);
      expect(await fs.readdir(dataDir), 'nothing written').toEqual([]);
      return (e as { stderr: string }).stderr;
    }
    throw new Error(`serve ${args.join(' ')} started`);
  }

  it('refuses a non-loopback address with ACLs off, and says why', async () => {
    const message = await serveFails('--listen', '0.0.0.0:0');
    expect(message).toMatch(/refusing to listen on 0\.0\.0\.0 with ACLs off/);
    expect(message).toMatch(/--acl/);
    expect(message).toMatch(/--insecure-no-acl/);
  });

  it('starts on a non-loopback address with --acl or --insecure-no-acl', async () => {
    for (const flag of ['--acl', '--insecure-no-acl']) {
      const s = await startServer({ args: ['--listen', '0.0.0.0:0', flag] });
      try {
        expect((await s.api('GET', '/healthz')).status).toBe(200);
        expect((await s.api('GET', '/api/v1/volumes')).status).toBe(flag === '--acl' ? 401 : 200);
        // Reachable on this machine's own non-loopback address, when it has one.
        const external = Object.values(os.networkInterfaces()).flat().find((a) => a && !a.internal && a.family === 'IPv4');
        if (external) expect((await fetch(`http://${external.address}:${new URL(s.url).port}/healthz`)).status).toBe(200);
      } finally {
        await s.stop();
      }
    }
  });

  it('serves TLS with the configured certificate, and names a missing one', async () => {
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1']);
    const s = await startServer({ config: `tls: { cert: ${cert}, key: ${key} }\n` });
    try {
      expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = await fs.readFile(cert);
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        https
          .get(`${s.url}/api/v1/pools`, { ca }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('"local"');
      // Plain HTTP on the TLS port gets no API answer.
      const plain = await fetch(s.url.replace('https:', 'http:') + '/api/v1/pools').then((r) => r.status).catch(() => 'refused');
      expect(plain).not.toBe(200);
      // An unknown CA is refused by a verifying client.
      await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
    } finally {
      await s.stop();
    }
    const configFile = path.join(dir, 'missing-tls.yaml');
    await fs.writeFile(configFile, `tls: { cert: ${path.join(dir, 'nope.pem')}, key: ${key} }\n`);
    expect(await serveFails('--listen', '127.0.0.1:0', '--config', configFile)).toMatch(/tls\.cert: cannot read .*nope\.pem \(ENOENT\)/);
  });
});
