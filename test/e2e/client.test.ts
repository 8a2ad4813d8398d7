// The native API's HTTP client (src/client) against a running volumed: the
// calls the CLI and the CSI plugin's --server mode make, their answers as
// typed, and refusals as ApiError with the server's status, code and words.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, VolumedClient } from '../../src/client/volumed-client.js';
import { startServer, type RunningServer } from './harness.js';

const MiB = 1024 * 1024;

async function refusal(call: Promise<unknown>): Promise<ApiError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(err)}`);
  return err;
}

describe('VolumedClient', () => {
  let s: RunningServer;
  let client: VolumedClient;
  beforeAll(async () => {
    s = await startServer({ config: 'pools:\n  - { id: local, driver: file }\n' });
    client = new VolumedClient(s.url);
  });
  afterAll(async () => {
    await s.stop();
  });

  it('creates, reads, lists, attaches, snapshots, extends, detaches and deletes', async () => {
    const made = await client.createVolume({ name: 'from-client', sizeBytes: 2 * MiB, labels: { app: 'db' } }, true);
    expect(made.task.state).toBe('success');
    const id = made.volume?.id ?? '';
    expect(await client.getVolume(id)).toMatchObject({ id, name: 'from-client', sizeBytes: 2 * MiB, status: 'available', labels: { app: 'db' } });
    const page = await client.listVolumes({ label: 'app=db', limit: 10 });
    expect(page.volumes.map((v) => v.id)).toEqual([id]);
    expect(page.nextCursor).toBeNull();

    const attached = await client.attach(id, { node: 'node-1' }, true);
    expect(attached.attachment).toMatchObject({ node: 'node-1', status: 'attached' });
    expect((await client.listAttachments(id)).map((a) => a.node)).toEqual(['node-1']);
    const snap = await client.createSnapshot(id, { name: 'before', force: true }, true);
    expect(snap.snapshot).toMatchObject({ volumeId: id, name: 'before', status: 'available' });
    const grown = await client.action(id, 'extend', { newSizeBytes: 4 * MiB }, true);
    expect(grown.task.state).toBe('success');
    expect((await client.getVolume(id)).sizeBytes).toBe(4 * MiB);
    await client.detach(id, attached.attachment?.id ?? '', { wait: true });
    expect(await client.listAttachments(id)).toEqual([]);
    await client.deleteSnapshot(snap.snapshot?.id ?? '', { wait: true });
    const gone = await client.deleteVolume(id, { wait: true });
    expect(gone.task.state).toBe('success');
    expect((await refusal(client.getVolume(id))).status).toBe(404);
  });

  it('waits for a task, and reads pools and types', async () => {
    const accepted = await client.createVolume({ name: 'later', sizeBytes: MiB });
    const ended = await client.getTask(accepted.task.id, '10s');
    expect(ended.state).toBe('success');
    expect((await client.listPools()).map((p) => p.id)).toEqual(['local']);
    expect((await client.getPool('local')).driver).toBe('file');
    await client.deleteVolume(accepted.task.resourceId ?? '', { wait: true });
  });

  it("turns refusals into ApiError with the server's status, code and message", async () => {
    const missing = await refusal(client.getVolume('no-such-volume'));
    expect([missing.status, missing.code]).toEqual([404, 'not_found']);
    expect(missing.message).toContain('no-such-volume');
    // An id of the longest valid length is looked up, not refused as a long URI (414).
    expect((await refusal(client.getVolume('a'.repeat(128)))).status).toBe(404);
    const bad = await refusal(client.createVolume({ name: 'x', sizeBytes: -1 }));
    expect(bad.status).toBe(400);
    expect(bad.message).toContain('sizeBytes');
    const unreachable = await refusal(new VolumedClient('http://127.0.0.1:1').listPools());
    expect([unreachable.status, unreachable.code]).toEqual([0, 'unreachable']);
    expect(unreachable.message).toContain('cannot reach volumed at http://127.0.0.1:1');
  });

  it('sends its token as a bearer token', async () => {
    const acl = await startServer({ config: 'pools:\n  - { id: local, driver: file }\n', args: ['--acl'] });
    try {
      const anonymous = new VolumedClient(acl.url);
      const { secretId } = await anonymous.bootstrap();
      expect((await refusal(anonymous.listPools())).status).toBe(401);
      const admin = new VolumedClient(acl.url, secretId);
      expect((await admin.listPools()).map((p) => p.id)).toEqual(['local']);
      expect((await admin.getToken('self')).management).toBe(true);
    } finally {
      await acl.stop();
    }
  });
});
