// The node's mount table and loop devices, through the system's own tools
// (mount, umount, losetup): what the Node service stages and publishes with.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BackendError } from '../../domain/errors.js';

const exec = promisify(execFile);

async function run(cmd: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await exec(cmd, [...args], { timeout: 60_000 });
    return stdout.trim();
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new BackendError(`${cmd} ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`, { transient: false });
  }
}

/** mountinfo escapes spaces and the like as octal. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** Whether something is mounted at exactly this path. */
export async function isMountPoint(target: string): Promise<boolean> {
  const table = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const want = path.resolve(target);
  return table.split('\n').some((line) => unescape(line.split(' ')[4] ?? '') === want);
}

export async function bindMount(source: string, target: string, readonly: boolean): Promise<void> {
  await run('mount', ['--bind', source, target]);
  if (readonly) await run('mount', ['-o', 'remount,bind,ro', target]);
}

/** Unmounts every layer at the path (a target may have been bound twice by a retried call). */
export async function unmountAll(target: string): Promise<void> {
  while (await isMountPoint(target)) await run('umount', [target]);
}

/** The loop device already backed by this file, if any. */
export async function loopFor(backing: string): Promise<string | undefined> {
  const out = await run('losetup', ['--associated', backing]);
  return /^(\/dev\/loop\d+):/.exec(out)?.[1];
}

export async function attachLoop(backing: string, readonly: boolean): Promise<string> {
  return (await loopFor(backing)) ?? run('losetup', ['--find', '--show', ...(readonly ? ['--read-only'] : []), backing]);
}

export async function detachLoop(device: string): Promise<void> {
  const listed = await run('losetup', ['--list', '--noheadings', '--output', 'NAME']);
  if (listed.split('\n').some((l) => l.trim() === device)) await run('losetup', ['--detach', device]);
}

/** Tells the loop device its file has grown. */
export async function refreshLoop(device: string): Promise<void> {
  await run('losetup', ['--set-capacity', device]);
}

export async function blockSize(device: string): Promise<number> {
  return Number(await run('blockdev', ['--getsize64', device]));
}
