// The real `cinder` CLI (Debian's python3-cinderclient, run with Debian's
// /usr/bin/python3) in noauth mode against the built server: each command a
// user runs, checked on the CLI's output and on the bytes in the file pool.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { props, rows } from './cli-tables.js';
import { startServer, type RunningServer } from './harness.js';

const exec = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const CINDER = '/usr/bin/cinder';
const present = existsSync(PYTHON) && existsSync(CINDER);
if (!present) console.warn(`skipping the cinder CLI tests: ${CINDER} or ${PYTHON} is missing (apt-get install python3-cinderclient; .ci/run installs it)`);

const PROJECT = 'cli-proj';
const GiB = 1024 ** 3;
type Json = Record<string, unknown>;



describe.skipIf(!present)('the cinder CLI against volumed', { timeout: 120_000 }, () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ config: 'pools:\n  - id: local\n    driver: file\n  - id: fast\n    driver: file\n' });
  });
  afterAll(async () => {
    await s.stop();
  });

  async function cinder(...args: string[]): Promise<string> {
    const { stdout } = await exec(PYTHON, [CINDER, '--os-auth-type', 'noauth', '--os-endpoint', `${s.url}/v3/${PROJECT}`, '--os-project-id', PROJECT, '--os-user-id', 'alice', ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' },
    });
    return stdout;
  }
  /** A refused command: some (migrate) exit 0 and say so in their output, others exit 1. */
  async function cinderFails(...args: string[]): Promise<string> {
    try {
      const out = await cinder(...args);
      if (/ERROR|failed/i.test(out)) return out;
    } catch (e) {
      // The CLI prints some refusals on stdout ("Delete for volume ... failed: ...").
      const { stdout = '', stderr = '' } = e as { stdout?: string; stderr?: string };
      return `${stdout}${stderr}`;
    }
    throw new Error(`cinder ${args.join(' ')} succeeded`);
  }
  async function volume(id: string): Promise<Json> {
    return (await s.api<{ volume: Json }>('GET', `/v3/${PROJECT}/volumes/${id}`, undefined, { 'OpenStack-API-Version': 'volume 3.70' })).body.volume;
  }
  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    // Generous: moving a GiB through a stream takes seconds on a slow disk.
    for (let i = 0; i < 2400; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}`);
  }
  const status = async (id: string, want: string): Promise<void> => until(`volume ${id} ${want}`, async () => (await volume(id)).status === want);
  /** Where a volume's bytes are: its pool (from the host) and its provider id. */
  async function fileOf(id: string): Promise<string> {
    const v = await volume(id);
    const pool = /#(.+)$/.exec(String(v['os-vol-host-attr:host']))?.[1] ?? '';
    return path.join(s.dataDir, 'pools', pool, String(v.provider_id));
  }
  async function writeAt0(id: string, text: string): Promise<void> {
    const fh = await fs.open(await fileOf(id), 'r+');
    await fh.write(Buffer.from(text), 0, text.length, 0);
    await fh.close();
  }
  async function readAt0(id: string, length: number): Promise<string> {
    const fh = await fs.open(await fileOf(id), 'r');
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, 0);
    await fh.close();
    return buf.toString();
  }

  let id = '';

  it('creates, lists, shows, renames and extends', async () => {
    const created = props(await cinder('create', '1', '--name', 'cli-vol', '--metadata', 'team=storage'));
    id = created.id ?? '';
    expect(created).toMatchObject({ name: 'cli-vol', size: '1', bootable: 'false' });
    await status(id, 'available');
    expect(rows(await cinder('list'))).toEqual([expect.objectContaining({ ID: id, Status: 'available', Name: 'cli-vol', Size: '1' })]);
    await cinder('rename', 'cli-vol', 'cli-vol2');
    expect(props(await cinder('show', id))).toMatchObject({ name: 'cli-vol2', metadata: 'team : storage', 'os-vol-tenant-attr:tenant_id': PROJECT });
    await cinder('extend', 'cli-vol2', '2');
    await until('extend', async () => (await volume(id)).size === 2 && (await volume(id)).status === 'available');
    expect((await fs.stat(await fileOf(id))).size).toBe(2 * GiB);
  });

  it('sets metadata, bootable and read-only', async () => {
    await cinder('metadata', id, 'set', 'a=1', 'b=2');
    await cinder('metadata', id, 'unset', 'a');
    expect(props(await cinder('metadata-show', id))).toMatchObject({ b: '2', team: 'storage' });
    expect(props(await cinder('metadata-show', id))).not.toHaveProperty('a');
    await cinder('set-bootable', id, 'true');
    await cinder('readonly-mode-update', id, 'True');
    const shown = props(await cinder('show', id));
    expect(shown.bootable).toBe('true');
    expect(shown.metadata).toContain('readonly : True');
    await cinder('readonly-mode-update', id, 'False');
    expect(props(await cinder('show', id)).metadata).not.toContain('readonly');
  });

  it('snapshots and reverts to the snapshot, bytes and all', async () => {
    await writeAt0(id, 'ORIGINAL');
    const snap = props(await cinder('snapshot-create', '--name', 'cli-snap', id));
    await until('snapshot', async () => props(await cinder('snapshot-show', snap.id ?? '')).status === 'available');
    expect(rows(await cinder('snapshot-list'))).toEqual([expect.objectContaining({ ID: snap.id, Name: 'cli-snap', Status: 'available' })]);
    await writeAt0(id, 'CHANGED!');
    await cinder('revert-to-snapshot', 'cli-snap');
    await status(id, 'available');
    expect(await readAt0(id, 8)).toBe('ORIGINAL');
    await cinder('snapshot-delete', 'cli-snap');
    await until('snapshot deleted', async () => rows(await cinder('snapshot-list')).length === 0);
  });

  it('attaches through the attachments API: reserve, connect, complete, delete', async () => {
    const server = '11111111-2222-3333-4444-555555555555';
    const reserved = props(await cinder('attachment-create', id, server));
    expect(reserved.status).toBe('reserved');
    expect((await volume(id)).status).toBe('reserved');
    const aid = reserved.id ?? '';
    const connected = props(await cinder('attachment-update', aid, '--host', 'node-1', '--initiator', 'iqn.2024-01.test:node-1', '--ip', '10.0.0.1'));
    expect(connected.driver_volume_type).toBe('local');
    expect(connected.data).toContain(await fileOf(id));
    await cinder('attachment-complete', aid);
    expect(props(await cinder('show', id))).toMatchObject({ status: 'in-use', attached_servers: `['${server}']` });
    expect(rows(await cinder('attachment-list'))).toEqual([expect.objectContaining({ ID: aid, 'Volume ID': id, Status: 'attached' })]);
    expect(props(await cinder('attachment-show', aid))).toMatchObject({ status: 'attached', instance: server, attach_mode: 'rw' });
    expect(await cinderFails('delete', id)).toMatch(/Volume status must be .*but current status is: in-use/);
    await cinder('attachment-delete', aid);
    await status(id, 'available');
  });

  it('retypes to a type on another pool and migrates, moving the bytes', async () => {
    for (const pool of ['local', 'fast']) {
      await cinder('type-create', `${pool}-type`);
      await cinder('type-key', `${pool}-type`, 'set', `volume_backend_name=${pool}`);
    }
    expect(rows(await cinder('type-list')).map((r) => r.Name).sort()).toEqual(['fast-type', 'local-type']);
    expect(rows(await cinder('extra-specs-list'))).toContainEqual(expect.objectContaining({ Name: 'fast-type', extra_specs: "{'volume_backend_name': 'fast'}" }));
    // A new 1 GiB volume (bytes move through a stream, so smaller is quicker).
    const mig = props(await cinder('create', '1', '--name', 'cli-mig'));
    const mid = mig.id ?? '';
    await status(mid, 'available');
    await writeAt0(mid, 'MIGRATE!');
    // To the type of the pool the volume is not in: the bytes move.
    const from = String((await volume(mid))['os-vol-host-attr:host']);
    const target = from === 'volumed@local#local' ? 'fast' : 'local';
    const before = await fileOf(mid);
    await cinder('retype', '--migration-policy', 'on-demand', mid, `${target}-type`);
    await until('retype', async () => (await volume(mid)).volume_type === `${target}-type` && (await volume(mid)).status === 'available');
    expect((await volume(mid))['os-vol-host-attr:host']).toBe(`volumed@${target}#${target}`);
    expect(await readAt0(mid, 8)).toBe('MIGRATE!');
    expect(existsSync(before)).toBe(false);

    // An admin migration back, to the pool its type does not ask for, is refused with the reason.
    expect(await cinderFails('migrate', mid, from)).toMatch(/asks for backend/);
    const untyped = props(await cinder('create', '1', '--name', 'cli-untyped'));
    await status(untyped.id ?? '', 'available');
    await writeAt0(untyped.id ?? '', 'UNTYPED!');
    const was = String((await volume(untyped.id ?? ''))['os-vol-host-attr:host']);
    const to = was === 'volumed@local#local' ? 'volumed@fast#fast' : 'volumed@local#local';
    await cinder('migrate', untyped.id ?? '', to);
    await until('migration', async () => (await volume(untyped.id ?? ''))['os-vol-host-attr:host'] === to && (await volume(untyped.id ?? ''))['os-vol-mig-status-attr:migstat'] === 'success');
    expect(await readAt0(untyped.id ?? '', 8)).toBe('UNTYPED!');
    await cinder('delete', untyped.id ?? '');

    const upload = props(await cinder('upload-to-image', mig.id ?? '', 'cli-image'));
    expect(upload.image_name).toBe('cli-image');
    await until('upload', async () => (await s.api<{ image: Json }>('GET', `/api/v1/images/${upload.image_id ?? ''}`)).body.image.status === 'active');
    expect((await s.api<{ image: Json }>('GET', `/api/v1/images/${upload.image_id ?? ''}`)).body.image.sizeBytes).toBe(GiB);

    await cinder('reset-state', '--state', 'error', mig.id ?? '');
    expect(props(await cinder('show', mig.id ?? '')).status).toBe('error');
    const file = await fileOf(mig.id ?? '');
    await cinder('force-delete', mig.id ?? '');
    await until('force delete', async () => (await s.api('GET', `/v3/${PROJECT}/volumes/${mig.id ?? ''}`)).status === 404);
    expect(existsSync(file)).toBe(false);
  });

  it('shows and updates quotas, limits, zones and services', async () => {
    await cinder('quota-update', '--volumes', '9', PROJECT);
    expect(props(await cinder('quota-show', PROJECT))).toMatchObject({ volumes: '9', gigabytes: '-1' });
    expect(rows(await cinder('quota-usage', PROJECT))).toContainEqual(expect.objectContaining({ Type: 'volumes', In_use: '1', Limit: '9' }));
    expect(rows(await cinder('absolute-limits'))).toContainEqual({ Name: 'maxTotalVolumes', Value: '9' });
    expect(rows(await cinder('availability-zone-list'))).toEqual([{ Name: 'nova', Status: 'available' }]);
    const services = rows(await cinder('service-list'));
    expect(services.filter((r) => r.Binary === 'cinder-volume').map((r) => r.Host).sort()).toEqual(['volumed@fast', 'volumed@local']);
  });

  it('lists manageable volumes, manages and unmanages, and reports a bad reference as a message', async () => {
    await fs.writeFile(path.join(s.dataDir, 'pools', 'local', 'legacy.img'), 'LEGACY');
    await fs.truncate(path.join(s.dataDir, 'pools', 'local', 'legacy.img'), 1500 * 1024 * 1024);
    const listed = rows(await cinder('manageable-list', '--detailed', 'True', 'volumed@local#local'));
    expect(listed).toContainEqual(expect.objectContaining({ reference: "{'source-name': 'legacy.img'}", size: '2', safe_to_manage: 'True' }));
    const adopted = props(await cinder('manage', '--name', 'adopted', 'volumed@local#local', 'legacy.img'));
    await status(adopted.id ?? '', 'available');
    expect((await volume(adopted.id ?? '')).size).toBe(2);
    expect(await readAt0(adopted.id ?? '', 6)).toBe('LEGACY');
    expect(rows(await cinder('manageable-list', '--detailed', 'True', 'volumed@local#local'))).toContainEqual(expect.objectContaining({ safe_to_manage: 'False', cinder_id: adopted.id }));
    await cinder('unmanage', adopted.id ?? '');
    await until('unmanage', async () => (await s.api('GET', `/v3/${PROJECT}/volumes/${adopted.id ?? ''}`)).status === 404);
    expect(existsSync(path.join(s.dataDir, 'pools', 'local', 'legacy.img'))).toBe(true);

    const bad = props(await cinder('manage', '--name', 'bad', 'volumed@local#local', 'missing.img'));
    await status(bad.id ?? '', 'error_managing');
    const messages = rows(await cinder('message-list'));
    expect(messages).toContainEqual(expect.objectContaining({ 'Resource UUID': bad.id, 'User Message': expect.stringContaining('no such object in the pool: missing.img') as unknown }));
    expect(await cinderFails('manage', 'volumed@nowhere#nowhere', 'x.img')).toMatch(/volumed@nowhere#nowhere.*could not be found.*HTTP 404/);
    await cinder('delete', bad.id ?? '');
  });

  it('unmanages a snapshot and manages it again', async () => {
    const snap = props(await cinder('snapshot-create', '--name', 'keep', id));
    await until('snapshot', async () => props(await cinder('snapshot-show', snap.id ?? '')).status === 'available');
    await cinder('snapshot-unmanage', snap.id ?? '');
    await until('snapshot unmanage', async () => (await s.api('GET', `/v3/${PROJECT}/snapshots/${snap.id ?? ''}`)).status === 404);
    const host = String((await volume(id))['os-vol-host-attr:host']);
    const candidates = rows(await cinder('snapshot-manageable-list', host));
    const mine = candidates.find((r) => (r.reference ?? '').includes(snap.id ?? '-'));
    expect(mine?.safe_to_manage).toBe('True');
    const identifier = /'source-name': '([^']+)'/.exec(mine?.reference ?? '')?.[1] ?? '';
    const managed = props(await cinder('snapshot-manage', '--name', 'again', id, identifier));
    await until('snapshot manage', async () => props(await cinder('snapshot-show', managed.id ?? '')).status === 'available');
    await cinder('snapshot-delete', managed.id ?? '');
    await until('snapshot deleted', async () => rows(await cinder('snapshot-list')).length === 0);
  });

  it('deletes the volume and its bytes', async () => {
    const file = await fileOf(id);
    await cinder('delete', id);
    await until('delete', async () => (await s.api('GET', `/v3/${PROJECT}/volumes/${id}`)).status === 404);
    expect(rows(await cinder('list')).map((r) => r.ID)).not.toContain(id);
    expect(existsSync(file)).toBe(false);
  });
});
