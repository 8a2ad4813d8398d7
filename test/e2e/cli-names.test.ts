// The CLI as a newcomer meets it: names work wherever ids do (an ambiguous
// name is an error listing the ids), errors are JSON too under --json, sizes
// and missing arguments are said plainly, what it prints is escaped, and
// `admin check` runs the invariant checker on the live server.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Attachment, Snapshot, Volume } from '../../src/domain/types.js';
import { MAIN, startServer, type RunningServer } from './harness.js';

const exec = promisify(execFile);

describe('volumed CLI with names', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s.stop();
  });

  /** stdout, stderr and the exit code of one run. */
  async function volumed(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await exec(process.execPath, [MAIN, '--server', s.url, ...args]);
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  }
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await volumed('--json', ...args);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    return JSON.parse(r.stdout) as T;
  };

  it('takes a name wherever it takes an id: attach, snapshot, revert, extend, detach, show, rm', async () => {
    const created = await json<{ volume: Volume }>('volume', 'create', 'data', '--size', '4MiB');
    const id = created.volume.id;
    const attached = await json<Attachment>('volume', 'attach', 'data', '--node', 'node-1');
    expect(attached).toMatchObject({ volumeId: id, node: 'node-1', status: 'attached' });
    const snap = await json<Snapshot>('snapshot', 'create', 'data', 'before-upgrade', '--force');
    expect(snap).toMatchObject({ volumeId: id, name: 'before-upgrade' });
    await json('volume', 'detach', 'data', attached.id);
    const grown = await json<{ volume: Volume }>('volume', 'extend', 'data', '8MiB');
    expect(grown.volume.sizeBytes).toBe(8 * 1024 * 1024);
    const reverted = await json<{ volume: Volume; task: { operation: string; state: string } }>('volume', 'revert', 'data', 'before-upgrade');
    expect([reverted.volume.id, reverted.task.operation, reverted.task.state]).toEqual([id, 'volume.revert', 'success']);
    expect((await json<{ volume: Volume }>('volume', 'show', 'data')).volume.id).toBe(id);
    expect((await json<Snapshot>('snapshot', 'show', 'before-upgrade')).id).toBe(snap.id);
    await json('snapshot', 'rm', 'before-upgrade');
    await json('volume', 'rm', 'data');
    expect((await volumed('volume', 'show', id)).code).toBe(1);
  });

  it('refuses an ambiguous name, listing the ids it fits', async () => {
    const a = (await json<{ volume: Volume }>('volume', 'create', 'twin', '--size', '1MiB')).volume.id;
    const b = (await json<{ volume: Volume }>('volume', 'create', 'twin', '--size', '1MiB')).volume.id;
    const r = await volumed('volume', 'show', 'twin');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the name twin fits 2 of volume');
    expect(r.stderr).toContain(a);
    expect(r.stderr).toContain(b);
  });

  it('answers errors as JSON under --json, with the same exit codes', async () => {
    const missing = await volumed('--json', 'volume', 'show', 'nope');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toEqual({ error: { code: 'not_found', message: expect.stringContaining('volume nope not found') as unknown, status: 404 } });
    const unreachable = await exec(process.execPath, [MAIN, '--server', 'http://127.0.0.1:1', '--json', 'volume', 'ls']).catch((e: { code: number; stdout: string }) => e);
    expect((unreachable as { code: number }).code).toBe(3);
    expect((JSON.parse((unreachable as { stdout: string }).stdout) as { error: { code: string } }).error.code).toBe('unreachable');
  });

  it('says a size is too large, and names every missing argument', async () => {
    const huge = await volumed('volume', 'create', 'big', '--size', '100000TiB');
    expect(huge.code).toBe(1);
    expect(huge.stderr).toContain('is too large: at most 9007199254740991 bytes');
    const bare = await volumed('volume', 'create');
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('missing the volume name (volume create NAME --size SIZE) and --size <size>');
  });

  it('escapes control characters in what it prints', async () => {
    const made = await json<{ volume: Volume }>('volume', 'create', 'escaped', '--size', '1MiB', '--description', 'red\u001b[31m\nsecond line');
    const shown = await volumed('volume', 'show', made.volume.id);
    expect(shown.stdout).toContain('red\\x1b[31m\\x0asecond line');
    expect(shown.stdout).not.toContain('\u001b');
  });

  it('runs the invariant checker on the live server', async () => {
    const r = await volumed('admin', 'check');
    expect([r.code, r.stdout.trim()]).toEqual([0, expect.stringMatching(/^ok: no violations \(checked .+\)$/)]);
    const asJson = await json<{ ok: boolean; violations: unknown[] }>('admin', 'check');
    expect(asJson).toMatchObject({ ok: true, violations: [] });
  });
});
