// The `volumed` CLI driving a running server; --json output is parsed. Also
// the server's start-up refusals (bad config).

import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Attachment, Image, Pool, Snapshot, Task, Volume } from '../../src/domain/types.js';
import { MAIN, startServer, type RunningServer } from './harness.js';

const exec = promisify(execFile);

describe('volumed CLI', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s.stop();
  });

  async function cli<T>(...args: string[]): Promise<T> {
    const { stdout } = await exec(process.execPath, [MAIN, '--server', s.url, '--json', ...args]);
    return JSON.parse(stdout) as T;
  }

  async function cliFails(...args: string[]): Promise<{ code: number; stderr: string }> {
    try {
      await exec(process.execPath, [MAIN, '--server', s.url, ...args]);
    } catch (e) {
      const err = e as { code: number; stderr: string };
      return { code: err.code, stderr: err.stderr };
    }
    throw new Error(`volumed ${args.join(' ')} succeeded`);
  }

  it('runs a volume through its life with human sizes and JSON output', async () => {
    const pools = await cli<Pool[]>('pool', 'ls');
    expect(pools.map((p) => p.id)).toEqual(['local']);
    const created = await cli<{ volume: Volume; task: Task }>('volume', 'create', 'cli-vol', '--size', '10MiB', '--label', 'app=cli');
    expect(created.volume.sizeBytes).toBe(10 * 1024 * 1024);
    expect(created.volume.status).toBe('available');
    const id = created.volume.id;
    const listed = await cli<Volume[]>('volume', 'ls', '--label', 'app=cli');
    expect(listed.map((v) => v.id)).toEqual([id]);
    const attached = await cli<Attachment>('volume', 'attach', id, '--node', 'n1');
    expect(attached.connectionInfo).toMatchObject({ driverVolumeType: 'file' });
    const snap = await cli<Snapshot>('snapshot', 'create', id, 's1', '--force');
    expect(snap.status).toBe('available');
    const extended = await cli<{ volume: Volume }>('volume', 'extend', id, '20MiB');
    expect(extended.volume.sizeBytes).toBe(20 * 1024 * 1024);
    await cli('volume', 'detach', id, attached.id);
    const shown = await cli<{ volume: Volume; attachments: Attachment[] }>('volume', 'show', id);
    expect([shown.volume.status, shown.attachments.length]).toEqual(['available', 0]);
    const tasks = await cli<Task[]>('task', 'ls', '--resource', id);
    expect(tasks.map((t) => t.operation)).toEqual(['volume.create', 'volume.attach', 'volume.extend', 'volume.detach']);
    const refused = await cliFails('volume', 'rm', id);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`has status available (it has 1 snapshot(s): ${snap.id}; delete them or use cascade) (HTTP 409)`);
    await cli('volume', 'rm', id, '--cascade');
    expect((await cliFails('volume', 'show', id)).stderr).toMatch(/not found \(no volume has that id or name\) \(HTTP 404\)/);
  });

  it('uploads and downloads images', async () => {
    const file = path.join(s.dataDir, 'img.raw');
    await fs.writeFile(file, Buffer.from('image bytes'));
    const image = await cli<Image>('image', 'upload', file, '--name', 'tiny');
    expect(image.sizeBytes).toBe(11);
    const out = path.join(s.dataDir, 'out.raw');
    await cli('image', 'download', image.id, out);
    expect(await fs.readFile(out, 'utf8')).toBe('image bytes');
  });

  it('says clearly when input is wrong or the server is unreachable', async () => {
    expect((await cliFails('volume', 'create', 'x', '--size', 'lots')).stderr).toMatch(/not a size: "lots"/);
    const { code, stderr } = await (async () => {
      try {
        await exec(process.execPath, [MAIN, '--server', 'http://127.0.0.1:9', 'volume', 'ls']);
      } catch (e) {
        return e as { code: number; stderr: string };
      }
      throw new Error('succeeded');
    })();
    expect(code).toBe(3);
    expect(stderr).toMatch(/cannot reach volumed at http:\/\/127\.0\.0\.1:9/);
  });
});

describe('volumed serve start-up', () => {
  async function serveFails(config: string, listen = '127.0.0.1:0'): Promise<string> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-cfg-'));
    try {
      const file = path.join(dir, 'volumed.yaml');
      await fs.writeFile(file, config);
      await exec(process.execPath, [MAIN, 'serve', '--listen', listen, '--data-dir', dir, '--config', file], { timeout: 20_000 });
    } catch (e) {
      return (e as { stderr: string }).stderr;
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
    throw new Error('serve started with a bad config');
  }

  it('refuses a bad config, naming the key', async () => {
    expect(await serveFails('pools:\n  - { id: local, driver: tape }\n')).toMatch(/pools\[0\]\.driver: must be one of file, fake/);
    expect(await serveFails('pools:\n  - { id: local, driver: file, colour: red }\n')).toMatch(/pools\[0\]\.colour: unknown key/);
    expect(await serveFails('types:\n  - { name: gold, extraSpecs: { pool: fast } }\npools:\n  - { id: local, driver: file }\n')).toMatch(/types\[0\]\.extraSpecs\.pool: no pool fast/);
    expect(await serveFails('{}\n', 'nowhere')).toMatch(/--listen: must be HOST:PORT/);
    expect(await serveFails('pools: [\n')).toMatch(/not valid YAML/);
  });
});
