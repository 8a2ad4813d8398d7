// The composition root: a data directory becomes a store, pools, an image
// store and an engine. The server, the CLI and the tests all start here.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { InvalidInputError } from '../domain/errors.js';
import type { Labels, Quota } from '../domain/types.js';
import type { Driver } from '../drivers/driver.js';
import { FakeDriver } from '../drivers/fake/fake-driver.js';
import { FileDriver } from '../drivers/file/file-driver.js';
import { AclService } from '../engine/acl.js';
import { Engine } from '../engine/engine.js';
import { SecretBox } from '../security/secret-box.js';
import { PoolRegistry } from '../engine/pools.js';
import type { RunnerOptions } from '../engine/tasks/runner.js';
import { ImageStore } from '../images/image-store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';

export interface PoolConfig {
  readonly id: string;
  readonly driver: 'file' | 'fake' | 'csi';
  /** For file pools: where volumes live (default: <dataDir>/pools/<id>). */
  readonly root?: string;
  /** For csi pools: the plugin's socket (unix:///path.sock). */
  readonly endpoint?: string;
  /** For csi pools: secrets passed on every call (never shown, never logged). */
  readonly secrets?: Labels;
  /** For csi pools: CreateVolume parameters for every volume of the pool. */
  readonly parameters?: Labels;
  readonly topology?: Labels;
  readonly backendName?: string;
}

export interface OpenOptions {
  readonly dataDir: string;
  readonly pools?: readonly PoolConfig[];
  readonly runTasks?: boolean;
  readonly runner?: RunnerOptions;
  readonly quotaDefaults?: Omit<Quota, 'namespace'>;
  /** Enforce tokens and policies (off: everyone may do everything). */
  readonly acl?: boolean;
  /** Wraps each driver (fault injection in tests). */
  readonly wrapDriver?: (driver: Driver, poolId: string) => Driver;
}

export interface Volumed {
  readonly engine: Engine;
  readonly store: Store;
  readonly pools: PoolRegistry;
  readonly acl: AclService;
  readonly dataDir: string;
  close(): Promise<void>;
}

export const DEFAULT_POOLS: readonly PoolConfig[] = [{ id: 'local', driver: 'file' }];

/** A pool's driver, what the API may show of it beyond the config, and what must be closed at the end. */
interface MadeDriver {
  readonly driver: Driver;
  readonly shown?: Readonly<Record<string, unknown>>;
  readonly close?: () => void;
}

async function makeDriver(dataDir: string, config: PoolConfig): Promise<MadeDriver> {
  if (config.driver === 'fake') return { driver: new FakeDriver() };
  if (config.driver === 'csi') {
    if (!config.endpoint) throw new InvalidInputError('a csi pool needs the plugin socket', `pools.${config.id}.endpoint`);
    // Loaded only for csi pools: gRPC and its protobuf loader add a tenth of a second to every start.
    const { CsiDriver, csiWorkDir } = await import('../drivers/csi/csi-driver.js');
    const driver = new CsiDriver({ endpoint: config.endpoint, workDir: csiWorkDir(dataDir, config.id), ...(config.secrets ? { secrets: config.secrets } : {}), ...(config.parameters ? { parameters: config.parameters } : {}) });
    try {
      await driver.init();
    } catch (e) {
      driver.close();
      throw e;
    }
    // Plugin connections would keep the process alive.
    return { driver, shown: driver.describe(), close: () => driver.close() };
  }
  if (config.driver !== 'file') throw new InvalidInputError(`unknown driver ${String(config.driver)}`, `pools.${config.id}.driver`);
  const root = path.resolve(config.root ?? path.join(dataDir, 'pools', config.id));
  await fs.mkdir(root, { recursive: true });
  const driver = new FileDriver({ root });
  await driver.init();
  return { driver };
}

export async function openVolumed(options: OpenOptions): Promise<Volumed> {
  const dataDir = path.resolve(options.dataDir);
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const store = await SqliteStore.open(path.join(dataDir, 'volumed.db'));
  const closers: (() => void)[] = [];
  try {
    const images = new ImageStore(path.join(dataDir, 'images'));
    await images.init();
    const pools = new PoolRegistry(store);
    const configs = options.pools ?? DEFAULT_POOLS;
    const seen = new Set<string>();
    for (const config of configs) {
      if (seen.has(config.id)) throw new InvalidInputError(`pool ${config.id} is declared twice`, 'pools');
      seen.add(config.id);
      const { driver, shown, close } = await makeDriver(dataDir, config);
      if (close) closers.push(close);
      await pools.register({
        id: config.id,
        driver: options.wrapDriver ? options.wrapDriver(driver, config.id) : driver,
        // What the API may show of the pool: never its secrets.
        config: {
          ...(config.root ? { root: config.root } : {}),
          ...(config.backendName ? { backendName: config.backendName } : {}),
          ...(config.endpoint ? { endpoint: config.endpoint } : {}),
          ...(config.parameters ? { parameters: config.parameters } : {}),
          ...shown,
        },
        ...(config.topology ? { topology: config.topology } : {}),
      });
    }
    const engine = new Engine({
      store,
      pools,
      images,
      secrets: await SecretBox.open(dataDir),
      ...(options.runTasks !== undefined ? { runTasks: options.runTasks } : {}),
      ...(options.runner ? { runner: options.runner } : {}),
      ...(options.quotaDefaults ? { quotaDefaults: options.quotaDefaults } : {}),
    });
    return {
      engine,
      store,
      pools,
      acl: new AclService(store, options.acl ?? false),
      dataDir,
      async close() {
        await engine.stop();
        await store.close();
        for (const close of closers) close();
      },
    };
  } catch (e) {
    await store.close();
    for (const close of closers) close();
    throw e;
  }
}
