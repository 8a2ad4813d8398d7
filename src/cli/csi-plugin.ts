// `volumed csi-plugin`: serves CSI on a unix socket, backed by an engine in
// this process (--data-dir, with the pools of --config) or by a running
// volumed (--server, --token).

import * as fs from 'node:fs/promises';
import { openVolumed } from '../app/open.js';
import { EngineBackend, HttpBackend, type CsiBackend } from '../api/csi/backend.js';
import { startCsiPlugin } from '../api/csi/index.js';
import { loadConfig } from '../config/config.js';
import { lockDataDir } from './serve.js';

export interface CsiPluginFlags {
  readonly endpoint: string;
  readonly nodeId: string;
  readonly otherNodes: readonly string[];
  readonly dataDir?: string;
  readonly config?: string;
  readonly server?: string;
  readonly token?: string;
}

export async function runCsiPlugin(flags: CsiPluginFlags): Promise<void> {
  if ((flags.dataDir === undefined) === (flags.server === undefined)) throw new Error('give --data-dir DIR (embedded engine) or --server URL (a running volumed), one of them');
  const { version } = JSON.parse(await fs.readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  let backend: CsiBackend;
  let unlock = async (): Promise<void> => undefined;
  if (flags.dataDir !== undefined) {
    const config = await loadConfig({ dataDir: flags.dataDir, ...(flags.config ? { config: flags.config } : {}) });
    unlock = await lockDataDir(config.dataDir);
    const volumed = await openVolumed({ dataDir: config.dataDir, pools: config.pools, ...(config.quotaDefaults ? { quotaDefaults: config.quotaDefaults } : {}) });
    await volumed.engine.start();
    backend = new EngineBackend(volumed);
  } else {
    backend = new HttpBackend(flags.server ?? '', flags.token ?? process.env.VOLUMED_TOKEN);
  }
  const plugin = await startCsiPlugin({ endpoint: flags.endpoint, nodeId: flags.nodeId, otherNodes: flags.otherNodes, backend, version, log: (m) => process.stderr.write(`${m}\n`) });
  process.stdout.write(`volumed csi-plugin serving on ${plugin.address} (node ${flags.nodeId})\n`);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await plugin.close();
    await unlock();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}
