// Refusals through HTTP: each with the right status, a message naming the
// field or the current status, and nothing written.

import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Attachment, Task, Volume } from '../../src/domain/types.js';
import { startServer, type RunningServer } from './harness.js';

interface ErrorBody {
  error: { code: string; message: string; resource?: { type: string; id: string } };
}

const MiB = 1024 * 1024;

/** The server answers 413 before the body is through and closes; read the answer, not the broken pipe. */
function postOversized(url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      answered = true;
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    req.end(body);
  });
}

describe('native API errors', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s.stop();
  });

  const index = async (): Promise<number> => Number((await s.api('GET', '/api/v1/volumes?limit=1')).headers.get('x-volumed-index'));

  async function expectRefused(method: string, path: string, body: unknown, status: number, message: RegExp): Promise<ErrorBody> {
    const before = await index();
    const res = await s.api<ErrorBody>(method, path, body);
    expect(res.status, `${method} ${path}`).toBe(status);
    expect(res.body.error.message).toMatch(message);
    expect(await index(), `${method} ${path} wrote nothing`).toBe(before);
    return res.body;
  }

  it('validates bodies and queries, naming the field', async () => {
    await expectRefused('POST', '/api/v1/volumes', { name: 'x', sizeBytes: -5 }, 400, /^body\.sizeBytes: /);
    await expectRefused('POST', '/api/v1/volumes', { name: 'x', sizeBytes: 1, color: 'red' }, 400, /^body\.color: unknown field/);
    await expectRefused('POST', '/api/v1/volumes', { sizeBytes: 1 }, 400, /^body\.name: is required/);
    await expectRefused('POST', '/api/v1/volumes', { name: 'x', sizeBytes: 1, kind: 'tape' }, 400, /^body\.kind/);
    await expectRefused('POST', '/api/v1/volumes', { name: 'x', sizeBytes: 1, type: 'nope' }, 400, /^type: no such volume type: nope/);
    await expectRefused('POST', '/api/v1/volumes', { name: 'x', sizeBytes: 1, pool: 'nope' }, 400, /^pool: no such pool/);
    await expectRefused('POST', '/api/v1/volumes', { name: 'x', sizeBytes: 1, source: { snapshotId: 'missing' } }, 400, /source\.snapshotId: no such snapshot/);
    await expectRefused('POST', '/api/v1/volumes', '{"name":', 400, /JSON/i);
    await expectRefused('GET', '/api/v1/volumes?cursor=%21%21not-a-cursor', undefined, 400, /^cursor: malformed cursor/);
    await expectRefused('GET', '/api/v1/volumes?limit=0', undefined, 400, /^querystring\.limit/);
    await expectRefused('GET', '/api/v1/volumes?limit=100000', undefined, 400, /^querystring\.limit/);
    await expectRefused('GET', '/api/v1/volumes?frobnicate=1', undefined, 400, /^querystring\.frobnicate: unknown field/);
    await expectRefused('GET', '/api/v1/volumes?index=1&wait=forever', undefined, 400, /^querystring\.wait/);
    await expectRefused('GET', '/api/v1/volumes?index=1&wait=2h', undefined, 400, /^wait: must be at most/);
    await expectRefused('GET', '/api/v1/volumes?sort=color', undefined, 400, /^querystring\.sort/);
  });

  it('answers 413 for a body over the limit and 404 for unknown things', async () => {
    const res = await postOversized(`${s.url}/api/v1/volumes`, JSON.stringify({ name: 'x', sizeBytes: 1, description: 'y'.repeat(2 * MiB) }));
    expect(res.status).toBe(413);
    expect((JSON.parse(res.body) as ErrorBody).error.code).toBe('too_large');
    const missing = await s.api<ErrorBody>('GET', '/api/v1/volumes/00000000-0000-0000-0000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toEqual({ code: 'not_found', message: 'volume 00000000-0000-0000-0000-000000000000 not found', resource: { type: 'volume', id: '00000000-0000-0000-0000-000000000000' } });
    expect((await s.api<ErrorBody>('GET', '/api/v1/nothing-here')).status).toBe(404);
    expect((await s.api<ErrorBody>('GET', '/api/v1/tasks/nope')).status).toBe(404);
  });

  it('refuses each transition the state machine forbids with 409 and the current status', async () => {
    const created = await s.api<{ volume: Volume }>('POST', '/api/v1/volumes?wait=true', { name: 'busy', sizeBytes: MiB, accessMode: { accessMode: 'single-node-writer' } });
    const id = created.body.volume.id;
    const att = await s.api<{ attachment: Attachment }>('POST', `/api/v1/volumes/${id}/attachments?wait=true`, { node: 'n1' });
    expect(att.status).toBe(200);
    const body = await expectRefused('DELETE', `/api/v1/volumes/${id}`, undefined, 409, /has status in-use/);
    expect(body.error.code).toBe('invalid_state');
    expect(body.error.resource).toEqual({ type: 'volume', id });
    await expectRefused('POST', `/api/v1/volumes/${id}/revert`, { snapshotId: 'x' }, 409, /has status in-use/);
    await expectRefused('POST', `/api/v1/volumes/${id}/reserve`, {}, 409, /has status in-use/);
    await expectRefused('POST', `/api/v1/volumes/${id}/unmanage`, {}, 409, /has status in-use/);
    await expectRefused('POST', `/api/v1/volumes/${id}/upload-image`, { imageName: 'x' }, 409, /has status in-use/);
    await expectRefused('POST', `/api/v1/volumes/${id}/complete-extend`, {}, 409, /has status in-use/);
    await expectRefused('POST', `/api/v1/volumes/${id}/attachments`, { node: 'n2' }, 409, /single-node-writer and attached on node n1/);
    await expectRefused('POST', `/api/v1/volumes/${id}/snapshots`, { name: 's' }, 409, /has status in-use/);
    await expectRefused('POST', `/api/v1/volumes/${id}/extend`, { newSizeBytes: 1 }, 400, /newSizeBytes: must be larger/);
    await expectRefused('POST', `/api/v1/volumes/${id}/migrate`, { pool: 'local' }, 400, /already in pool local/);
    const detach = await s.api('DELETE', `/api/v1/volumes/${id}/attachments/${att.body.attachment.id}?wait=true`);
    expect(detach.status).toBe(200);
    await expectRefused('DELETE', `/api/v1/volumes/${id}/attachments/${att.body.attachment.id}`, undefined, 404, /attachment .* not found/);
  });

  it('reports a failed task as a volume in error with the message (wait=true)', async () => {
    // Ask for more than the pool can hold: refused up front, nothing written.
    await expectRefused('POST', '/api/v1/volumes', { name: 'huge', sizeBytes: Number.MAX_SAFE_INTEGER }, 409, /no pool can hold/);
    const tasks = await s.api<{ tasks: Task[] }>('GET', '/api/v1/tasks?state=error');
    expect(tasks.status).toBe(200);
  });
});
