// `volumed acl ...` and `volumed quota ...` against a server with --acl: the
// operator's path from bootstrap to a scoped token in use.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AclToken, Policy } from '../../src/domain/acl.js';
import type { Quota, Volume } from '../../src/domain/types.js';
import { MAIN, startServer, type RunningServer } from './harness.js';

const exec = promisify(execFile);

describe('volumed acl and quota CLI', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ args: ['--acl'] });
  });
  afterAll(async () => {
    await s.stop();
  });

  async function cli<T>(env: Record<string, string>, ...args: string[]): Promise<T> {
    const { stdout } = await exec(process.execPath, [MAIN, '--server', s.url, '--json', ...args], { env: { ...process.env, ...env } });
    return JSON.parse(stdout) as T;
  }
  async function cliFails(env: Record<string, string>, ...args: string[]): Promise<string> {
    try {
      await exec(process.execPath, [MAIN, '--server', s.url, ...args], { env: { ...process.env, ...env } });
    } catch (e) {
      expect((e as { code: number }).code).toBe(1);
      return (e as { stderr: string }).stderr;
    }
    throw new Error(`volumed ${args.join(' ')} succeeded`);
  }

  it('bootstraps, writes a policy, issues a scoped token and uses it', async () => {
    expect(await cliFails({}, 'volume', 'ls')).toMatch(/a token is required.*\(HTTP 401\)/);
    const boot = await cli<{ token: AclToken; secretId: string }>({}, 'acl', 'bootstrap');
    expect(boot.token.management).toBe(true);
    expect(await cliFails({}, 'acl', 'bootstrap')).toMatch(/HTTP 409/);
    const root = { VOLUMED_TOKEN: boot.secretId };

    const policy = await cli<Policy>(root, 'acl', 'policy', 'apply', 'dev-rw', '--rule', 'dev=write-volume', '--rule', 'team-*=read-volume', '--description', 'dev team');
    expect(policy.rules).toEqual([
      { namespace: 'dev', capabilities: ['write-volume'] },
      { namespace: 'team-*', capabilities: ['read-volume'] },
    ]);
    expect(await cliFails(root, 'acl', 'policy', 'apply', 'bad', '--rule', 'dev=fly')).toMatch(/unknown capability "fly"/);
    expect(await cliFails(root, 'acl', 'policy', 'apply', 'bad', '--rule', 'dev')).toMatch(/expected NAMESPACE=CAPABILITY/);
    expect((await cli<Policy[]>(root, 'acl', 'policy', 'ls')).map((p) => p.name)).toEqual(['dev-rw']);

    const issued = await cli<{ token: AclToken; secretId: string }>(root, 'acl', 'token', 'create', 'alice', '--policy', 'dev-rw');
    expect(issued.token.policies).toEqual(['dev-rw']);
    const alice = { VOLUMED_TOKEN: issued.secretId };
    const listed = await cli<AclToken[]>(root, 'acl', 'token', 'ls');
    expect(listed.map((t) => t.name).sort()).toEqual(['alice', 'bootstrap']);
    expect(JSON.stringify(listed)).not.toContain(issued.secretId);
    expect((await cli<AclToken>(alice, 'acl', 'token', 'show', 'self')).id).toBe(issued.token.id);

    const created = await cli<{ volume: Volume }>(alice, 'volume', 'create', 'mine', '--size', '1MiB', '-n', 'dev');
    expect(created.volume.namespace).toBe('dev');
    expect(await cliFails(alice, 'volume', 'create', 'theirs', '--size', '1MiB', '-n', 'prod')).toMatch(/permission denied: write-volume in namespace prod \(HTTP 403\)/);
    expect(await cliFails(alice, 'acl', 'token', 'ls')).toMatch(/management token \(HTTP 403\)/);
    // --token wins over the environment.
    expect((await cli<AclToken>(alice, '--token', boot.secretId, 'acl', 'token', 'show', 'self')).management).toBe(true);
    const help = await exec(process.execPath, [MAIN, '--help'], { env: { ...process.env, ...alice } });
    expect(help.stdout).not.toContain(issued.secretId);

    const quota = await cli<Quota>(root, 'quota', 'set', 'dev', '--volumes', '1', '--gigabytes', '-1', '--snapshots', '5');
    expect(quota).toMatchObject({ namespace: 'dev', volumes: 1, gigabytes: -1, snapshots: 5 });
    expect(await cliFails(alice, 'quota', 'set', 'dev', '--volumes', '9', '--gigabytes', '-1', '--snapshots', '5')).toMatch(/HTTP 403/);
    const shown = await cli<{ quota: Quota; usage: { volumes: number } }>(alice, 'quota', 'show', 'dev');
    expect([shown.quota.volumes, shown.usage.volumes]).toEqual([1, 1]);
    expect(await cliFails(alice, 'volume', 'create', 'second', '--size', '1MiB', '-n', 'dev')).toMatch(/quota/i);

    await cli(root, 'acl', 'token', 'rm', issued.token.id);
    expect(await cliFails(alice, 'volume', 'ls', '-n', 'dev')).toMatch(/token not found \(HTTP 401\)/);
    await cli(root, 'acl', 'policy', 'rm', 'dev-rw');
    expect(await cli<Policy[]>(root, 'acl', 'policy', 'ls')).toEqual([]);
    // Some twenty CLI runs, each a Node process start: more than the default 30 s on a loaded 2-core machine.
  }, 90_000);
});
