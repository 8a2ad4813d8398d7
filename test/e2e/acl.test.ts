// Tokens × namespaces × operations with ACLs on: allowed, 403 or 404 as
// specified, and lists that never show another namespace.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AclToken } from '../../src/domain/acl.js';
import type { Snapshot, Task, Volume } from '../../src/domain/types.js';
import { startServer, type RunningServer } from './harness.js';

type Op = 'list' | 'read' | 'write' | 'mount' | 'admin';
type Outcome = 'ok' | 403 | 404;

const NAMESPACES = ['dev', 'prod', 'team-a', 'ops'] as const;

// Written out by hand from the policies below: what each token may do where.
const EXPECTED: Record<string, Record<(typeof NAMESPACES)[number], Record<Op, Outcome>>> = {
  'dev-writer': {
    dev: { list: 'ok', read: 'ok', write: 'ok', mount: 403, admin: 403 },
    prod: { list: 403, read: 404, write: 404, mount: 404, admin: 404 },
    'team-a': { list: 403, read: 404, write: 404, mount: 404, admin: 404 },
    ops: { list: 403, read: 404, write: 404, mount: 404, admin: 404 },
  },
  'prod-reader': {
    dev: { list: 403, read: 404, write: 404, mount: 404, admin: 404 },
    prod: { list: 'ok', read: 'ok', write: 403, mount: 403, admin: 403 },
    'team-a': { list: 403, read: 404, write: 404, mount: 404, admin: 404 },
    ops: { list: 403, read: 404, write: 404, mount: 404, admin: 404 },
  },
  'team-mounter': {
    dev: { list: 403, read: 404, write: 404, mount: 404, admin: 404 },
    prod: { list: 403, read: 404, write: 404, mount: 404, admin: 404 },
    'team-a': { list: 'ok', read: 'ok', write: 403, mount: 'ok', admin: 403 },
    ops: { list: 403, read: 404, write: 404, mount: 404, admin: 404 },
  },
  'ops-admin': {
    dev: { list: 403, read: 404, write: 404, mount: 404, admin: 404 },
    prod: { list: 403, read: 404, write: 404, mount: 404, admin: 404 },
    'team-a': { list: 403, read: 404, write: 404, mount: 404, admin: 404 },
    ops: { list: 'ok', read: 'ok', write: 'ok', mount: 'ok', admin: 'ok' },
  },
  management: Object.fromEntries(NAMESPACES.map((ns) => [ns, { list: 'ok', read: 'ok', write: 'ok', mount: 'ok', admin: 'ok' }])) as Record<(typeof NAMESPACES)[number], Record<Op, Outcome>>,
};

describe('access control (--acl)', () => {
  let s: RunningServer;
  let root: string;
  const secrets: Record<string, string> = {};
  const volumes: Record<string, Volume> = {};

  const as = (secret: string) => ({ authorization: `Bearer ${secret}` });

  beforeAll(async () => {
    s = await startServer({ args: ['--acl'] });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('needs a token, bootstraps once, and issues tokens shown once', async () => {
    const anon = await s.api<{ error: { code: string } }>('GET', '/api/v1/volumes');
    expect(anon.status).toBe(401);
    expect(anon.body.error.code).toBe('unauthenticated');
    expect((await s.api('GET', '/api/v1/volumes', undefined, as('not-a-token'))).status).toBe(401);
    expect((await s.api('GET', '/healthz')).status).toBe(200);
    expect((await s.api('GET', '/api/v1/openapi.json')).status).toBe(200);

    const boot = await s.api<{ token: AclToken; secretId: string }>('POST', '/api/v1/acl/bootstrap');
    expect(boot.status).toBe(201);
    expect(boot.body.token.management).toBe(true);
    root = boot.body.secretId;
    expect((await s.api('POST', '/api/v1/acl/bootstrap')).status).toBe(409);

    const policies = {
      'dev-writer': [{ namespace: 'dev', capabilities: ['write-volume'] }],
      'prod-reader': [{ namespace: 'prod', capabilities: ['read-volume'] }],
      'team-mounter': [{ namespace: 'team-*', capabilities: ['mount-volume'] }],
      'ops-admin': [{ namespace: 'ops', capabilities: ['admin'] }],
    };
    for (const [name, rules] of Object.entries(policies)) {
      expect((await s.api('POST', '/api/v1/acl/policies', { name, rules }, as(root))).status).toBe(201);
      const issued = await s.api<{ token: AclToken; secretId: string }>('POST', '/api/v1/acl/tokens', { name, policies: [name] }, as(root));
      expect(issued.status).toBe(201);
      secrets[name] = issued.body.secretId;
    }
    secrets.management = root;
    const listed = await s.api<{ tokens: AclToken[] }>('GET', '/api/v1/acl/tokens', undefined, as(root));
    expect(JSON.stringify(listed.body)).not.toContain(secrets['dev-writer']);
    expect((await s.api('POST', '/api/v1/acl/policies', { name: 'bad', rules: [{ namespace: 'x', capabilities: ['fly'] }] }, as(root))).status).toBe(400);
    expect((await s.api('POST', '/api/v1/acl/tokens', { name: 't', policies: ['missing'] }, as(root))).status).toBe(400);
    expect((await s.api('POST', '/api/v1/acl/tokens', { name: 't', management: true }, as(secrets['ops-admin'] ?? ''))).status).toBe(403);

    for (const ns of NAMESPACES) {
      const res = await s.api<{ volume: Volume }>('POST', '/api/v1/volumes?wait=true', { name: `vol-${ns}`, sizeBytes: 1024 * 1024, namespace: ns, multiattach: true }, as(root));
      expect(res.status).toBe(201);
      volumes[ns] = res.body.volume;
      await s.api('POST', `/api/v1/volumes/${res.body.volume.id}/snapshots?wait=true`, { name: `snap-${ns}` }, as(root));
    }
  });

  async function attempt(secret: string, ns: (typeof NAMESPACES)[number], op: Op): Promise<number> {
    const id = volumes[ns]?.id ?? '';
    const h = as(secret);
    switch (op) {
      case 'list':
        return (await s.api('GET', `/api/v1/volumes?namespace=${ns}`, undefined, h)).status;
      case 'read':
        return (await s.api('GET', `/api/v1/volumes/${id}`, undefined, h)).status;
      case 'write':
        return (await s.api('PATCH', `/api/v1/volumes/${id}`, { description: 'touched' }, h)).status;
      case 'mount':
        return (await s.api('POST', `/api/v1/volumes/${id}/attachments`, { node: `node-${Math.random()}` }, h)).status;
      case 'admin':
        return (await s.api('POST', `/api/v1/volumes/${id}/reset-status`, { attachStatus: 'attached' }, h)).status;
    }
  }

  it('answers every token × namespace × operation as specified', async () => {
    const got: string[] = [];
    const want: string[] = [];
    for (const [token, byNs] of Object.entries(EXPECTED)) {
      for (const ns of NAMESPACES) {
        for (const op of ['list', 'read', 'write', 'mount', 'admin'] as const) {
          const status = await attempt(secrets[token] ?? '', ns, op);
          const outcome = status >= 200 && status < 300 ? 'ok' : status;
          got.push(`${token} ${op} ${ns}: ${outcome}`);
          want.push(`${token} ${op} ${ns}: ${byNs[ns][op]}`);
        }
      }
    }
    expect(got).toEqual(want);
  });

  it('lists show only namespaces the token may list', async () => {
    const dev = secrets['dev-writer'] ?? '';
    const vols = await s.api<{ volumes: Volume[] }>('GET', '/api/v1/volumes', undefined, as(dev));
    expect(vols.body.volumes.map((v) => v.namespace)).toEqual(['dev']);
    const snaps = await s.api<{ snapshots: Snapshot[] }>('GET', '/api/v1/snapshots', undefined, as(dev));
    expect(new Set(snaps.body.snapshots.map((x) => x.namespace))).toEqual(new Set(['dev']));
    const tasks = await s.api<{ tasks: Task[] }>('GET', '/api/v1/tasks?limit=1000', undefined, as(dev));
    expect(tasks.body.tasks.length).toBeGreaterThan(0);
    expect(new Set(tasks.body.tasks.map((t) => t.namespace))).toEqual(new Set(['dev']));
    const teamVols = await s.api<{ volumes: Volume[] }>('GET', '/api/v1/volumes', undefined, as(secrets['team-mounter'] ?? ''));
    expect(teamVols.body.volumes.map((v) => v.namespace)).toEqual(['team-a']);
    const all = await s.api<{ volumes: Volume[] }>('GET', '/api/v1/volumes', undefined, as(root));
    expect(all.body.volumes).toHaveLength(NAMESPACES.length);
    // Other namespaces' snapshots and tasks by id are not there at all.
    const prodSnap = (await s.api<{ snapshots: Snapshot[] }>('GET', '/api/v1/snapshots?namespace=prod', undefined, as(root))).body.snapshots[0];
    expect((await s.api('GET', `/api/v1/snapshots/${prodSnap?.id ?? ''}`, undefined, as(dev))).status).toBe(404);
    const prodTask = (await s.api<{ tasks: Task[] }>('GET', '/api/v1/tasks?namespace=prod', undefined, as(root))).body.tasks[0];
    expect((await s.api('GET', `/api/v1/tasks/${prodTask?.id ?? ''}`, undefined, as(dev))).status).toBe(404);
  });

  it('creates only where allowed, and never from a source it cannot read', async () => {
    const dev = secrets['dev-writer'] ?? '';
    expect((await s.api('POST', '/api/v1/volumes', { name: 'x', sizeBytes: 1024, namespace: 'prod' }, as(dev))).status).toBe(403);
    expect((await s.api('POST', '/api/v1/volumes', { name: 'x', sizeBytes: 1024 }, as(dev))).status).toBe(403);
    const stolen = await s.api('POST', '/api/v1/volumes', { name: 'x', sizeBytes: 1024 * 1024, namespace: 'dev', source: { volumeId: volumes.prod?.id } }, as(dev));
    expect(stolen.status).toBe(404);
    expect((await s.api('POST', '/api/v1/volumes?wait=true', { name: 'mine', sizeBytes: 1024, namespace: 'dev' }, as(dev))).status).toBe(201);
  });

  it('keeps types, quotas and pools contents to management; all surfaces headers work', async () => {
    const dev = secrets['dev-writer'] ?? '';
    expect((await s.api('GET', '/api/v1/types', undefined, as(dev))).status).toBe(200);
    expect((await s.api('POST', '/api/v1/types', { name: 'x' }, as(dev))).status).toBe(403);
    expect((await s.api('GET', '/api/v1/pools/local/manageable-volumes', undefined, as(dev))).status).toBe(403);
    expect((await s.api('PUT', '/api/v1/quotas/dev', { volumes: 2, gigabytes: -1, snapshots: -1 }, as(dev))).status).toBe(403);
    expect((await s.api('PUT', '/api/v1/quotas/dev', { volumes: 2, gigabytes: -1, snapshots: -1 }, as(root))).status).toBe(200);
    const quota = await s.api<{ quota: { volumes: number }; usage: { volumes: number } }>('GET', '/api/v1/quotas/dev', undefined, as(dev));
    expect([quota.body.quota.volumes, quota.body.usage.volumes]).toEqual([2, 2]);
    expect((await s.api('GET', '/api/v1/quotas/prod', undefined, as(dev))).status).toBe(403);
    const over = await s.api<{ error: { code: string } }>('POST', '/api/v1/volumes', { name: 'third', sizeBytes: 1024, namespace: 'dev' }, as(dev));
    expect([over.status, over.body.error.code]).toEqual([413, 'quota_exceeded']);
    for (const header of ['x-volumed-token', 'x-nomad-token', 'x-auth-token']) {
      expect((await s.api('GET', '/api/v1/volumes?namespace=dev', undefined, { [header]: dev })).status).toBe(200);
    }
    const self = await s.api<{ token: AclToken }>('GET', '/api/v1/acl/token/self', undefined, as(dev));
    expect(self.body.token.name).toBe('dev-writer');
    expect((await s.api('DELETE', `/api/v1/acl/tokens/${self.body.token.id}`, undefined, as(root))).status).toBe(204);
    expect((await s.api('GET', '/api/v1/volumes?namespace=dev', undefined, as(dev))).status).toBe(401);
  });
});
