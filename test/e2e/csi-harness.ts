// Starts `volumed csi-plugin` (the built one) on a socket in a temp dir, and
// cleans up after it: the process, every mount and loop device under the
// temp dir (also when a test failed half-way), and the dir.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAIN } from './harness.js';

export interface RunningPlugin {
  readonly endpoint: string;
  readonly dir: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** Why mount and loop-device tests cannot run here, or undefined when they can. */
export function mountsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: bind mounts and loop devices need root (CI runs as root)';
  try {
    execFileSync('losetup', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'losetup is not installed';
  }
  if (!existsSync('/dev/loop-control')) return 'no /dev/loop-control: this kernel offers no loop devices';
  return undefined;
}

/** Unmounts everything mounted under `dir` (deepest first) and detaches loop devices over files in it. */
export function releaseUnder(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m.startsWith(dir + path.sep))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) execFileSync('umount', ['-l', m], { stdio: 'ignore' });
  const loops = execFileSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' });
  for (const line of loops.split('\n')) {
    const [name, back] = line.trim().split(/\s+/, 2);
    if (name && back?.startsWith(dir + path.sep)) execFileSync('losetup', ['--detach', name], { stdio: 'ignore' });
  }
}

export async function startPlugin(options: { nodeId?: string; alsoNodes?: readonly string[]; server?: string; token?: string; config?: string } = {}): Promise<RunningPlugin> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-csi-'));
  const endpoint = `unix://${path.join(dir, 'csi.sock')}`;
  const args = [MAIN, ...(options.server ? ['--server', options.server] : []), 'csi-plugin', '--endpoint', endpoint, '--node-id', options.nodeId ?? 'node-1'];
  for (const node of options.alsoNodes ?? []) args.push('--also-node', node);
  if (!options.server) args.push('--data-dir', path.join(dir, 'data'));
  if (options.config) {
    const file = path.join(dir, 'plugin.yaml');
    await fs.writeFile(file, options.config.replaceAll('$DIR', dir));
    args.push('--config', file);
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VOLUMED_LOG_LEVEL: 'warn', ...(options.token ? { VOLUMED_TOKEN: options.token } : {}) } });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const cleanup = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (process.getuid?.() === 0) releaseUnder(dir);
    await fs.rm(dir, { recursive: true, force: true });
  };
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (/serving on/.test(out)) resolve();
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => reject(new Error(`csi-plugin exited with ${code}: ${out}`)));
  }).catch(async (e: unknown) => {
    await cleanup();
    throw e;
  });
  return { endpoint, dir, child, output: () => out, stop: cleanup };
}
