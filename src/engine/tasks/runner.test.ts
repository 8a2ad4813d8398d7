import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackendError } from '../../domain/errors.js';
import { MiB } from '../../domain/types.js';
import { FakeDriver } from '../../drivers/fake/fake-driver.js';
import { startTestVolumed, type TestVolumed } from '../../../test/support/testing.js';

describe('task runner with a scripted driver', () => {
  let v: TestVolumed;
  let fake: FakeDriver;
  beforeEach(async () => {
    v = await startTestVolumed({ pools: [{ id: 'fake', driver: 'fake' }], runner: { pollMs: 10, backoffMs: 10, maxAttempts: 3, concurrency: 4 } });
    fake = v.pools.driver('fake') as FakeDriver;
  });
  afterEach(async () => {
    await v.remove();
  });

  it('retries transient errors with backoff, then succeeds', async () => {
    fake.failNext('createVolume', new BackendError('busy', { transient: true })).failNext('createVolume', new BackendError('busy', { transient: true }));
    const task = await v.settle(await v.engine.createVolume({ name: 'a', sizeBytes: MiB }));
    expect(task.state).toBe('success');
    expect(task.attempts).toBe(3);
    expect(fake.calls.createVolume).toBe(3);
  });

  it('gives up after max attempts and leaves the failure status with the message', async () => {
    for (let i = 0; i < 3; i++) fake.failNext('createVolume', new BackendError('still busy', { transient: true }));
    const accepted = await v.engine.createVolume({ name: 'a', sizeBytes: MiB });
    const task = await v.settle(accepted);
    expect(task.state).toBe('error');
    expect(task.error).toContain('still busy');
    const vol = await v.engine.getVolume(accepted.resource.id);
    expect(vol.status).toBe('error');
    expect(vol.lastError).toContain('still busy');
  });

  it('maps each failure to the status of the table', async () => {
    const vol = (await v.settle(await v.engine.createVolume({ name: 'a', sizeBytes: MiB }))).resourceId;
    fake.failNext('publish');
    const att = await v.engine.attachVolume(vol, { node: 'n1' });
    expect((await v.settle(att)).state).toBe('error');
    let now = await v.engine.getVolume(vol);
    expect([now.status, now.attachStatus]).toEqual(['available', 'error_attaching']);
    expect(await v.engine.listAttachments(vol)).toEqual([]);

    fake.failNext('extendVolume');
    await v.settle(await v.engine.extendVolume(vol, 2 * MiB));
    now = await v.engine.getVolume(vol);
    expect([now.status, now.sizeBytes]).toEqual(['error_extending', MiB]);

    await v.engine.resetVolumeStatus(vol, { status: 'available' });
    fake.failNext('deleteVolume');
    await v.settle(await v.engine.deleteVolume(vol));
    now = await v.engine.getVolume(vol);
    expect(now.status).toBe('error_deleting');
    await v.settle(await v.engine.deleteVolume(vol));
    await expect(v.engine.getVolume(vol)).rejects.toThrow(/not found/);
  });

  it('runs one task per volume at a time, several volumes at once', async () => {
    const a = (await v.settle(await v.engine.createVolume({ name: 'a', sizeBytes: MiB }))).resourceId;
    const b = (await v.settle(await v.engine.createVolume({ name: 'b', sizeBytes: MiB }))).resourceId;
    fake.maxInFlight = 0;
    for (let i = 0; i < 4; i++) fake.delayNext('createSnapshot', 40);
    const tasks = [
      await v.engine.createSnapshot(a, { name: 's1' }),
      await v.engine.createSnapshot(a, { name: 's2' }),
    ];
    for (const t of tasks) await v.settle(t);
    expect(fake.maxInFlight).toBe(1);
    fake.maxInFlight = 0;
    const both = [await v.engine.createSnapshot(a, { name: 's3' }), await v.engine.createSnapshot(b, { name: 's4' })];
    for (const t of both) await v.settle(t);
    expect(fake.maxInFlight).toBe(2);
  });

  it('a task waiting out a retry keeps its place: later work on the volume does not jump ahead', async () => {
    const vol = await v.engine.getVolume((await v.settle(await v.engine.createVolume({ name: 'a', sizeBytes: MiB }))).resourceId);
    const snap = await v.engine.createSnapshot(vol.id, { name: 's' });
    await v.settle(snap);
    fake.failNext('extendVolume', new BackendError('busy', { transient: true }));
    const extend = await v.engine.extendVolume(vol.id, 2 * MiB);
    // Queued while the extend waits to be retried (same volume): it must start only after the extend has ended.
    const removal = await v.engine.deleteSnapshot(snap.resource.id);
    const [extended, removed] = [await v.settle(extend), await v.settle(removal)];
    expect([extended.state, extended.attempts, removed.state]).toEqual(['success', 2, 'success']);
    expect(Date.parse(removed.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(extended.finishedAt ?? ''));
  });

  it('an admin reset cancels queued work and a late commit does not clobber it', async () => {
    await v.engine.stop();
    const accepted = await v.engine.createVolume({ name: 'a', sizeBytes: MiB });
    await v.engine.resetVolumeStatus(accepted.resource.id, { status: 'error' });
    const task = await v.engine.getTask(accepted.task.id);
    expect(task.state).toBe('error');
    expect(task.error).toMatch(/reset/);
  });
});
