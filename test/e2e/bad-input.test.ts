// Bad input as a newcomer or an adversary sends it, on every surface: JSON
// types are never coerced in bodies (only where a dialect itself takes a
// string, Cinder's size), names refuse control and bidi characters, each
// surface's refusals name its own fields, and a refused request writes nothing.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './harness.js';

type Json = Record<string, unknown>;
const MiB = 1024 * 1024;

describe('bad input', () => {
  let s: RunningServer;
  const index = async (): Promise<number> => Number((await fetch(`${s.url}/v1/volumes?type=csi`)).headers.get('x-nomad-index'));

  beforeAll(async () => {
    s = await startServer({ config: 'pools:\n  - { id: local, driver: file }\n' });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('refuses a body value of the wrong JSON type, naming the field, and writes nothing', async () => {
    const before = await index();
    const cases: [string, string, Json, string][] = [
      ['POST', '/api/v1/volumes?wait=true', { name: 'coerce-bool', sizeBytes: true }, 'body.sizeBytes: must be integer'],
      ['POST', '/api/v1/volumes?wait=true', { name: 5, sizeBytes: MiB }, 'body.name: must be string'],
      ['POST', '/api/v1/volumes?wait=true', { name: 'n', sizeBytes: '10' }, 'body.sizeBytes: must be integer'],
      ['POST', '/api/v1/volumes?wait=true', { name: 'n', sizeBytes: MiB, labels: { a: 1 } }, 'body.labels.a: must be string'],
    ];
    for (const [method, p, body, message] of cases) {
      const r = await s.api<{ error: { message: string } }>(method, p, body);
      expect([r.status, r.body.error.message], JSON.stringify(body)).toEqual([400, message]);
    }
    const nomad = await s.api<string>('PUT', '/v1/volume/csi/typed/create', { Volumes: [{ ID: 'typed', PluginID: 'local', RequestedCapacityMin: '10' }] });
    expect(nomad.status).toBe(400);
    expect(String(nomad.body)).toContain('RequestedCapacityMin');
    expect(await index()).toBe(before);
  });

  it("takes Cinder's own string size, and names Cinder's fields in its refusals", async () => {
    const made = await s.api<{ volume: Json }>('POST', '/v3/demo/volumes', { volume: { size: '1', name: 'string-size' } });
    expect([made.status, made.body.volume.size]).toEqual([202, 1]);
    const refusals: [Json, string][] = [
      [{ size: 0, name: 'z' }, 'size: must be'],
      [{ size: '0', name: 'z' }, 'Invalid input received: size: must be a whole number of GiB, at least 1, not 0'],
      [{ size: 99999999, name: 'z' }, 'Invalid input received: size: 99999999 GiB is too large: at most 8388607 GiB'],
    ];
    for (const [volume, message] of refusals) {
      const r = await s.api<{ badRequest: { code: number; message: string } }>('POST', '/v3/demo/volumes', { volume });
      expect(r.status).toBe(400);
      expect(r.body.badRequest.message).toContain(message);
      expect(r.body.badRequest.message).not.toContain('sizeBytes');
    }
  });

  it('creates Cinder volumes and snapshots without a name, as `cinder create 1` does', async () => {
    const made = await s.api<{ volume: Json }>('POST', '/v3/demo/volumes', { volume: { size: 1, name: null } });
    expect(made.status, JSON.stringify(made.body)).toBe(202);
    expect(made.body.volume.name).toBeNull();
    const id = String(made.body.volume.id);
    for (let i = 0; i < 100 && (await s.api<{ volume: Json }>('GET', `/v3/demo/volumes/${id}`)).body.volume.status !== 'available'; i++) await new Promise((r) => setTimeout(r, 20));
    const snap = await s.api<{ snapshot: Json }>('POST', '/v3/demo/snapshots', { snapshot: { volume_id: id } });
    expect(snap.status, JSON.stringify(snap.body)).toBe(202);
    expect(snap.body.snapshot.name).toBeNull();
    const sid = String(snap.body.snapshot.id);
    for (let i = 0; i < 100 && (await s.api<{ snapshot: Json }>('GET', `/v3/demo/snapshots/${sid}`)).body.snapshot.status !== 'available'; i++) await new Promise((r) => setTimeout(r, 20));
    const listed = await s.api<{ volumes: Json[] }>('GET', '/v3/demo/volumes');
    expect(listed.body.volumes.find((v) => v.id === id)?.name).toBeNull();
  });

  it('refuses control and bidirectional-override characters in names, on every surface', async () => {
    const before = await index();
    for (const name of ['nul\u0000byte', 'new\nline', 'red\u001b[31m', 'evil\u202ename', 'del\u007f', 'c1\u0085']) {
      const native = await s.api<{ error: { message: string } }>('POST', '/api/v1/volumes?wait=true', { name, sizeBytes: MiB });
      expect([native.status, native.body.error.message]).toEqual([400, expect.stringContaining('name: must not contain control or bidirectional-override characters')]);
      const cinder = await s.api<{ badRequest: { message: string } }>('POST', '/v3/demo/volumes', { volume: { size: 1, name } });
      expect([cinder.status, cinder.body.badRequest.message]).toEqual([400, expect.stringContaining('name: must not contain control')]);
      const nomad = await s.api<string>('PUT', '/v1/volume/csi/odd-name/create', { Volumes: [{ ID: 'odd-name', Name: name, PluginID: 'local', RequestedCapacityMin: MiB }] });
      expect([nomad.status, String(nomad.body)]).toEqual([400, expect.stringContaining('Name: must not contain control')]);
    }
    expect(await index()).toBe(before);
  });

  it('holds an extend to the pool as a create is: its largest volume and its room, before any task', async () => {
    const made = await s.api<{ volume: { id: string } }>('POST', '/api/v1/volumes?wait=true', { name: 'small', sizeBytes: MiB });
    const id = made.body.volume.id;
    const pool = (await s.api<{ pool: { capacity: { totalBytes: number; maxVolumeBytes?: number } } }>('GET', '/api/v1/pools/local')).body.pool;
    const largest = pool.capacity.maxVolumeBytes ?? Number.MAX_SAFE_INTEGER;
    expect(largest).toBeLessThan(Number.MAX_SAFE_INTEGER);
    const before = await index();
    const huge = await s.api<{ error: { code: string; message: string } }>('POST', `/api/v1/volumes/${id}/extend?wait=true`, { newSizeBytes: Number.MAX_SAFE_INTEGER });
    expect([huge.status, huge.body.error.message]).toEqual([400, `newSizeBytes: ${Number.MAX_SAFE_INTEGER} bytes is more than pool local can make: its largest volume is ${largest} bytes`]);
    // Past the thin pool's room (20 times its size) but within its largest file where the disk allows it: 409 naming the room.
    const beyondRoom = pool.capacity.totalBytes * 20 + 1024 * MiB;
    if (beyondRoom <= largest) {
      const r = await s.api<{ error: { message: string } }>('POST', `/api/v1/volumes/${id}/extend?wait=true`, { newSizeBytes: beyondRoom });
      expect([r.status, r.body.error.message]).toEqual([409, expect.stringContaining('has not enough room to grow volume')]);
    }
    expect(await index()).toBe(before);
    const v = await s.api<{ volume: { status: string; sizeBytes: number } }>('GET', `/api/v1/volumes/${id}`);
    expect([v.body.volume.status, v.body.volume.sizeBytes]).toEqual(['available', MiB]);
    // Every create still finds room afterwards.
    expect((await s.api('POST', '/api/v1/volumes?wait=true', { name: 'after', sizeBytes: MiB })).status).toBe(201);
  });

  it('answers a storage failure under ?wait=true with 502 in the documented shape, naming the task', async () => {
    const made = await s.api<{ volume: { id: string } }>('POST', '/api/v1/volumes?wait=true', { name: 'to-revert', sizeBytes: MiB });
    const id = made.body.volume.id;
    const snap = await s.api<{ snapshot: { id: string } }>('POST', `/api/v1/volumes/${id}/snapshots?wait=true`, { name: 'gone' });
    // The snapshot's bytes vanish behind volumed's back: the revert's task fails in the storage.
    await fs.rm(path.join(s.dataDir, 'pools', 'local', 'snapshots', id), { recursive: true, force: true });
    const r = await s.api<{ error: { code: string; message: string } }>('POST', `/api/v1/volumes/${id}/revert?wait=true`, { snapshotId: snap.body.snapshot.id });
    expect([r.status, r.body.error.code]).toEqual([502, 'backend_error']);
    expect(r.body.error.message).toMatch(/^volume\.revert failed: .* \(task [0-9a-f-]+\)$/);
  });

  it('answers HTTP refusals in each surface\'s documented shape: 415, a forbidden key, 405 with Allow, 431, 413', async () => {
    const before = await index();
    const post = (p: string, body: string, type = 'application/json') => fetch(`${s.url}${p}`, { method: 'POST', headers: { 'content-type': type }, body });
    const plain = await post('/api/v1/volumes', JSON.stringify({ name: 'a', sizeBytes: MiB }), 'text/plain');
    expect([plain.status, ((await plain.json()) as { error: Json }).error]).toEqual([415, { code: 'unsupported_media_type', message: 'content-type "text/plain" is not accepted: send application/json (application/octet-stream for image bytes)' }]);
    const poisoned = '{"name":"a","sizeBytes":1048576,"__proto__":{"admin":true}}';
    expect(await (await post('/api/v1/volumes', poisoned)).json()).toEqual({ error: { code: 'invalid_input', message: 'body: the key __proto__ is forbidden in a JSON body' } });
    expect(await (await post('/v3/demo/volumes', '{"volume":{"size":1},"__proto__":{}}')).json()).toEqual({ badRequest: { code: 400, message: 'Invalid input received: body: the key __proto__ is forbidden in a JSON body' } });
    const nomadPoison = await fetch(`${s.url}/v1/volume/csi/p/create`, { method: 'PUT', body: '{"Volumes":[{"ID":"p","constructor":{"prototype":{}}}]}' });
    expect([nomadPoison.status, await nomadPoison.text()]).toEqual([400, 'body: the key constructor.prototype is forbidden in a JSON body']);

    const wrong = await fetch(`${s.url}/api/v1/volumes`, { method: 'DELETE' });
    expect([wrong.status, wrong.headers.get('allow'), ((await wrong.json()) as { error: Json }).error.code]).toEqual([405, 'GET, HEAD, POST', 'method_not_allowed']);
    const cinderWrong = await fetch(`${s.url}/v3/demo/volumes`, { method: 'PATCH' });
    expect([cinderWrong.status, cinderWrong.headers.get('allow'), Object.keys((await cinderWrong.json()) as Json)]).toEqual([405, 'GET, HEAD, POST', ['badMethod']]);
    const nomadWrong = await fetch(`${s.url}/v1/volumes`, { method: 'POST' });
    expect([nomadWrong.status, nomadWrong.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect((await fetch(`${s.url}/api/v1/no-such-thing`)).status).toBe(404);

    const longUrl = await fetch(`${s.url}/api/v1/volumes?filler=${'a'.repeat(100_000)}`);
    expect([longUrl.status, ((await longUrl.json()) as { error: Json }).error.code]).toEqual([431, 'header_too_large']);

    // A 10 MB body from Node's fetch gets its 413, not a broken pipe, on the native and the Cinder surfaces.
    const big = JSON.stringify({ volume: { size: 1, name: 'x'.repeat(10 * 1024 * 1024) } });
    const tooLarge = await post('/v3/demo/volumes', big);
    expect([tooLarge.status, Object.keys((await tooLarge.json()) as Json)]).toEqual([413, ['overLimit']]);
    const nativeLarge = await post('/api/v1/volumes', big);
    expect([nativeLarge.status, ((await nativeLarge.json()) as { error: Json }).error.code]).toEqual([413, 'too_large']);
    expect(await index()).toBe(before);
  });

  it('states every refusal of every native operation in the OpenAPI document, with its body', async () => {
    const doc = (await s.api<{ paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Json }> }> }>> }>('GET', '/api/v1/openapi.json')).body;
    const operations = Object.entries(doc.paths).filter(([p]) => p.startsWith('/api/v1/')).flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => ({ at: `${m.toUpperCase()} ${p}`, op })));
    expect(operations.length).toBeGreaterThan(50);
    for (const { at, op } of operations) {
      for (const status of ['2XX', '400', '401', '403', '404', '405', '409', '413', '415', '429', '501', '502']) expect(op.responses[status], `${at} ${status}`).toBeDefined();
      expect(op.responses['409']?.content?.['application/json']?.schema, at).toMatchObject({ required: ['error'], properties: { error: { required: ['code', 'message'] } } });
      // A 204 has no body: the success range promises none.
      expect(op.responses['2XX']?.content, at).toBeUndefined();
    }
  });

  it('answers a blocking list with index=0 at once, as Nomad does (nothing is older than the start)', async () => {
    // No image has ever changed here: a wait of 300 s that were honoured would outlast this test's 20 s limit.
    const r = await s.api<{ images: unknown[] }>('GET', '/api/v1/images?index=0&wait=300s');
    expect([r.status, r.body.images]).toEqual([200, []]);
  }, 20_000);
});
