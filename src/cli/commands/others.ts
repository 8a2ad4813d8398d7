// `volumed snapshot|pool|type|task|image ...`.

import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import { formatSize, table } from '../format.js';
import { client, follow, print, record, run, type GlobalOptions } from '../output.js';
import { resolveSnapshot, resolveVolume } from '../resolve.js';
import type { Snapshot } from '../../domain/types.js';

type Opts = GlobalOptions & Record<string, unknown>;
const optsOf = (cmd: Command): Opts => cmd.optsWithGlobals<Opts>();
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const snapRow = (s: Snapshot): Record<string, unknown> => ({ id: s.id, name: s.name, volume: s.volumeId, size: formatSize(s.sizeBytes), status: s.status, created: s.createdAt });

export function snapshotCommand(): Command {
  const cmd = new Command('snapshot').description('snapshots of volumes');
  cmd
    .command('create <volume> <name>')
    .description('snapshot a volume (by id or name)')
    .option('--force', 'snapshot an attached volume')
    .option('--no-wait')
    .action((ref: string, name: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const volume = (await resolveVolume(client(o), ref)).id;
        const accepted = await client(o).createSnapshot(volume, { name, ...(o.force ? { force: true } : {}) });
        if (o.wait !== false) await follow(o, accepted.task);
        const snap = accepted.snapshot ? await client(o).getSnapshot(accepted.snapshot.id) : null;
        print(o, snap, () => (snap ? record(snapRow(snap)) : ''));
      }),
    );
  cmd
    .command('ls')
    .option('--volume <volume>', 'by id or name')
    .option('-n, --namespace <ns>')
    .action((_o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const volumeId = o.volume ? (await resolveVolume(client(o), o.volume as string)).id : undefined;
        const page = await client(o).listSnapshots({ volumeId, namespace: o.namespace as string | undefined, limit: 1000 });
        print(o, page.snapshots, () => table(page.snapshots.map(snapRow), ['id', 'name', 'volume', 'size', 'status', 'created']));
      }),
    );
  cmd.command('show <snapshot>').description('show a snapshot (by id or name)').action((ref: string, _o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const snap = await resolveSnapshot(client(o), ref);
      print(o, snap, () => record(snap as unknown as Record<string, unknown>));
    }),
  );
  cmd
    .command('rm <snapshot>')
    .description('delete a snapshot (by id or name)')
    .option('--force')
    .option('--no-wait')
    .action((ref: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const { id } = await resolveSnapshot(client(o), ref);
        const accepted = await client(o).deleteSnapshot(id, { force: o.force === true });
        if (o.wait !== false) await follow(o, accepted.task);
        print(o, { task: accepted.task }, () => `snapshot ${id} deleted`);
      }),
    );
  cmd
    .command('manage <volume> <reference>')
    .description('adopt a snapshot object, e.g. snapshots/<volume>/<name>.img')
    .option('--name <name>')
    .action((volume: string, reference: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const accepted = await client(o).manageSnapshot({ volumeId: volume, reference: { 'source-name': reference }, ...(o.name ? { name: o.name } : {}) });
        await follow(o, accepted.task);
        print(o, accepted, () => `snapshot ${accepted.snapshot?.id ?? ''} managed`);
      }),
    );
  return cmd;
}

export function poolCommand(): Command {
  const cmd = new Command('pool').description('storage pools');
  cmd.command('ls').action((_o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const pools = await client(o).listPools();
      print(o, pools, () =>
        table(
          pools.map((p) => ({ id: p.id, driver: p.driver, total: formatSize(p.capacity.totalBytes), free: formatSize(p.capacity.freeBytes), kinds: p.capabilities.kinds.join(',') })),
          ['id', 'driver', 'total', 'free', 'kinds'],
        ),
      );
    }),
  );
  cmd.command('show <id>').action((id: string, _o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const pool = await client(o).getPool(id);
      print(o, pool, () => record(pool as unknown as Record<string, unknown>));
    }),
  );
  cmd
    .command('manageable <id>')
    .description('what the pool holds that volumed could adopt')
    .option('--snapshots')
    .action((id: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const items = await client(o).manageable(id, o.snapshots ? 'snapshots' : 'volumes');
        print(o, items, () =>
          table(
            items.map((m) => ({ reference: Object.values(m.reference)[0], size: formatSize(m.sizeBytes), safe: m.safeToManage, reason: m.reasonNotSafe, managed: m.managedId })),
            ['reference', 'size', 'safe', 'reason', 'managed'],
          ),
        );
      }),
    );
  return cmd;
}

export function typeCommand(): Command {
  const cmd = new Command('type').description('volume types');
  cmd.command('ls').action((_o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const types = await client(o).listTypes();
      print(o, types, () => table(types.map((t) => ({ id: t.id, name: t.name, specs: JSON.stringify(t.extraSpecs) })), ['id', 'name', 'specs']));
    }),
  );
  cmd
    .command('create <name>')
    .option('--spec <key=value>', 'extra spec (repeatable)', collect)
    .option('--description <text>')
    .action((name: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const specs = Object.fromEntries(((o.spec as string[] | undefined) ?? []).map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
        const type = await client(o).createType({ name, extraSpecs: specs, ...(o.description ? { description: o.description } : {}) });
        print(o, type, () => record(type as unknown as Record<string, unknown>));
      }),
    );
  cmd.command('show <id>').action((id: string, _o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const type = await client(o).getType(id);
      print(o, type, () => record(type as unknown as Record<string, unknown>));
    }),
  );
  cmd.command('rm <id>').action((id: string, _o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      await client(o).deleteType(id);
      print(o, { deleted: id }, () => `type ${id} deleted`);
    }),
  );
  return cmd;
}

export function taskCommand(): Command {
  const cmd = new Command('task').description('asynchronous operations');
  cmd
    .command('ls')
    .option('--state <state>', 'queued, running, success or error (repeatable)', collect)
    .option('--resource <id>')
    .action((_o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const page = await client(o).listTasks({ state: o.state as string[] | undefined, resourceId: o.resource as string | undefined, limit: 1000 });
        print(o, page.tasks, () => table(page.tasks.map((t) => ({ id: t.id, operation: t.operation, state: t.state, progress: `${t.progress}%`, resource: t.resourceId, error: t.error })), ['id', 'operation', 'state', 'progress', 'resource', 'error']));
      }),
    );
  cmd.command('show <id>').action((id: string, _o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const task = await client(o).getTask(id);
      print(o, task, () => record(task as unknown as Record<string, unknown>));
    }),
  );
  cmd.command('watch <id>').description('follow a task to its end with a progress bar').action((id: string, _o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const task = await follow(o, await client(o).getTask(id));
      print(o, task, () => `task ${task.id} ${task.operation}: ${task.state}`);
    }),
  );
  return cmd;
}

export function imageCommand(): Command {
  const cmd = new Command('image').description('raw images in the local image store');
  cmd.command('ls').action((_o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const images = await client(o).listImages();
      print(o, images, () => table(images.map((i) => ({ id: i.id, name: i.name, size: formatSize(i.sizeBytes), status: i.status, checksum: i.checksum })), ['id', 'name', 'size', 'status', 'checksum']));
    }),
  );
  cmd.command('show <id>').action((id: string, _o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const image = await client(o).getImage(id);
      print(o, image, () => record(image as unknown as Record<string, unknown>));
    }),
  );
  cmd
    .command('upload <file>')
    .requiredOption('--name <name>')
    .option('-n, --namespace <ns>')
    .action((file: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const image = await client(o).uploadImage(String(o.name), createReadStream(file), o.namespace as string | undefined);
        print(o, image, () => record(image as unknown as Record<string, unknown>));
      }),
    );
  cmd.command('download <id> <file>').action((id: string, file: string, _o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const body = await client(o).downloadImage(id);
      await pipeline(Readable.fromWeb(body), createWriteStream(file));
      print(o, { id, file }, () => `image ${id} written to ${file}`);
    }),
  );
  cmd.command('rm <id>').action((id: string, _o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      await client(o).deleteImage(id);
      print(o, { deleted: id }, () => `image ${id} deleted`);
    }),
  );
  return cmd;
}

export function adminCommand(): Command {
  const cmd = new Command('admin').description('operator checks (management token)');
  cmd
    .command('check')
    .description("check the engine's invariants on the running server: statuses without tasks, usage, storage without records")
    .action((_o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const result = await client(o).checkInvariants();
        print(o, result, () => (result.ok ? `ok: no violations (checked ${result.checkedAt})` : `${result.violations.length} violation(s):\n${table(result.violations, ['rule', 'id', 'detail'])}`));
        if (!result.ok) process.exitCode = 1;
      }),
    );
  return cmd;
}
