// Pagination over many pages, blocking queries and the event stream.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Volume, VolumedEvent } from '../../src/domain/types.js';
import { startServer, type RunningServer } from './harness.js';

describe('native API lists and watching', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s.stop();
  });

  it('pages through many volumes with no duplicates or gaps, in every order', async () => {
    const names = Array.from({ length: 45 }, (_, i) => `page-${String(i).padStart(2, '0')}`);
    await Promise.all(names.map((name, i) => s.api('POST', '/api/v1/volumes', { name, sizeBytes: 1024 * (1 + (i % 5)), namespace: 'paging' })));
    for (const [sort, direction] of [['createdAt', 'asc'], ['name', 'desc'], ['sizeBytes', 'asc']] as const) {
      const seen: Volume[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = `namespace=paging&limit=7&sort=${sort}&direction=${direction}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const res: { status: number; body: { volumes: Volume[]; nextCursor: string | null } } = await s.api<{ volumes: Volume[]; nextCursor: string | null }>('GET', `/api/v1/volumes?${q}`);
        expect(res.status).toBe(200);
        seen.push(...res.body.volumes);
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(7);
      expect(new Set(seen.map((v) => v.id)).size).toBe(45);
      if (sort === 'name') expect(seen.map((v) => v.name)).toEqual([...names].reverse());
    }
  });

  it('a blocking query waits for a change, and answers at once when there was one', async () => {
    // Let earlier work settle, so that the next change is ours.
    for (let open = 1; open > 0; ) {
      open = (await s.api<{ tasks: unknown[] }>('GET', '/api/v1/tasks?state=queued&state=running')).body.tasks.length;
      if (open) await new Promise((r) => setTimeout(r, 100));
    }
    const first = await s.api('GET', '/api/v1/volumes?limit=1');
    const index = Number(first.headers.get('x-volumed-index'));
    expect(index).toBeGreaterThan(0);
    const started = Date.now();
    const blocked = s.api<{ volumes: Volume[] }>('GET', `/api/v1/volumes?namePrefix=woken&index=${index}&wait=20s`);
    await new Promise((r) => setTimeout(r, 300));
    const created = await s.api<{ volume: Volume }>('POST', '/api/v1/volumes', { name: 'woken', sizeBytes: 1024 });
    const woke = await blocked;
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(Number(woke.headers.get('x-volumed-index'))).toBeGreaterThan(index);
    expect(woke.body.volumes.map((v) => v.id)).toContain(created.body.volume.id);
    // A wait that times out answers with the same index.
    const latest = Number(woke.headers.get('x-volumed-index'));
    await new Promise((r) => setTimeout(r, 300));
    const quiet = await s.api('GET', `/api/v1/volumes/${created.body.volume.id}?index=${latest + 1000}&wait=200ms`);
    expect(quiet.status).toBe(200);
  });

  it('answers 200 concurrent waiting creates, each with its volume available (no waiter lost)', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => s.api<{ volume: Volume; task: { state: string } }>('POST', '/api/v1/volumes?wait=true', { name: `burst-${i}`, sizeBytes: 1024 ** 3, namespace: 'burst' })),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
    expect(answers.filter((a) => a.body.task.state === 'success' && a.body.volume.status === 'available')).toHaveLength(200);
    expect(new Set(answers.map((a) => a.body.volume.id)).size).toBe(200);
    const files = await fs.readdir(path.join(s.dataDir, 'pools', 'local', 'volumes'));
    for (const a of answers) expect(files).toContain(`${a.body.volume.id}.img`);
  });

  it('a blocking read of one volume sleeps through changes to others and wakes on its own', async () => {
    const mine = (await s.api<{ volume: Volume }>('POST', '/api/v1/volumes?wait=true', { name: 'watched', sizeBytes: 1024 })).body.volume;
    const other = (await s.api<{ volume: Volume }>('POST', '/api/v1/volumes?wait=true', { name: 'bystander', sizeBytes: 1024 })).body.volume;
    const index = Number((await s.api('GET', `/api/v1/volumes/${mine.id}`)).headers.get('x-volumed-index'));
    let answered = false;
    const blocked = s.api<{ volume: Volume }>('GET', `/api/v1/volumes/${mine.id}?index=${index}&wait=60s`).finally(() => (answered = true));
    for (let i = 0; i < 5; i++) {
      await s.api('PATCH', `/api/v1/volumes/${other.id}`, { description: `change ${i}` });
      // A later request answered by the server after the change: the blocked one would have been woken first.
      await s.api('GET', `/api/v1/volumes/${other.id}`);
    }
    expect(answered).toBe(false);
    await s.api('PATCH', `/api/v1/volumes/${mine.id}`, { description: 'mine changed' });
    const woke = await blocked;
    expect(woke.body.volume.description).toBe('mine changed');
    expect(Number(woke.headers.get('x-volumed-index'))).toBeGreaterThan(index + 5);
  });

  it('streams events from an index as server-sent events', async () => {
    const start = Number((await s.api('GET', '/api/v1/volumes?limit=1')).headers.get('x-volumed-index'));
    const controller = new AbortController();
    const res = await fetch(`${s.url}/api/v1/events?index=${start}&topic=volume`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array> | null)?.getReader();
    if (!reader) throw new Error('no body');
    const created = await s.api<{ volume: Volume }>('POST', '/api/v1/volumes', { name: 'streamed', sizeBytes: 1024 });
    const events: VolumedEvent[] = [];
    let buffer = '';
    const decoder = new TextDecoder();
    const deadline = Date.now() + 10_000;
    while (!events.some((e) => e.type === 'updated' && e.key === created.body.volume.id && (e.payload as { status?: string }).status === 'available')) {
      if (Date.now() > deadline) throw new Error(`no events for ${created.body.volume.id}: ${buffer}`);
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (const block of buffer.split('\n\n').slice(0, -1)) {
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (data) events.push(JSON.parse(data.slice(6)) as VolumedEvent);
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2);
    }
    controller.abort();
    const mine = events.filter((e) => e.key === created.body.volume.id);
    expect(mine[0]?.type).toBe('created');
    expect(events.every((e) => e.topic === 'volume' && e.index > start)).toBe(true);
    const indexes = events.map((e) => e.index);
    expect([...indexes].sort((a, b) => a - b)).toEqual(indexes);
  });
});
