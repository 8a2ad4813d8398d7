#!/usr/bin/env node
// A process that only runs tasks: it recovers what a previous run left, runs
// queued tasks until stopped, and prints one JSON line per report. Used for
// manual checks and by the crash test, which kills it with SIGKILL.
//
//   node dist-test/test/crash/worker.js --data-dir DIR [--pools local,fast] [--latency-ms N]

import { parseArgs } from 'node:util';
import { openVolumed } from '../../src/app/open.js';
import { withLatency } from '../support/latency.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    pools: { type: 'string', default: 'local' },
    'latency-ms': { type: 'string', default: '0' },
    concurrency: { type: 'string', default: '4' },
  },
});

const dataDir = values['data-dir'];
if (!dataDir) {
  process.stderr.write('engine-worker: --data-dir is required\n');
  process.exit(2);
}
const latency = Number(values['latency-ms']);
const print = (report: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(report) + '\n');

const volumed = await openVolumed({
  dataDir,
  pools: (values.pools ?? 'local').split(',').map((id) => ({ id, driver: 'file' as const })),
  runner: { pollMs: 50, concurrency: Number(values.concurrency) },
  ...(latency > 0 ? { wrapDriver: (d) => withLatency(d, latency) } : {}),
});
const recovery = await volumed.engine.start();
print({ event: 'recovered', ...recovery });

const stop = async (): Promise<void> => {
  await volumed.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
