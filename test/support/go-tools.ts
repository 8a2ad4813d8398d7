// Builds the ecosystems' own Go clients and conformance tools that the
// end-to-end tests drive (Nomad's api package, csi-sanity), each from its
// module under test/ with the versions pinned in its go.mod and go.sum, from
// the Go module proxy. Go's own module and build caches make a second build
// quick. Where Go is missing, a developer's run skips, saying why; in CI
// (CI=true) a tool that cannot be built fails the run instead.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const TEST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD_TIMEOUT_MS = 600_000;

export type GoTool = { readonly bin: string; readonly version: string; remove(): Promise<void> } | { readonly reason: string };

/** The version go.mod pins for a module path. */
async function pinned(moduleDir: string, modulePath: string): Promise<string> {
  const { stdout } = await run('go', ['list', '-mod=readonly', '-m', '-f', '{{.Version}}', modulePath], { cwd: moduleDir, timeout: BUILD_TIMEOUT_MS });
  return stdout.trim();
}

/**
 * Builds `pkg` (a package path, or '.') of the module in test/<module> into
 * a temp dir. `modulePath` names the module whose pinned version is reported.
 */
export async function buildGoTool(module: string, pkg: string, modulePath: string): Promise<GoTool> {
  const moduleDir = path.join(TEST_DIR, module);
  const refuse = (reason: string): GoTool => {
    if (process.env.CI) throw new Error(`CI must run ${module}, but: ${reason}`);
    return { reason };
  };
  try {
    await run('go', ['version']);
  } catch {
    return refuse('no Go toolchain on this machine (go is not on PATH)');
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `volumed-${module}-`));
  const bin = path.join(dir, module);
  try {
    // -mod=readonly: go.mod and go.sum are the pins; a build never rewrites them.
    await run('go', ['build', '-mod=readonly', '-o', bin, pkg], { cwd: moduleDir, timeout: BUILD_TIMEOUT_MS });
    const version = await pinned(moduleDir, modulePath);
    return { bin, version, remove: () => fs.rm(dir, { recursive: true, force: true }) };
  } catch (e) {
    await fs.rm(dir, { recursive: true, force: true });
    const said = (e as { stderr?: string }).stderr?.trim().split('\n').slice(0, 3).join(' ') || (e as Error).message;
    return refuse(`${modulePath} could not be fetched or built: ${said}`);
  }
}
