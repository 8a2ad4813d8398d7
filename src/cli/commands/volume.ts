// `volumed volume ...`: every volume operation, over HTTP.

import { Command } from 'commander';
import { formatSize, parseSize, table } from '../format.js';
import { client, follow, print, record, run, volumeRow, volumeTable, type GlobalOptions } from '../output.js';
import type { Task, Volume } from '../../domain/types.js';

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
    .command('create <name>')
    .description('create a volume')
    .requiredOption('-s, --size <size>', 'size, e.g. 10GiB')
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
    .action((name: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
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
    .command('show <id>')
    .description('show one volume with its attachments')
    .action((id: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const api = client(o);
        const volume = await api.getVolume(id);
        const attachments = await api.listAttachments(id);
        print(o, { volume, attachments }, () => {
          const base = record({ ...volume, sizeBytes: `${volume.sizeBytes} (${formatSize(volume.sizeBytes)})` });
          return attachments.length ? `${base}\n\n${table(attachments as unknown as Record<string, unknown>[], ['id', 'node', 'instance', 'mode', 'status'])}` : base;
        });
      }),
    );

  cmd
    .command('rm <id>')
    .description('delete a volume')
    .option('--cascade', 'delete its snapshots too')
    .option('--force', 'admin: from any status, detaching first')
    .option('--no-wait')
    .action((id: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        await finish(o, await client(o).deleteVolume(id, { cascade: o.cascade === true, force: o.force === true }), id);
      }),
    );

  const action = (name: string, args: string, description: string, body: (o: Opts, ...a: string[]) => Record<string, unknown>, setup?: (c: Command) => Command): void => {
    const sub = cmd.command(`${name} <id>${args ? ` ${args}` : ''}`).description(description).option('--no-wait');
    (setup ? setup(sub) : sub).action((id: string, ...rest: unknown[]) =>
      run(async () => {
        const c = rest.at(-1) as Command;
        const o = optsOf(c);
        const positional = rest.slice(0, -2).map(String);
        const accepted = await client(o).action(id, name, body(o, ...positional));
        if ('task' in accepted && accepted.task) await finish(o, accepted, id);
        else print(o, accepted, () => (accepted.volume ? record(volumeRow(accepted.volume)) : ''));
      }),
    );
  };

  action('extend', '<size>', 'grow a volume', (o, size) => ({ newSizeBytes: parseSize(size ?? ''), ...(o.awaitCompletion ? { awaitCompletion: true } : {}) }), (c) => c.option('--await-completion', 'attached volumes: wait for the node to confirm'));
  action('revert', '<snapshot>', 'revert a volume to one of its snapshots', (_o, snap) => ({ snapshotId: snap }));
  action('retype', '<type>', 'change the volume type', (o, type) => ({ type, ...(o.migrationPolicy ? { migrationPolicy: o.migrationPolicy } : {}) }), (c) => c.option('--migration-policy <policy>', 'never or on-demand'));
  action('migrate', '', 'move a volume to another pool', (o) => (o.pool ? { pool: o.pool } : {}), (c) => c.option('-p, --pool <pool>', 'target pool (default: the scheduler picks)'));
  action('unmanage', '', 'forget a volume, keeping its bytes', () => ({}));
  action('upload-image', '<imageName>', 'copy a volume into a new image', (_o, imageName) => ({ imageName }));
  action('reimage', '<imageId>', "overwrite a volume with an image's bytes", (_o, imageId) => ({ imageId }));
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
    .command('attach <id>')
    .description('attach a volume to a node; prints the connection info')
    .requiredOption('--node <node>')
    .option('--instance <instance>')
    .option('--mode <mode>', 'rw or ro', 'rw')
    .option('--mountpoint <path>')
    .action((id: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const api = client(o);
        const accepted = await api.attach(id, { node: o.node, mode: o.mode, ...(o.instance ? { instance: o.instance } : {}), ...(o.mountpoint ? { mountpoint: o.mountpoint } : {}) });
        await follow(o, accepted.task);
        const attachment = (await api.listAttachments(id)).find((a) => a.id === accepted.attachment?.id);
        print(o, attachment, () => record({ attachment: attachment?.id, node: attachment?.node, mode: attachment?.mode, status: attachment?.status, connection: attachment?.connectionInfo }));
      }),
    );

  cmd
    .command('detach <id> <attachment>')
    .description('detach one attachment')
    .option('--force', 'admin: from any status; go on when the node cannot be reached')
    .option('--no-wait')
    .action((id: string, attachment: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        await finish(o, await client(o).detach(id, attachment, { force: o.force === true }), id);
      }),
    );

  cmd
    .command('update <id>')
    .description('rename, relabel, or set flags')
    .option('--name <name>')
    .option('--description <text>')
    .option('-l, --label <key=value>', 'replace labels (repeatable)', collect)
    .option('--bootable <bool>')
    .option('--readonly <bool>')
    .action((id: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const bool = (v: unknown): boolean => v === 'true' || v === true;
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
