// Latency samples and their percentiles, and the timed HTTP call.

import http from 'node:http';

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export interface Summary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

export class Timings {
  readonly byName = new Map<string, number[]>();

  add(name: string, ms: number): void {
    const list = this.byName.get(name) ?? [];
    list.push(ms);
    this.byName.set(name, list);
  }

  summary(): Record<string, Summary> {
    const out: Record<string, Summary> = {};
    for (const [name, list] of this.byName) {
      const sorted = [...list].sort((a, b) => a - b);
      out[name] = { count: list.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: list.reduce((a, b) => a + b, 0) / list.length };
    }
    return out;
  }
}

/**
 * Node's own HTTP client with kept-alive connections: undici's fetch, timed
 * the same way, added ~0.3 ms at the median and ~1.5 ms at p99 of its own to
 * a list page here, and its CPU shares the cores with the server.
 */
const agent = new http.Agent({ keepAlive: true });

function request(url: string, method: string, body: string | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * One HTTP call, timed to the last byte of the answer (parsing it is the
 * client's work, not the server's latency); a non-2xx answer is an error
 * (the bench counts none).
 */
export async function call<T>(t: Timings, name: string, url: string, method = 'GET', body?: unknown): Promise<T> {
  const start = performance.now();
  const res = await request(url, method, body !== undefined ? JSON.stringify(body) : undefined);
  t.add(name, performance.now() - start);
  const json = JSON.parse(res.text) as T;
  if (res.status < 200 || res.status > 299) throw new Error(`${name}: HTTP ${String(res.status)} ${res.text}`);
  return json;
}
