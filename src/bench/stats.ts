// Latency samples and their percentiles.

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
 * One HTTP call, timed to the last byte of the answer (parsing it is the
 * client's work, not the server's latency); a non-2xx answer is an error
 * (the bench counts none).
 */
export async function call<T>(t: Timings, name: string, url: string, method = 'GET', body?: unknown): Promise<T> {
  const start = performance.now();
  const res = await fetch(url, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  t.add(name, performance.now() - start);
  const json = JSON.parse(text) as T;
  if (!res.ok) throw new Error(`${name}: HTTP ${String(res.status)} ${JSON.stringify(json)}`);
  return json;
}
