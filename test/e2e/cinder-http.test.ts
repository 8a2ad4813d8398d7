// The Cinder v3 surface over HTTP: versions, microversion negotiation, fault
// bodies, paging links, projects, metadata and refusals from the wrong status.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './harness.js';

type Json = Record<string, unknown>;
const V = (version: string): Record<string, string> => ({ 'OpenStack-API-Version': `volume ${version}` });
const TOKEN = (project: string): Record<string, string> => ({ 'X-Auth-Token': `alice:${project}` });

describe('Cinder v3 over HTTP', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ config: 'pools:\n  - id: local\n    driver: file\n  - id: fast\n    driver: file\n' });
  });
  afterAll(async () => {
    await s.stop();
  });

  async function settle(project: string, id: string, want: string): Promise<Json> {
    for (let i = 0; i < 200; i++) {
      const r = await s.api<{ volume: Json }>('GET', `/v3/${project}/volumes/${id}`);
      if (r.body.volume.status === want) return r.body.volume;
      await new Promise((res) => setTimeout(res, 25));
    }
    throw new Error(`volume ${id} never reached ${want}`);
  }
  async function create(project: string, name: string, extra: Json = {}): Promise<Json> {
    const r = await s.api<{ volume: Json }>('POST', `/v3/${project}/volumes`, { volume: { size: 1, name, ...extra } });
    expect(r.status).toBe(202);
    return settle(project, String(r.body.volume.id), 'available');
  }

  it('serves the versions document with 300 and the v3 document', async () => {
    const root = await s.api<{ versions: Json[] }>('GET', '/');
    expect(root.status).toBe(300);
    expect(root.headers.get('x-openstack-request-id')).toMatch(/^req-[0-9a-f-]{36}$/);
    const v = root.body.versions[0] ?? {};
    expect(v).toMatchObject({ id: 'v3.0', status: 'CURRENT', version: '3.71', min_version: '3.0' });
    expect(v['media-types']).toEqual([{ base: 'application/json', type: 'application/vnd.openstack.volume+json;version=3' }]);
    expect(JSON.stringify(v.links)).toContain(`${s.url}/v3/`);
    const v3 = await s.api<{ versions: Json[] }>('GET', '/v3/');
    expect(v3.status).toBe(200);
    expect(v3.body.versions[0]?.version).toBe('3.71');
  });

  it('negotiates microversions: default 3.0, latest, out of range 406, malformed 400', async () => {
    const plain = await s.api('GET', '/v3/p1/volumes');
    expect(plain.headers.get('openstack-api-version')).toBe('volume 3.0');
    expect(plain.headers.get('vary')).toContain('OpenStack-API-Version');
    expect((await s.api('GET', '/v3/p1/volumes', undefined, V('3.50'))).headers.get('openstack-api-version')).toBe('volume 3.50');
    expect((await s.api('GET', '/v3/p1/volumes', undefined, V('latest'))).headers.get('openstack-api-version')).toBe('volume 3.71');
    const high = await s.api<Json>('GET', '/v3/p1/volumes', undefined, V('3.72'));
    expect(high.status).toBe(406);
    expect(JSON.stringify(high.body)).toContain('Version 3.72 is not supported by the API. Minimum is 3.0 and maximum is 3.71.');
    const bad = await s.api<{ badRequest: { code: number; message: string } }>('GET', '/v3/p1/volumes', undefined, V('3.x'));
    expect(bad.status).toBe(400);
    expect(bad.body.badRequest.message).toContain('API Version String 3.x is of invalid format');
  });

  it('adds fields where the microversion adds them', async () => {
    const vol = await create('p-fields', 'gated');
    const at = async (version: string): Promise<Json> => (await s.api<{ volume: Json }>('GET', `/v3/p-fields/volumes/${String(vol.id)}`, undefined, V(version))).body.volume;
    const v30 = await at('3.0');
    expect(v30).toMatchObject({ bootable: 'false', size: 1, 'os-vol-tenant-attr:tenant_id': 'p-fields' });
    expect(v30['os-vol-host-attr:host']).toMatch(/^volumed@(local|fast)#(local|fast)$/);
    expect(v30).not.toHaveProperty('group_id');
    expect(v30).not.toHaveProperty('shared_targets');
    expect(await at('3.48')).toHaveProperty('shared_targets', false);
    expect(await at('3.63')).toHaveProperty('volume_type_id', null);
    expect(await at('3.62')).not.toHaveProperty('volume_type_id');
  });

  it('serves URLs without a project id from 3.67 only', async () => {
    await create('p-bare', 'bare-one');
    const before = await s.api<Json>('GET', '/v3/volumes', undefined, { ...V('3.66'), ...TOKEN('p-bare') });
    expect(before.status).toBe(404);
    expect(before.body).toHaveProperty('itemNotFound');
    const after = await s.api<{ volumes: Json[] }>('GET', '/v3/volumes', undefined, { ...V('3.67'), ...TOKEN('p-bare') });
    expect(after.status).toBe(200);
    expect(after.body.volumes.map((v) => v.name)).toEqual(['bare-one']);
  });

  it("answers Cinder's fault bodies", async () => {
    const missing = await s.api<Json>('GET', '/v3/p1/volumes/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ itemNotFound: { code: 404, message: 'Volume nope could not be found.' } });
    const badSize = await s.api<{ badRequest: { message: string } }>('POST', '/v3/p1/volumes', { volume: { size: 'abc' } });
    expect(badSize.status).toBe(400);
    expect(badSize.body.badRequest.message).toContain('volume.size');
    const unknown = await s.api<{ badRequest: { message: string } }>('POST', '/v3/p1/volumes', { volume: { size: 1, colour: 'red' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.badRequest.message).toContain('colour: unknown field');
    const noRoute = await s.api<Json>('GET', '/v3/p1/backups');
    expect(noRoute.status).toBe(404);
    expect(noRoute.body).toHaveProperty('itemNotFound');
    const vol = await create('p1', 'acts');
    const noAction = await s.api<{ badRequest: { message: string } }>('POST', `/v3/p1/volumes/${String(vol.id)}/action`, { 'os-fly': {} });
    expect(noAction.status).toBe(400);
    expect(noAction.body.badRequest.message).toContain('There is no such action: os-fly');
    // revert exists from 3.40 only.
    expect((await s.api<Json>('POST', `/v3/p1/volumes/${String(vol.id)}/action`, { revert: { snapshot_id: 'x' } })).status).toBe(400);
    const wrongToken = await s.api<Json>('GET', '/v3/p1/volumes', undefined, TOKEN('p2'));
    expect(wrongToken.status).toBe(401);
    expect(wrongToken.headers.get('www-authenticate')).toContain('Keystone');
  });

  it('refuses actions from the wrong status with the status named', async () => {
    const vol = await create('p-state', 'held');
    const id = String(vol.id);
    expect((await s.api('POST', `/v3/p-state/volumes/${id}/action`, { 'os-reserve': null })).status).toBe(202);
    expect((await s.api<{ volume: Json }>('GET', `/v3/p-state/volumes/${id}`)).body.volume.status).toBe('reserved');
    const extend = await s.api<{ badRequest: { message: string } }>('POST', `/v3/p-state/volumes/${id}/action`, { 'os-extend': { new_size: 2 } });
    expect(extend.status).toBe(400);
    expect(extend.body.badRequest.message).toBe('Invalid volume: Volume status must be available, but current status is: reserved.');
    const del = await s.api<{ badRequest: { message: string } }>('DELETE', `/v3/p-state/volumes/${id}`);
    expect(del.status).toBe(400);
    expect(del.body.badRequest.message).toMatch(/^Invalid volume: Volume status must be available or error.*, but current status is: reserved\.$/);
    expect((await s.api('POST', `/v3/p-state/volumes/${id}/action`, { 'os-unreserve': {} })).status).toBe(202);
    const smaller = await s.api<{ badRequest: { message: string } }>('POST', `/v3/p-state/volumes/${id}/action`, { 'os-extend': { new_size: 1 } });
    expect(smaller.body.badRequest.message).toContain('New size for extend must be greater than current size. (current: 1, extended: 1).');
    // Nothing was half-written: the volume is as it was.
    expect(await settle('p-state', id, 'available')).toMatchObject({ size: 1 });
  });

  it('pages with limit, marker, offset and next links, sorted as asked', async () => {
    for (const name of ['e', 'c', 'a', 'd', 'b']) await create('p-page', name);
    const first = await s.api<{ volumes: Json[]; volumes_links?: { href: string; rel: string }[] }>('GET', '/v3/p-page/volumes?limit=2&sort=name:asc');
    expect(first.body.volumes.map((v) => v.name)).toEqual(['a', 'b']);
    const next = first.body.volumes_links?.[0];
    expect(next?.rel).toBe('next');
    const second = await s.api<{ volumes: Json[]; volumes_links?: unknown[] }>('GET', new URL(next?.href ?? '').pathname + new URL(next?.href ?? '').search);
    expect(second.body.volumes.map((v) => v.name)).toEqual(['c', 'd']);
    const offset = await s.api<{ volumes: Json[] }>('GET', '/v3/p-page/volumes/detail?sort_key=name&sort_dir=desc&offset=3');
    expect(offset.body.volumes.map((v) => v.name)).toEqual(['b', 'a']);
    const d = (await s.api<{ volumes: Json[] }>('GET', '/v3/p-page/volumes/detail?name=d')).body.volumes[0] ?? {};
    expect((await s.api('POST', `/v3/p-page/volumes/${String(d.id)}/action`, { 'os-set_bootable': { bootable: true } })).status).toBe(200);
    expect((await s.api<{ volumes: Json[] }>('GET', '/v3/p-page/volumes?bootable=true')).body.volumes.map((v) => v.name)).toEqual(['d']);
    expect((await s.api<{ volumes: Json[] }>('GET', '/v3/p-page/volumes?bootable=false')).body.volumes).toHaveLength(4);
    expect((await s.api('GET', '/v3/p-page/volumes?bootable=maybe')).status).toBe(400);
    const since = String(d.created_at);
    expect((await s.api<{ volumes: Json[] }>('GET', `/v3/p-page/volumes?created_at=gte:${since}&sort=name:asc`)).body.volumes.map((v) => v.name)).toEqual(['b', 'd']);
    expect((await s.api<{ volumes: Json[] }>('GET', `/v3/p-page/volumes?updated_at=gt:${since}`)).body.volumes.map((v) => v.name)).toContain('d');
    expect((await s.api('GET', '/v3/p-page/volumes?created_at=soon')).status).toBe(400);
    const counted = await s.api<{ count: number }>('GET', '/v3/p-page/volumes?with_count=true', undefined, V('3.45'));
    expect(counted.body.count).toBe(5);
    expect((await s.api('GET', '/v3/p-page/volumes?sort=colour:asc')).status).toBe(400);
    const badMarker = await s.api<{ badRequest: { message: string } }>('GET', '/v3/p-page/volumes?marker=nope');
    expect(badMarker.status).toBe(400);
    expect(badMarker.body.badRequest.message).toContain('marker nope not found');
    // Another project sees none of them.
    expect((await s.api<{ volumes: Json[] }>('GET', '/v3/p-other/volumes')).body.volumes).toEqual([]);
    const all = await s.api<{ volumes: Json[] }>('GET', '/v3/p-other/volumes?all_tenants=1&project_id=p-page');
    expect(all.body.volumes).toHaveLength(5);
  });

  it('keeps metadata with Cinder semantics, and it is the native labels', async () => {
    const vol = await create('p-meta', 'meta', { metadata: { a: '1' } });
    const base = `/v3/p-meta/volumes/${String(vol.id)}/metadata`;
    expect((await s.api<Json>('POST', base, { metadata: { b: '2' } })).body).toEqual({ metadata: { a: '1', b: '2' } });
    expect((await s.api<Json>('GET', `${base}/b`)).body).toEqual({ meta: { b: '2' } });
    expect((await s.api<Json>('PUT', `${base}/b`, { meta: { c: '3' } })).status).toBe(400);
    expect((await s.api<Json>('PUT', `${base}/b`, { meta: { b: '3' } })).body).toEqual({ meta: { b: '3' } });
    expect((await s.api('DELETE', `${base}/a`)).status).toBe(200);
    expect((await s.api('DELETE', `${base}/a`)).status).toBe(404);
    expect((await s.api<Json>('PUT', base, { metadata: { z: '9' } })).body).toEqual({ metadata: { z: '9' } });
    const native = await s.api<{ volume: { labels: Json; namespace: string } }>('GET', `/api/v1/volumes/${String(vol.id)}`);
    expect(native.body.volume).toMatchObject({ namespace: 'p-meta', labels: { z: '9' } });
  });

  it('answers overLimit past the quota, and counts usage', async () => {
    expect((await s.api('PUT', '/v3/p-quota/os-quota-sets/p-quota', { quota_set: { tenant_id: 'p-quota', volumes: 1 } })).status).toBe(200);
    await create('p-quota', 'only');
    const over = await s.api<Json>('POST', '/v3/p-quota/volumes', { volume: { size: 1, name: 'second' } });
    expect(over.status).toBe(413);
    expect(over.body).toHaveProperty('overLimit');
    const usage = await s.api<{ quota_set: { volumes: Json } }>('GET', '/v3/p-quota/os-quota-sets/p-quota?usage=True');
    expect(usage.body.quota_set.volumes).toEqual({ limit: 1, in_use: 1, reserved: 0, allocated: 0 });
    const bad = await s.api<{ badRequest: { message: string } }>('PUT', '/v3/p-quota/os-quota-sets/p-quota', { quota_set: { backups: 3 } });
    expect(bad.status).toBe(400);
    expect(bad.body.badRequest.message).toContain('Bad key(s) in quota set: backups');
  });

  it('refuses every status-bound action of a reserved volume with the status in the message, and changes nothing', async () => {
    expect((await s.api('POST', '/v3/p-every/types', { volume_type: { name: 'every-type' } })).status).toBe(200);
    const vol = await create('p-every', 'every');
    const id = String(vol.id);
    const snap = await s.api<{ snapshot: Json }>('POST', '/v3/p-every/snapshots', { snapshot: { volume_id: id, name: 'sn' } });
    for (let i = 0; i < 200 && (await s.api<{ snapshot: Json }>('GET', `/v3/p-every/snapshots/${String(snap.body.snapshot.id)}`)).body.snapshot.status !== 'available'; i++) await new Promise((r) => setTimeout(r, 25));
    expect((await s.api('POST', `/v3/p-every/volumes/${id}/action`, { 'os-reserve': null })).status).toBe(202);
    const before = await s.api<{ volume: Json }>('GET', `/v3/p-every/volumes/${id}`);
    const actions: [string, Json | null, string][] = [
      ['os-extend', { new_size: 2 }, 'available'],
      ['revert', { snapshot_id: String(snap.body.snapshot.id) }, 'available'],
      ['os-retype', { new_type: 'every-type' }, 'available or in-use'],
      ['os-volume_upload_image', { image_name: 'img' }, 'available'],
      ['os-unmanage', null, 'available'],
      ['os-reserve', null, 'available'],
      ['os-begin_detaching', null, 'in-use'],
      ['os-roll_detaching', null, 'detaching'],
      ['os-migrate_volume', { host: 'volumed@fast#fast' }, 'available or in-use'],
      ['os-reimage', { image_id: 'none' }, 'available or error'],
      ['os-extend_volume_completion', { error: false }, 'extending'],
    ];
    for (const [action, body, allowed] of actions) {
      const res = await s.api<{ badRequest?: { message: string } }>('POST', `/v3/p-every/volumes/${id}/action`, { [action]: body }, V('3.71'));
      expect({ action, status: res.status, message: res.body.badRequest?.message }).toEqual({ action, status: 400, message: `Invalid volume: Volume status must be ${allowed}, but current status is: reserved.` });
    }
    const after = await s.api<{ volume: Json }>('GET', `/v3/p-every/volumes/${id}`);
    expect(after.body.volume).toEqual(before.body.volume);
  });

  it("runs Nova's legacy attach and detach: reserve, initialize_connection, attach, begin_detaching, terminate_connection, detach", async () => {
    const vol = await create('p-nova', 'nova-disk');
    const id = String(vol.id);
    const act = (body: Json): Promise<{ status: number; body: Json }> => s.api<Json>('POST', `/v3/p-nova/volumes/${id}/action`, body);
    expect((await act({ 'os-reserve': null })).status).toBe(202);
    const connector = { host: 'compute-1', initiator: 'iqn.2024-01.test:compute-1', ip: '10.0.0.9' };
    const init = await act({ 'os-initialize_connection': { connector } });
    expect(init.status).toBe(200);
    const info = (init.body as { connection_info: { driver_volume_type: string; data: Json } }).connection_info;
    expect(info.driver_volume_type).toBe('local');
    expect(String(info.data.device_path)).toContain(path.join(s.dataDir, 'pools'));
    // Asked again, the same host gets the same connection.
    expect((await act({ 'os-initialize_connection': { connector } })).body).toEqual(init.body);
    expect((await act({ 'os-attach': { instance_uuid: 'vm-1', mountpoint: '/dev/vdb', host_name: 'compute-1', mode: 'rw' } })).status).toBe(202);
    const attached = await settle('p-nova', id, 'in-use');
    expect(attached.attachments).toEqual([expect.objectContaining({ host_name: 'compute-1', volume_id: id })]);
    expect((await act({ 'os-begin_detaching': null })).status).toBe(202);
    expect((await s.api<{ volume: Json }>('GET', `/v3/p-nova/volumes/${id}`)).body.volume.status).toBe('detaching');
    expect((await act({ 'os-terminate_connection': { connector } })).status).toBe(202);
    await settle('p-nova', id, 'available');
    expect((await s.api<{ volume: Json }>('GET', `/v3/p-nova/volumes/${id}`)).body.volume.attachments).toEqual([]);
    // os-detach of a volume no longer attached says so.
    const again = await act({ 'os-detach': {} });
    expect(again.status).toBe(400);
    expect(JSON.stringify(again.body)).toContain('the volume is not attached');
  });

  it('adopts with a bad reference into error_managing, with the reason as a user message', async () => {
    const res = await s.api<{ volume: Json }>('POST', '/v3/p-manage/os-volume-manage', { volume: { host: 'volumed@local#local', ref: { 'source-name': 'nothing-here.img' }, name: 'ghost' } });
    expect(res.status).toBe(202);
    expect(res.body.volume).toMatchObject({ status: 'managing', size: 0, name: 'ghost' });
    const id = String(res.body.volume.id);
    await settle('p-manage', id, 'error_managing');
    const messages = await s.api<{ messages: Json[] }>('GET', '/v3/p-manage/messages', undefined, V('3.3'));
    expect(messages.body.messages).toEqual([expect.objectContaining({ resource_uuid: id, resource_type: 'VOLUME', message_level: 'ERROR', user_message: expect.stringContaining('no such object in the pool: nothing-here.img') as unknown })]);
    expect((await s.api('GET', '/v3/p-manage/messages')).status).toBe(404);
    const noHost = await s.api<{ badRequest: { message: string } }>('POST', '/v3/p-manage/os-volume-manage', { volume: { ref: { 'source-name': 'x' } } });
    expect(noHost.status).toBe(400);
    expect(noHost.body.badRequest.message).toContain("Either 'host' or 'cluster' must be specified.");
    const unknownHost = await s.api<Json>('POST', '/v3/p-manage/os-volume-manage', { volume: { host: 'volumed@nope#nope', ref: { 'source-name': 'x' } } });
    expect(unknownHost.status).toBe(404);
    // Refused requests wrote nothing: only the one volume exists.
    expect((await s.api<{ volumes: Json[] }>('GET', '/v3/p-manage/volumes')).body.volumes).toHaveLength(1);
  });

  it('adopts into error_managing when the type asks for another pool, and pages the manageable list', async () => {
    const root = path.join(s.dataDir, 'pools', 'local');
    for (const [name, mib] of [['m-a.img', 3], ['m-b.img', 1], ['m-c.img', 2]] as const) {
      await fs.writeFile(path.join(root, name), '');
      await fs.truncate(path.join(root, name), mib * 1024 ** 3 + 1);
    }
    const list = async (query: string): Promise<Json[]> => (await s.api<{ 'manageable-volumes': Json[] }>('GET', `/v3/p-adopt/manageable_volumes/detail?host=volumed@local%23local&${query}`, undefined, V('3.8'))).body['manageable-volumes'];
    const names = (items: Json[]): string[] => items.map((o) => String((o.reference as Json)['source-name'])).filter((n) => n.startsWith('m-'));
    expect(names(await list('sort=reference:asc'))).toEqual(['m-a.img', 'm-b.img', 'm-c.img']);
    expect(names(await list('sort=size:desc'))).toEqual(['m-a.img', 'm-c.img', 'm-b.img']);
    expect((await list('sort=reference:asc')).find((o) => (o.reference as Json)['source-name'] === 'm-b.img')).toMatchObject({ size: 2, safe_to_manage: true, reason_not_safe: null, cinder_id: null });
    const sortedAsc = names(await list('sort=reference:asc'));
    expect(names(await list(`sort=reference:asc&marker=m-a.img&limit=1`))).toEqual(sortedAsc.slice(1, 2));
    expect((await s.api('GET', '/v3/p-adopt/manageable_volumes?host=volumed@local%23local', undefined, V('3.7'))).status).toBe(404);

    expect((await s.api('POST', '/v3/p-adopt/types', { volume_type: { name: 'fast-only', extra_specs: { volume_backend_name: 'fast' } } })).status).toBe(200);
    const res = await s.api<{ volume: Json }>('POST', '/v3/p-adopt/os-volume-manage', { volume: { host: 'volumed@local#local', ref: { 'source-name': 'm-a.img' }, volume_type: 'fast-only' } });
    expect(res.status).toBe(202);
    const id = String(res.body.volume.id);
    await settle('p-adopt', id, 'error_managing');
    const messages = await s.api<{ messages: Json[] }>('GET', '/v3/p-adopt/messages', undefined, V('3.3'));
    expect(messages.body.messages).toEqual([expect.objectContaining({ resource_uuid: id, user_message: expect.stringContaining('volume type fast-only does not match pool local') as unknown })]);
    // The object was not adopted: it is still there, and still manageable.
    expect((await list('sort=reference:asc')).find((o) => (o.reference as Json)['source-name'] === 'm-a.img')).toMatchObject({ safe_to_manage: true });
  });
});

describe('Cinder v3 with volumed tokens (ACLs on)', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ args: ['--acl'] });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('lets the namespace policies decide, and keeps admin actions to admins', async () => {
    const boot = await s.api<{ secretId: string }>('POST', '/api/v1/acl/bootstrap');
    const root = { Authorization: `Bearer ${boot.body.secretId}` };
    expect((await s.api('POST', '/api/v1/acl/policies', { name: 'team-rw', rules: [{ namespace: 'team', capabilities: ['write-volume'] }] }, root)).status).toBe(201);
    const issued = await s.api<{ secretId: string }>('POST', '/api/v1/acl/tokens', { name: 'member', policies: ['team-rw'] }, root);
    const member = { 'X-Auth-Token': issued.body.secretId };
    const created = await s.api<{ volume: Json }>('POST', '/v3/team/volumes', { volume: { size: 1, name: 'mine' } }, member);
    expect(created.status).toBe(202);
    const id = String(created.body.volume.id);
    expect(created.body.volume).not.toHaveProperty('os-vol-host-attr:host');
    const reset = await s.api<Json>('POST', `/v3/team/volumes/${id}/action`, { 'os-reset_status': { status: 'error' } }, member);
    expect(reset.status).toBe(403);
    expect(reset.body).toHaveProperty('forbidden');
    expect((await s.api<Json>('GET', '/v3/other/volumes', undefined, member)).status).toBe(403);
    expect((await s.api<Json>('GET', '/v3/team/volumes', undefined, { 'X-Auth-Token': 'made-up' })).status).toBe(401);
    const admin = await s.api('POST', `/v3/team/volumes/${id}/action`, { 'os-reset_status': { status: 'error' } }, { 'X-Auth-Token': boot.body.secretId });
    expect(admin.status).toBe(202);
    expect((await s.api<{ volume: Json }>('GET', `/v3/team/volumes/${id}`, undefined, member)).body.volume.status).toBe('error');
  });
});

