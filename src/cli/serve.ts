// `volumed serve`: config → data dir → engine (recovery first) → HTTP listener.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pino } from 'pino';
import { openVolumed, type Volumed } from '../app/open.js';
import { NotFoundError } from '../domain/errors.js';
import { buildServer } from '../api/server.js';
import { ConfigError, isLoopback, loadConfig, type ConfigOverrides, type ServerConfig } from '../config/config.js';

/** One server per data dir: SQLite is embedded, and task recovery assumes it owns every running task. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lock = path.join(dataDir, 'volumed.pid');
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    const pid = Number(await fs.readFile(lock, 'utf8'));
    if (pid && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        throw new Error(`data dir ${dataDir} is in use by volumed pid ${pid}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await fs.writeFile(lock, String(process.pid));
  return () => fs.rm(lock, { force: true });
}

async function syncTypes(volumed: Volumed, config: ServerConfig): Promise<void> {
  for (const t of config.types) {
    const existing = await volumed.engine.getType(t.name).catch((e: unknown) => {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    });
    const fields = { description: t.description ?? '', extraSpecs: t.extraSpecs ?? {} };
    if (existing) await volumed.engine.updateType(existing.id, fields);
    else await volumed.engine.createType({ name: t.name, ...fields });
  }
}

export async function serve(flags: ConfigOverrides): Promise<void> {
  const config = await loadConfig(flags);
  const logger = pino({ level: config.logLevel, base: { service: 'volumed' } });
  // Read before anything is opened, so that a wrong path stops the start cleanly.
  const tls = config.tls ? { cert: await readTlsFile(config.tls.cert, 'tls.cert'), key: await readTlsFile(config.tls.key, 'tls.key') } : undefined;
  const unlock = await lockDataDir(config.dataDir);
  const volumed = await openVolumed({
    dataDir: config.dataDir,
    acl: config.acl,
    pools: config.pools,
    runner: { ...(config.taskConcurrency !== undefined ? { concurrency: config.taskConcurrency } : {}), logger: (msg, fields) => logger.info(fields ?? {}, msg) },
    ...(config.quotaDefaults ? { quotaDefaults: config.quotaDefaults } : {}),
  });
  await syncTypes(volumed, config);
  const recovery = await volumed.engine.start();
  if (recovery.resumed.length || recovery.failed.length || recovery.rolledBack.length) logger.warn(recovery, 'recovered work interrupted by the last stop');
  void reportOrphansWhenSettled(volumed, recovery.resumed, logger);

  // The version the APIs report (Nomad's plugin and volume Version): package.json beside dist/.
  const { version } = JSON.parse(await fs.readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const app = await buildServer(volumed, { logger, version, ...(tls ? { tls } : {}), rateLimit: config.rateLimit, auditLog: config.auditLog, ...(config.keystone ? { keystone: config.keystone } : {}) });
  const address = await app.listen({ host: config.host, port: config.port });
  logger.info({ address, dataDir: config.dataDir, pools: volumed.pools.ids(), acl: config.acl }, 'volumed listening');
  if (!config.acl && !isLoopback(config.host)) logger.warn('ACLs are off on a non-loopback address (--insecure-no-acl)');
  process.stdout.write(`volumed listening on ${address} (data dir ${config.dataDir})\n`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await app.close();
    await volumed.close();
    await unlock();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

async function readTlsFile(file: string, key: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    throw new ConfigError(`${key}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Orphans are judged once resumed work has ended (a resumed create's file has no record yet). */
async function reportOrphansWhenSettled(volumed: Volumed, resumed: readonly string[], logger: pino.Logger): Promise<void> {
  try {
    for (const id of resumed) await volumed.engine.waitForTask(id, 10 * 60_000);
    const orphans = await volumed.engine.reportOrphans();
    if (orphans.length) logger.warn({ orphans }, 'storage objects without a volume record (left in place)');
  } catch (err) {
    logger.warn({ err }, 'orphan report failed');
  }
}
