// Nomad's own Go client (github.com/hashicorp/nomad/api) against volumed:
// test/nomad-go/main.go, built where Go and the Go module registry are at
// hand. Skipped, saying why, where they are not (the `node` machine kind
// reaches neither; the `polyglot` kind reaches both).

import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './harness.js';

const run = promisify(execFile);
const SOURCE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../nomad-go');

/** A copy of the program with its module downloaded, or why there is none. */
async function prepare(): Promise<{ dir: string } | { reason: string }> {
  try {
    await run('go', ['version']);
  } catch {
    return { reason: 'no Go toolchain on this machine' };
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-nomad-go-'));
  await fs.cp(SOURCE, dir, { recursive: true });
  try {
    await run('go', ['mod', 'tidy'], { cwd: dir, timeout: 240_000 });
    await run('go', ['build', '-o', 'nomad-go', '.'], { cwd: dir, timeout: 240_000 });
    return { dir };
  } catch (e) {
    await fs.rm(dir, { recursive: true, force: true });
    const said = (e as { stderr?: string }).stderr?.trim().split('\n')[0] ?? (e as Error).message;
    return { reason: `github.com/hashicorp/nomad/api could not be fetched or built here: ${said}` };
  }
}

const prepared = await prepare();
if ('reason' in prepared) console.log(`skipping Nomad's Go client test: ${prepared.reason}`);

describe.skipIf('reason' in prepared)("Nomad's Go client", () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ config: 'pools:\n  - id: local\n    driver: file\n' });
  });
  afterAll(async () => {
    await s.stop();
    if ('dir' in prepared) await fs.rm(prepared.dir, { recursive: true, force: true });
  });

  it('creates, lists, reads, snapshots, deregisters, registers and deletes through api.CSIVolumes', async () => {
    if (!('dir' in prepared)) return;
    const { stdout } = await run(path.join(prepared.dir, 'nomad-go'), [], { env: { ...process.env, NOMAD_ADDR: s.url }, timeout: 120_000 });
    expect(stdout).toContain("ok: Nomad's Go client worked against volumed");
  }, 180_000);
});
