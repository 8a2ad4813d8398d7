// Nomad's own Go client (github.com/hashicorp/nomad/api, pinned in
// test/nomad-go/go.mod) against volumed: test/nomad-go/main.go walks every
// api.CSIVolumes and api.CSIPlugins call the surface serves and checks the
// decoded values. Built with Go from the module proxy; a developer's machine
// without Go skips, saying why; CI never does.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGoTool } from '../support/go-tools.js';
import { startServer, type RunningServer } from './harness.js';

const run = promisify(execFile);
const NOMAD_API = 'github.com/hashicorp/nomad/api';

const tool = await buildGoTool('nomad-go', '.', NOMAD_API);
if ('reason' in tool) console.log(`skipping Nomad's Go client test: ${tool.reason}`);
else console.log(`Nomad's Go client: ${NOMAD_API} ${tool.version}`);

describe.skipIf('reason' in tool)("Nomad's Go client", () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ config: 'pools:\n  - { id: local, driver: file }\n  - { id: spare, driver: file }\n' });
  });
  afterAll(async () => {
    await s.stop();
    if ('remove' in tool) await tool.remove();
  });

  it('walks api.CSIVolumes and api.CSIPlugins, checking every decoded answer', async () => {
    if (!('bin' in tool)) return;
    const result = await run(tool.bin, [], { env: { ...process.env, NOMAD_ADDR: s.url }, timeout: 120_000 }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
    console.log(result.stdout.trim());
    expect(result.stderr.trim()).toBe('');
    expect(result.stdout).toMatch(/ok: Nomad's Go client worked against volumed \(\d+ steps\)/);
  }, 180_000);
});
