// The driver conformance suite (the one the file driver passes) on a `csi`
// pool whose plugin is `volumed csi-plugin` in a child process. Bytes go
// through the plugin's Node service (a loop device bind-mounted on this
// node), so this needs root; it skips elsewhere, saying why.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'vitest';
import { describeDriver } from '../../src/drivers/driver.conformance.js';
import { CsiDriver } from '../../src/drivers/csi/csi-driver.js';
import { mountsUnavailable, releaseUnder, startPlugin } from './csi-harness.js';

const missing = mountsUnavailable();
if (missing) {
  describe('Driver conformance: csi', () => {
    it.skip(`skipped: ${missing}`, () => undefined);
  });
  console.log(`csi driver conformance skipped: ${missing}`);
} else {
  describeDriver('csi (volumed csi-plugin)', async () => {
    // The conformance suite publishes to node n1.
    const plugin = await startPlugin({ alsoNodes: ['n1'] });
    const workDir = path.join(plugin.dir, 'co');
    const driver = new CsiDriver({ endpoint: plugin.endpoint, workDir, secrets: { token: 'never-logged' }, parameters: { pool: 'local' } });
    await driver.init();
    return {
      driver,
      async cleanup() {
        driver.close();
        releaseUnder(plugin.dir);
        await plugin.stop();
        await fs.rm(workDir, { recursive: true, force: true });
      },
    };
  });
}
