// A volumed server in a child process, as a user runs it: the built CLI, a
// temp data dir, a config file. The bench reads its RSS and may kill -9 it.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `volumed` command as installed (its entry sets the thread pool's size before Node starts it). */
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/volumed.cjs');

/** USER_HZ: what /proc counts CPU time in on Linux. */
const CLOCK_TICKS = 100;

export interface BenchServer {
  readonly url: string;
  readonly child: ChildProcess;
  /** Resident set size now, in bytes (from /proc). */
  rss(): Promise<number>;
  /**
   * CPU time the server's main thread (the event loop) has used so far, user +
   * system, in seconds, from /proc: a per-operation cost that a busy
   * neighbour on the machine changes far less than it changes rates.
   */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

/** Writes a config (rate limit off, as the measurements had it) and starts `volumed serve`. */
export async function startServer(dataDir: string, extraConfig = ''): Promise<BenchServer> {
  await fs.mkdir(dataDir, { recursive: true });
  const config = path.join(dataDir, 'bench.yaml');
  await fs.writeFile(config, `rateLimit: false\nauditLog: false\nlogLevel: warn\n${extraConfig}`);
  const child = spawn(process.execPath, [MAIN, 'serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--config', config], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${String(code)} before listening`)));
  });
  return {
    url,
    child,
    async rss() {
      const status = await fs.readFile(`/proc/${String(child.pid)}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
      return kb * 1024;
    },
    async cpuSeconds() {
      // The main thread's own line (its task id is the pid): the event loop, which bounds throughput, without the thread pool's file calls.
      const stat = await fs.readFile(`/proc/${String(child.pid)}/task/${String(child.pid)}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
