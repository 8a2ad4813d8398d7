// `volumed volume ...`: every volume operation, over HTTP.

import { Command } from 'commander';
import { formatSize, parseSize, table } from '../format.js';
import { client, follow, print, record, run, volumeRow, volumeTable, type GlobalOptions } from '../output.js';
import type { Task, Volume } from '../../domain/types.js';
import { resolveSnapshot, resolveVolume } from '../resolve.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function labelsOf(pairs: readonly string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  return Object.fromEntries(
    pairs.map((p) => {
      const at = p.indexOf('=');
      if (at <= 0) throw new Error(`label ${JSON.stringify(p)}: use key=value`);
      return [p.slice(0, at), p.slice(at + 1)];
    }),
  );
}

type Opts = GlobalOptions & Record<string, unknown>;
const optsOf = (cmd: Command): Opts => cmd.optsWithGlobals<Opts>();

/** Runs an accepted task to its end unless --no-wait, then prints the volume. */
async function finish(opts: Opts, accepted: { volume: Volume | null; task: Task }, id: string): Promise<void> {
  if (opts.wait === false) {
    print(opts, accepted, () => `task ${accepted.task.id} ${accepted.task.operation} ${accepted.task.state}`);
    return;
  }
  const task = await follow(opts, accepted.task);
  const volume = await client(opts).getVolume(id).catch(() => null);
  print(opts, { volume, task }, () => (volume ? record(volumeRow(volume)) : `volume ${id} deleted`));
}

export function volumeCommand(): Command {
  const cmd = new Command('volume').description('create, list, attach, snapshot, extend, migrate and delete volumes');

  cmd
    .command('create [name]')
    .description('create a volume: volume create NAME --size SIZE')
    .option('-s, --size <size>', 'size, e.g. 10GiB (required)')
    .option('-t, --type <type>', 'volume type')
    .option('-p, --pool <pool>', 'pool')
    .option('-n, --namespace <ns>', 'namespace')
    .option('-k, --kind <kind>', 'block or file')
    .option('--description <text>')
    .option('--from-snapshot <id>')
    .option('--from-volume <id>')
    .option('--from-image <id>')
    .option('--access-mode <mode>', 'CSI access mode, e.g. single-node-writer')
    .option('--multiattach')
    .option('-l, --label <key=value>', 'label (repeatable)', collect)
    .option('--no-wait', 'return once accepted')
    .action((name: string | undefined, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        // Both are named when both are missing, not only the first commander would find.
        const missing = [...(name ? [] : ['the volume name (volume create NAME --size SIZE)']), ...(o.size === undefined ? ['--size <size>'] : [])];
        if (missing.length) throw new Error(`missing ${missing.join(' and ')}`);
        const source = o.fromSnapshot ? { snapshotId: o.fromSnapshot } : o.fromVolume ? { volumeId: o.fromVolume } : o.fromImage ? { imageId: o.fromImage } : undefined;
        const body = {
          name,
          sizeBytes: parseSize(String(o.size)),
          ...(o.type ? { type: o.type } : {}),
          ...(o.pool ? { pool: o.pool } : {}),
          ...(o.namespace ? { namespace: o.namespace } : {}),
          ...(o.kind ? { kind: o.kind } : {}),
          ...(o.description ? { description: o.description } : {}),
          ...(source ? { source } : {}),
          ...(o.accessMode ? { accessMode: { accessMode: o.accessMode } } : {}),
          ...(o.multiattach ? { multiattach: true } : {}),
          ...(o.label ? { labels: labelsOf(o.label as string[]) } : {}),
        };
        const accepted = await client(o).createVolume(body);
        await finish(o, accepted, accepted.volume?.id ?? '');
      }),
    );

  cmd
    .command('ls')
    .description('list volumes')
    .option('-n, --namespace <ns>')
    .option('--status <status>', 'status (repeatable)', collect)
    .option('-p, --pool <pool>')
    .option('--prefix <prefix>', 'name prefix')
    .option('-l, --label <key=value>', 'label (repeatable)', collect)
    .option('--sort <field>', 'createdAt, name or sizeBytes')
    .option('--desc', 'descending')
    .option('--limit <n>', 'page size', '100')
    .option('--all', 'follow every page')
    .action((_o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const api = client(o);
        const volumes: Volume[] = [];
        let cursor: string | undefined;
        do {
          const page = await api.listVolumes({
            namespace: o.namespace as string | undefined,
            status: o.status as string[] | undefined,
            pool: o.pool as string | undefined,
            namePrefix: o.prefix as string | undefined,
            label: o.label as string[] | undefined,
            sort: o.sort as string | undefined,
            direction: o.desc ? 'desc' : undefined,
            limit: Number(o.limit),
            cursor,
          });
          volumes.push(...page.volumes);
          cursor = o.all ? (page.nextCursor ?? undefined) : undefined;
        } while (cursor);
        print(o, volumes, () => volumeTable(volumes));
      }),
    );

  cmd
    .command('show <volume>')
    .description('show one volume (by id or name) with its attachments')
    .action((ref: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const api = client(o);
        const volume = await resolveVolume(api, ref);
        const attachments = await api.listAttachments(volume.id);
        print(o, { volume, attachments }, () => {
          const base = record({ ...volume, sizeBytes: `${volume.sizeBytes} (${formatSize(volume.sizeBytes)})` });
          return attachments.length ? `${base}\n\n${table(attachments as unknown as Record<string, unknown>[], ['id', 'node', 'instance', 'mode', 'status'])}` : base;
        });
      }),
    );

  cmd
    .command('rm <volume>')
    .description('delete a volume (by id or name)')
    .option('--cascade', 'delete its snapshots too')
    .option('--force', 'admin: from any status, detaching first')
    .option('--no-wait')
    .action((ref: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const { id } = await resolveVolume(client(o), ref);
        await finish(o, await client(o).deleteVolume(id, { cascade: o.cascade === true, force: o.force === true }), id);
      }),
    );

  type Body = (o: Opts, volume: Volume, ...a: string[]) => Record<string, unknown> | Promise<Record<string, unknown>>;
  const action = (name: string, args: string, description: string, body: Body, setup?: (c: Command) => Command): void => {
    const sub = cmd.command(`${name} <volume>${args ? ` ${args}` : ''}`).description(`${description} (the volume by id or name)`).option('--no-wait');
    (setup ? setup(sub) : sub).action((ref: string, ...rest: unknown[]) =>
      run(async () => {
        const c = rest.at(-1) as Command;
        const o = optsOf(c);
        const positional = rest.slice(0, -2).map(String);
        const volume = await resolveVolume(client(o), ref);
        const id = volume.id;
        const accepted = await client(o).action(id, name, await body(o, volume, ...positional));
        if ('task' in accepted && accepted.task) await finish(o, accepted, id);
        else print(o, accepted, () => (accepted.volume ? record(volumeRow(accepted.volume)) : ''));
      }),
    );
  };

  action('extend', '<size>', 'grow a volume', (o, _v, size) => ({ newSizeBytes: parseSize(size ?? ''), ...(o.awaitCompletion ? { awaitCompletion: true } : {}) }), (c) => c.option('--await-completion', 'attached volumes: wait for the node to confirm'));
  action('revert', '<snapshot>', 'revert a volume to one of its snapshots (by id or name)', async (o, v, snap) => ({ snapshotId: (await resolveSnapshot(client(o), snap ?? '', v.id)).id }));
  action('retype', '<type>', 'change the volume type', (o, _v, type) => ({ type, ...(o.migrationPolicy ? { migrationPolicy: o.migrationPolicy } : {}) }), (c) => c.option('--migration-policy <policy>', 'never or on-demand'));
  action('migrate', '', 'move a volume to another pool', (o) => (o.pool ? { pool: o.pool } : {}), (c) => c.option('-p, --pool <pool>', 'target pool (default: the scheduler picks)'));
  action('unmanage', '', 'forget a volume, keeping its bytes', () => ({}));
  action('upload-image', '<imageName>', 'copy a volume into a new image', (_o, _v, imageName) => ({ imageName }));
  action('reimage', '<imageId>', "overwrite a volume with an image's bytes", (_o, _v, imageId) => ({ imageId }));
  action('reserve', '', 'hold an available volume for an attach', () => ({}));
  action('unreserve', '', 'release a reservation', () => ({}));
  action('begin-detaching', '', 'mark an attached volume as being detached by its host', () => ({}));
  action('roll-detaching', '', 'undo begin-detaching', () => ({}));
  action('reset-status', '', 'admin: set statuses as given', (o) => ({
    ...(o.status ? { status: o.status } : {}),
    ...(o.attachStatus ? { attachStatus: o.attachStatus } : {}),
    ...(o.migrationStatus ? { migrationStatus: o.migrationStatus } : {}),
  }), (c) => c.option('--status <status>').option('--attach-status <status>').option('--migration-status <status>'));

  cmd
    .command('attach <volume>')
    .description('attach a volume (by id or name) to a node; prints the connection info')
    .requiredOption('--node <node>')
    .option('--instance <instance>')
    .option('--mode <mode>', 'rw or ro', 'rw')
    .option('--mountpoint <path>')
    .action((ref: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const api = client(o);
        const { id } = await resolveVolume(api, ref);
        const accepted = await api.attach(id, { node: o.node, mode: o.mode, ...(o.instance ? { instance: o.instance } : {}), ...(o.mountpoint ? { mountpoint: o.mountpoint } : {}) });
        await follow(o, accepted.task);
        const attachment = (await api.listAttachments(id)).find((a) => a.id === accepted.attachment?.id);
        print(o, attachment, () => record({ attachment: attachment?.id, node: attachment?.node, mode: attachment?.mode, status: attachment?.status, connection: attachment?.connectionInfo }));
      }),
    );

  cmd
    .command('detach <volume> <attachment>')
    .description('detach one attachment (the volume by id or name)')
    .option('--force', 'admin: from any status; go on when the node cannot be reached')
    .option('--no-wait')
    .action((ref: string, attachment: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const { id } = await resolveVolume(client(o), ref);
        await finish(o, await client(o).detach(id, attachment, { force: o.force === true }), id);
      }),
    );

  cmd
    .command('update <volume>')
    .description('rename, relabel, or set flags (the volume by id or name)')
    .option('--name <name>')
    .option('--description <text>')
    .option('-l, --label <key=value>', 'replace labels (repeatable)', collect)
    .option('--bootable <bool>')
    .option('--readonly <bool>')
    .action((ref: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const bool = (v: unknown): boolean => v === 'true' || v === true;
        const { id } = await resolveVolume(client(o), ref);
        const volume = await client(o).updateVolume(id, {
          ...(o.name ? { name: o.name } : {}),
          ...(o.description !== undefined ? { description: o.description } : {}),
          ...(o.label ? { labels: labelsOf(o.label as string[]) } : {}),
          ...(o.bootable !== undefined ? { bootable: bool(o.bootable) } : {}),
          ...(o.readonly !== undefined ? { readonly: bool(o.readonly) } : {}),
        });
        print(o, volume, () => record(volumeRow(volume)));
      }),
    );

  cmd
    .command('manage <pool> <reference>')
    .description('adopt an object already in a pool (e.g. import/disk.img)')
    .option('--name <name>')
    .option('-n, --namespace <ns>')
    .option('-k, --kind <kind>', 'block or file')
    .option('--round-to-gib', 'grow it to whole GiB')
    .option('--no-wait')
    .action((pool: string, reference: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const accepted = await client(o).manageVolume({
          pool,
          reference: { 'source-name': reference },
          ...(o.name ? { name: o.name } : {}),
          ...(o.namespace ? { namespace: o.namespace } : {}),
          ...(o.kind ? { kind: o.kind } : {}),
          ...(o.roundToGib ? { roundToGiB: true } : {}),
        });
        await finish(o, accepted, accepted.volume?.id ?? '');
      }),
    );

  return cmd;
}
