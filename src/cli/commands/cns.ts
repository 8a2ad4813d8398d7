// `volumed cns <method> <file>`: submits a CNS batch (the method's
// RequestType, as YAML or JSON) over VI/JSON, as a vCenter script would:
// logs in, posts the specs, follows the Task with a progress bar, and prints
// one row per spec (its volume, and ok or the fault that names it).

import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { parse as parseYaml } from 'yaml';
import { table } from '../format.js';
import { print, run, type GlobalOptions } from '../output.js';
import { CnsSession, type VimObject } from '../cns-session.js';

const ALIASES: Readonly<Record<string, string>> = {
  create: 'CnsCreateVolume',
  delete: 'CnsDeleteVolume',
  attach: 'CnsAttachVolume',
  detach: 'CnsDetachVolume',
  extend: 'CnsExtendVolume',
  'update-metadata': 'CnsUpdateVolumeMetadata',
  'configure-acls': 'CnsConfigureVolumeACLs',
  'create-snapshots': 'CnsCreateSnapshots',
  'delete-snapshots': 'CnsDeleteSnapshots',
  'reconfig-policy': 'CnsReconfigVolumePolicy',
  relocate: 'CnsRelocateVolume',
  query: 'CnsQueryVolume',
  'query-all': 'CnsQueryAllVolume',
  'query-async': 'CnsQueryAsync',
  'query-info': 'CnsQueryVolumeInfo',
};
const SYNC = new Set(['CnsQueryVolume', 'CnsQueryAllVolume']);

interface CnsOptions extends GlobalOptions {
  readonly user?: string;
  readonly release: string;
  readonly wait: boolean;
  readonly progress?: boolean;
}

async function readRequest(file: string): Promise<VimObject> {
  const text = file === '-' ? await new Promise<string>((resolve, reject) => {
    let data = '';
    process.stdin.setEncoding('utf8').on('data', (c: string) => (data += c)).on('end', () => resolve(data)).on('error', reject);
  }) : await readFile(file, 'utf8');
  let body: unknown;
  try {
    body = parseYaml(text);
  } catch (e) {
    throw new Error(`${file}: not valid YAML or JSON: ${(e as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error(`${file}: must hold the method's request object (e.g. { createSpecs: [...] })`);
  return body as VimObject;
}

/** A MethodFault's first message (VI/JSON faults carry them in faultMessage). */
const faultText = (fault: VimObject | undefined): string => {
  const first = (fault?.faultMessage as { message?: unknown }[] | undefined)?.[0]?.message;
  return typeof first === 'string' ? first : '';
};

function detailOf(r: VimObject): string {
  if (r.fault) return faultText(r.fault as VimObject);
  const bits: string[] = [];
  if (typeof r.name === 'string') bits.push(`name=${r.name}`);
  const placed = (r.placementResults as { datastore?: { value?: string } }[] | undefined)?.[0]?.datastore?.value;
  if (placed) bits.push(`datastore=${placed}`);
  if (typeof r.diskUUID === 'string') bits.push(`diskUUID=${r.diskUUID}`);
  const snap = (r.snapshot as { snapshotId?: { id?: string } } | undefined)?.snapshotId?.id ?? (r.snapshotId as { id?: string } | undefined)?.id;
  if (snap) bits.push(`snapshot=${snap}`);
  const found = (r.queryResult as { cursor?: { totalRecords?: number } } | undefined)?.cursor?.totalRecords;
  if (found !== undefined) bits.push(`${found} volume(s) matched`);
  return bits.join(' ');
}

function resultTable(info: VimObject): { text: string; failed: number } {
  const results = ((info.result as VimObject | undefined)?.volumeResults ?? []) as VimObject[];
  const rows = results.map((r, i) => ({
    '#': i,
    volume: (r.volumeId as { id?: string } | undefined)?.id || '-',
    result: r.fault ? String((r.fault as VimObject)._typeName ?? 'fault') : 'ok',
    detail: detailOf(r),
  }));
  const failed = rows.filter((r) => r.result !== 'ok').length;
  const summary = `task ${String((info.task as VimObject | undefined)?.value ?? info.key)} ${String(info.state)}: ${rows.length - failed} ok, ${failed} failed`;
  const whole = info.error ? `\n${faultText(info.error as VimObject)}` : '';
  return { text: `${table(rows, ['#', 'volume', 'result', 'detail'])}\n${summary}${whole}`, failed };
}

function volumesTable(result: VimObject): string {
  const volumes = (result.volumes ?? []) as VimObject[];
  const rows = volumes.map((v) => ({
    id: (v.volumeId as { id?: string } | undefined)?.id,
    name: v.name,
    type: v.volumeType,
    'capacity(MB)': (v.backingObjectDetails as { capacityInMb?: number } | undefined)?.capacityInMb,
    datastore: typeof v.datastoreUrl === 'string' ? v.datastoreUrl.replace(/^ds:\/\/\/volumed\/pools\/|\/$/g, '') : undefined,
    policy: v.storagePolicyId || '-',
    compliance: v.complianceStatus,
    health: v.healthStatus,
  }));
  const cursor = (result.cursor ?? {}) as { offset?: number; totalRecords?: number };
  return `${table(rows, ['id', 'name', 'type', 'capacity(MB)', 'datastore', 'policy', 'compliance', 'health'])}\n${rows.length} of ${cursor.totalRecords ?? rows.length} (next offset ${cursor.offset ?? rows.length})`;
}

async function follow(session: CnsSession, ref: VimObject, method: string, showBar: boolean): Promise<VimObject> {
  const bar = showBar ? new SingleBar({ format: `${method} [{bar}] {percentage}% {state}`, stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 200 }) : undefined;
  bar?.start(100, 0, { state: 'queued' });
  try {
    for (;;) {
      const info = await session.taskInfo(String(ref.value));
      const state = String(info.state);
      const done = state === 'success' || state === 'error';
      bar?.update(done ? 100 : Number(info.progress ?? 0), { state });
      if (done) return info;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    bar?.stop();
  }
}

export function cnsCommand(): Command {
  return new Command('cns')
    .description(`submit a CNS batch over VI/JSON (methods: ${Object.keys(ALIASES).join(', ')}, or their Cns... names)`)
    .argument('<method>', 'e.g. create, attach, query, or CnsCreateVolume')
    .argument('<file>', "the method's request as YAML or JSON (e.g. { createSpecs: [...] }); - reads stdin")
    .option('--user <name>', 'the VI/JSON login name (default $VOLUMED_CNS_USER or $USER)')
    .option('--release <release>', 'VI/JSON API release in the URL', '8.0.3.0')
    .option('--no-wait', 'print the Task reference and return')
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .action(async (method: string, file: string, _o: unknown, cmd: Command) => {
      await run(async () => {
        const opts = cmd.optsWithGlobals<CnsOptions>();
        const name = ALIASES[method] ?? method;
        if (!Object.values(ALIASES).includes(name)) throw new Error(`unknown CNS method ${method}: use one of ${Object.keys(ALIASES).join(', ')}`);
        const body = await readRequest(file);
        const session = new CnsSession(opts.server, opts.release);
        const password = opts.token ?? process.env.VOLUMED_TOKEN ?? 'volumed';
        await session.login(opts.user ?? process.env.VOLUMED_CNS_USER ?? process.env.USER ?? 'volumed', password);
        try {
          const answer = await session.invoke(name, body);
          if (SYNC.has(name)) {
            print(opts, answer, () => volumesTable(answer));
            return;
          }
          if (!opts.wait) {
            print(opts, answer, () => `task ${String(answer.value)}`);
            return;
          }
          const info = await follow(session, answer, name, Boolean(opts.progress) || (process.stderr.isTTY && !opts.json));
          const { text, failed } = resultTable(info);
          print(opts, info, () => text);
          if (failed > 0 || info.state === 'error') process.exitCode = 1;
        } finally {
          await session.logout().catch(() => undefined);
        }
      });
    });
}
