// create → available throughput: `POST /api/v1/volumes?wait=true` with 1 GiB
// sparse volumes, at several concurrencies, driven by autocannon. A create
// counts only when its answer says the task succeeded.

import autocannon from 'autocannon';

export interface CreateRun {
  readonly concurrency: number;
  readonly seconds: number;
  readonly created: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Connection errors, non-2xx answers and 2xx answers whose task did not succeed. */
  readonly errors: number;
  /** Server event-loop CPU (user + system) per create, in milliseconds. */
  readonly serverCpuMsPerCreate: number;
}

const GiB = 1024 ** 3;

export async function createSweep(base: string, concurrencies: readonly number[], seconds: number, serverCpu: () => Promise<number>): Promise<CreateRun[]> {
  const runs: CreateRun[] = [];
  for (const concurrency of concurrencies) {
    // A second of the same load first, not counted: a fresh server compiles its hot paths then.
    await autocannon({
      url: `${base}/volumes?wait=true`,
      connections: concurrency,
      duration: 1,
      requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'warm-up', sizeBytes: GiB, pool: 'local', namespace: 'bench-warm-up' }) }],
    });
    let succeeded = 0;
    let failed = 0;
    const cpuBefore = await serverCpu();
    const result = await autocannon({
      url: `${base}/volumes?wait=true`,
      connections: concurrency,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: `bench-c${String(concurrency)}`, sizeBytes: GiB, pool: 'local', namespace: `bench-c${String(concurrency)}` }),
          onResponse: (status, body) => {
            if (status === 201 && body.includes('"state":"success"')) succeeded++;
            else failed++;
          },
        },
      ],
    });
    const cpu = (await serverCpu()) - cpuBefore;
    runs.push({
      concurrency,
      serverCpuMsPerCreate: succeeded ? (cpu * 1000) / succeeded : NaN,
      seconds: result.duration,
      created: succeeded,
      perSecond: succeeded / result.duration,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      errors: failed + result.errors + result.timeouts,
    });
  }
  return runs;
}
