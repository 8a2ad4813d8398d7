// csi-sanity, the CSI community's conformance suite (kubernetes-csi/csi-test,
// built from test/csi-sanity at the version its go.mod pins), against
// `volumed csi-plugin` in both of its modes: its own engine and data dir, and
// --server in front of a running volumed. The node specs stage and publish on
// real mounts (access type mount) and loop devices (access type block); after
// each run nothing it mounted or attached is left.

import { execFile } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGoTool } from '../support/go-tools.js';
import { mountsUnavailable, startPlugin, type RunningPlugin } from './csi-harness.js';
import { startServer, type RunningServer } from './harness.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const CSI_TEST = 'github.com/kubernetes-csi/csi-test/v5';

/**
 * Specs skipped by name, each with why: only where the suite itself is at
 * fault (a capability newer than the spec it vendors). With csi-test v5.6.0
 * there are none; an entry here is printed with its reason on every run.
 */
const SKIPPED_SPECS: readonly { readonly spec: string; readonly why: string }[] = [];

const missing = mountsUnavailable();
const tool = missing ? { reason: missing } : await buildGoTool('csi-sanity', `${CSI_TEST}/cmd/csi-sanity`, CSI_TEST);
const skip = 'reason' in tool ? tool.reason : undefined;
if (skip) console.log(`skipping csi-sanity: ${skip}`);
else if ('version' in tool) console.log(`csi-sanity from ${CSI_TEST} ${tool.version}`);

interface Summary {
  readonly line: string;
  readonly passed: number;
  readonly failed: number;
}

/** Runs the suite against one endpoint and returns its closing counts. */
async function sanity(bin: string, endpoint: string, workDir: string, accessType: 'mount' | 'block'): Promise<Summary> {
  const args = [
    `-csi.endpoint=${endpoint}`,
    `-csi.mountdir=${path.join(workDir, `sanity-${accessType}-target`)}`,
    `-csi.stagingdir=${path.join(workDir, `sanity-${accessType}-staging`)}`,
    `-csi.testvolumeaccesstype=${accessType}`,
    // Small sparse volumes: 2 MiB, grown to 4 MiB by the expand specs.
    `-csi.testvolumesize=${2 * MiB}`,
    `-csi.testvolumeexpandsize=${4 * MiB}`,
    '-ginkgo.no-color',
    ...(SKIPPED_SPECS.length ? [`-ginkgo.skip=${SKIPPED_SPECS.map((s) => s.spec).join('|')}`] : []),
  ];
  for (const s of SKIPPED_SPECS) console.log(`csi-sanity: skipping "${s.spec}": ${s.why}`);
  const out = await run(bin, args, { timeout: 300_000, maxBuffer: 64 * MiB }).then(
    (r) => r.stdout + r.stderr,
    (e: { stdout?: string; stderr?: string }) => (e.stdout ?? '') + (e.stderr ?? ''),
  );
  const m = /(\d+) Passed \| (\d+) Failed/.exec(out);
  if (!m) throw new Error(`csi-sanity printed no summary:\n${out.slice(-4000)}`);
  const summary = { line: out.split('\n').find((l) => l.includes(m[0])) ?? m[0], passed: Number(m[1]), failed: Number(m[2]) };
  console.log(`csi-sanity (${accessType}, ${endpoint}): ${summary.line.trim()}`);
  if (summary.failed > 0) console.log(out.slice(out.indexOf('Summarizing')));
  return summary;
}

/** Mounts under a dir and loop devices over files in it: none may be left after a run. */
function leftUnder(dir: string): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(dir + path.sep));
  const loops = execFileSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(dir + path.sep));
  return [...mounts, ...loops];
}

describe.skipIf(skip !== undefined)('csi-sanity against volumed csi-plugin', () => {
  const bin = 'bin' in tool ? tool.bin : '';
  afterAll(async () => {
    if ('remove' in tool) await tool.remove();
  });

  describe('with its own engine (--data-dir)', () => {
    let plugin: RunningPlugin;
    beforeAll(async () => {
      plugin = await startPlugin();
    });
    afterAll(async () => {
      await plugin.stop();
    });

    for (const accessType of ['mount', 'block'] as const) {
      it(`passes every spec with ${accessType} volumes`, async () => {
        const s = await sanity(bin, plugin.endpoint, plugin.dir, accessType);
        expect(s.failed, s.line).toBe(0);
        expect(s.passed).toBeGreaterThanOrEqual(80);
        expect(leftUnder(plugin.dir)).toEqual([]);
      }, 300_000);
    }
  });

  describe('in front of a running volumed (--server)', () => {
    let server: RunningServer;
    let plugin: RunningPlugin;
    beforeAll(async () => {
      server = await startServer({ config: 'pools:\n  - { id: local, driver: file }\n' });
      plugin = await startPlugin({ server: server.url, nodeId: 'sanity-node' });
    });
    afterAll(async () => {
      await plugin.stop();
      await server.stop();
    });

    for (const accessType of ['mount', 'block'] as const) {
      it(`passes every spec with ${accessType} volumes`, async () => {
        const s = await sanity(bin, plugin.endpoint, plugin.dir, accessType);
        expect(s.failed, s.line).toBe(0);
        expect(s.passed).toBeGreaterThanOrEqual(80);
        expect([...leftUnder(plugin.dir), ...leftUnder(server.dataDir)]).toEqual([]);
        // Every volume and snapshot the suite made it also deleted, through the API.
        const volumes = await server.api<{ volumes: unknown[] }>('GET', '/api/v1/volumes');
        expect(volumes.body.volumes).toEqual([]);
      }, 300_000);
    }
  });
});
