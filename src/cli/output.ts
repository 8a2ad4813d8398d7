// How CLI commands answer: a table or a record for people, JSON for scripts,
// and a progress bar on a terminal while a task runs.

import { SingleBar } from 'cli-progress';
import type { Task, Volume } from '../domain/types.js';
import { ApiError, VolumedClient } from '../client/volumed-client.js';
import { formatSize, printable, table } from './format.js';

export interface GlobalOptions {
  readonly server: string;
  readonly json: boolean;
  readonly token?: string;
}

export function client(opts: GlobalOptions): VolumedClient {
  // The env default is read here, not as a commander default, so that --help never prints a secret.
  return new VolumedClient(opts.server, opts.token ?? process.env.VOLUMED_TOKEN);
}

export function print(opts: GlobalOptions, value: unknown, human: () => string): void {
  process.stdout.write((opts.json ? JSON.stringify(value, null, 2) : human()) + '\n');
}

export function record(obj: Readonly<Record<string, unknown>>): string {
  const width = Math.max(...Object.keys(obj).map((k) => k.length));
  return Object.entries(obj)
    .map(([k, v]) => `${k.padEnd(width)}  ${v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : printable(String(v as string | number | boolean))}`)
    .join('\n');
}

export function volumeRow(v: Volume): Record<string, unknown> {
  return { id: v.id, name: v.name, size: formatSize(v.sizeBytes), status: v.status, attach: v.attachStatus, pool: v.poolId, kind: v.kind, namespace: v.namespace };
}

export const VOLUME_COLUMNS = ['id', 'name', 'size', 'status', 'attach', 'pool', 'kind', 'namespace'];

export function volumeTable(volumes: readonly Volume[]): string {
  return table(volumes.map(volumeRow), VOLUME_COLUMNS);
}

/** Follows a task to its end, with a progress bar when stderr is a terminal. Throws if it failed. */
export async function follow(opts: GlobalOptions, task: Task): Promise<Task> {
  const api = client(opts);
  const bar = process.stderr.isTTY && !opts.json ? new SingleBar({ format: `${task.operation} [{bar}] {percentage}% {state}`, stream: process.stderr, hideCursor: true }) : undefined;
  bar?.start(100, task.progress, { state: task.state });
  let current = task;
  try {
    while (current.state === 'queued' || current.state === 'running') {
      // Short waits so that progress shows while the task runs.
      const next = await api.getTask(current.id, '1s');
      if (next.progress !== current.progress || next.state !== current.state) bar?.update(next.progress, { state: next.state });
      current = next;
    }
    bar?.update(current.state === 'success' ? 100 : current.progress, { state: current.state });
  } finally {
    bar?.stop();
  }
  if (current.state === 'error') throw new ApiError(0, 'task_failed', `task ${current.id} (${current.operation}) failed: ${current.error ?? 'unknown error'}`);
  return current;
}

/** Whether this run asked for JSON (the global --json, which every command takes). */
const wantsJson = (): boolean => process.argv.slice(2).includes('--json');

/**
 * Runs a command body; an error is printed plainly on stderr, or with --json
 * as `{"error": {code, message, status}}` on stdout, and exits non-zero
 * (3 when the server cannot be reached, else 1) either way.
 */
export async function run(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    const api = e instanceof ApiError ? e : undefined;
    if (wantsJson()) {
      const error = { code: api?.code ?? 'error', message: api?.message ?? (e as Error).message, ...(api?.status ? { status: api.status } : {}) };
      process.stdout.write(JSON.stringify({ error }, null, 2) + '\n');
    } else {
      process.stderr.write(printable(api ? `error: ${api.message}${api.status ? ` (HTTP ${api.status})` : ''}` : `error: ${(e as Error).message}`) + '\n');
    }
    process.exitCode = api && api.status === 0 && api.code === 'unreachable' ? 3 : 1;
  }
}
