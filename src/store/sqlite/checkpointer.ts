// WAL checkpoints on a thread of their own. SQLite copies the log back into
// the database file at the end of whichever commit crosses its threshold, and
// that copy ends with an fsync: on the event loop it stalled every request for
// 10-15 ms (5% of commits under load, 60% of the time spent committing). A
// worker with its own connection runs passive checkpoints instead, which never
// block the writer; the writer's automatic checkpoint is then turned off.
//
// The log starts over only when a write begins with all of it copied back,
// which steady writes never allow: once it has grown past LOG_LIMIT_PAGES the
// store holds its next commit until the worker has caught up (the event loop
// stays free meanwhile), and that commit restarts the log.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the worker copies what the log holds into the database file. */
export const CHECKPOINT_EVERY_MS = 100;
/** Pages (4 KiB) the log may hold before a commit waits for a checkpoint. */
export const LOG_LIMIT_PAGES = 4096;
/** A checkpoint held back by a reader never holds commits longer than this. */
const MAX_HOLD_MS = 1000;

// CommonJS evaluated in the worker: the same better-sqlite3 the store uses, by absolute path.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const step = () => {
  // A checkpoint that fails (the database busy past the timeout) is tried again at the next tick.
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ log: r.log, checkpointed: r.checkpointed });
  } catch {}
};
let timer = setInterval(step, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m === 'now') {
    clearInterval(timer);
    step();
    timer = setInterval(step, workerData.intervalMs);
  } else if (m === 'stop') {
    clearInterval(timer);
    db.close();
    parentPort.postMessage({ stopped: true });
  }
});
parentPort.postMessage({ started: true });
`;

interface Report {
  readonly started?: boolean;
  readonly stopped?: boolean;
  readonly log?: number;
  readonly checkpointed?: number;
}

export interface Checkpointer {
  /** Resolves at once, or once a checkpoint has caught up with a log grown past its limit. */
  beforeCommit(): Promise<void> | undefined;
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  readonly logLimitPages?: number;
  readonly everyMs?: number;
  /** The worker has gone (it failed, or was stopped): the writer must checkpoint again itself. */
  readonly onGone?: () => void;
}

/** Starts checkpointing `file` off the event loop; resolves once the worker's connection is open. */
export async function startCheckpointer(file: string, options: CheckpointerOptions = {}): Promise<Checkpointer> {
  const logLimitPages = options.logLimitPages ?? LOG_LIMIT_PAGES;
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, file, intervalMs: options.everyMs ?? CHECKPOINT_EVERY_MS } });
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: Report): void => {
      if (!m.started) return;
      worker.off('message', onMessage);
      worker.off('error', reject);
      resolve();
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
  let logPages = 0;
  let caughtUp: (() => void) | undefined;
  worker.on('message', (m: Report) => {
    if (m.log === undefined) return;
    logPages = m.log;
    if (caughtUp && m.checkpointed === m.log) {
      caughtUp();
      caughtUp = undefined;
      // The commit about to run starts the log over.
      logPages = 0;
    }
  });
  let waiting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let gone = false;
  const onGone = (): void => {
    if (gone) return;
    gone = true;
    caughtUp?.();
    options.onGone?.();
  };
  // A worker that throws exits; 'exit' below hands checkpoints back to the writer.
  worker.on('error', () => undefined);
  worker.once('exit', onGone);
  // A process with nothing else to do may exit; the store's close stops the worker in order.
  worker.unref();
  const stop = async (): Promise<void> => {
    caughtUp?.();
    // Held open until the worker has closed its connection.
    worker.ref();
    const stopped = new Promise<void>((resolve) => {
      worker.on('message', (m: Report) => {
        if (m.stopped) resolve();
      });
      worker.once('exit', () => resolve());
    });
    worker.postMessage('stop');
    await stopped;
    await worker.terminate();
  };
  return {
    beforeCommit() {
      if (logPages < logLimitPages || stopping || gone) return undefined;
      waiting ??= new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, MAX_HOLD_MS);
        caughtUp = () => {
          clearTimeout(timer);
          resolve();
        };
        worker.postMessage('now');
      }).finally(() => {
        caughtUp = undefined;
        waiting = undefined;
      });
      return waiting;
    },
    stop: () => (stopping ??= stop()),
  };
}
