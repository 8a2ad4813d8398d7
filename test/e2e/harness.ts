// Starts the built server (dist/) as a child process on a free port with a
// temp data dir, and removes everything again, also when a test fails.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `volumed` command as installed (bin/volumed.cjs loads dist/cli/main.js). */
export const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/volumed.cjs');

export interface RunningServer {
  readonly url: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  readonly stderr: () => string;
  /** Everything the server wrote (its log), for checks that nothing leaked. */
  readonly output: () => string;
  api<T = unknown>(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T; headers: Headers }>;
  stop(): Promise<void>;
}

export async function startServer(options: { config?: string; env?: Record<string, string>; args?: readonly string[] } = {}): Promise<RunningServer> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first (npm test does)`);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-e2e-'));
  const args = [MAIN, 'serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...(options.args ?? [])];
  if (options.config !== undefined) {
    const file = path.join(dataDir, 'volumed.yaml');
    await fs.writeFile(file, options.config.replaceAll('$DATA', dataDir));
    args.push('--config', file);
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VOLUMED_LOG_LEVEL: 'warn', ...options.env } });
  let err = '';
  let out = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /volumed listening on (https?:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  }).catch(async (e: unknown) => {
    await fs.rm(dataDir, { recursive: true, force: true });
    throw e;
  });
  return {
    url,
    dataDir,
    child,
    stderr: () => err,
    output: () => out + err,
    async api<T>(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}) {
      const res = await fetch(url + urlPath, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON (metrics, docs)
      }
      return { status: res.status, body: parsed as T, headers: res.headers };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
