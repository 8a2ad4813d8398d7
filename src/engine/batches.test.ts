import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../domain/errors.js';
import { MiB } from '../domain/types.js';
import { FakeDriver } from '../drivers/fake/fake-driver.js';
import { startTestVolumed, type TestVolumed } from '../../test/support/testing.js';

describe('batches', () => {
  let v: TestVolumed;
  beforeEach(async () => {
    v = await startTestVolumed();
  });
  afterEach(async () => {
    await v.remove();
  });

  it('keeps one item per step in order, runs while its tasks run, and ends when they have', async () => {
    const { engine } = v;
    const batch = await engine.submitBatch({
      operation: 'test.create',
      namespace: 'default',
      params: { who: 'me' },
      steps: [
        async () => {
          const { resource, task } = await engine.createVolume({ name: 'a', sizeBytes: 4 * MiB });
          return { resourceId: resource.id, task, result: { name: 'a' } };
        },
        () => Promise.reject(new InvalidInputError('must be positive', 'sizeBytes')),
        async () => ({ resourceId: (await engine.updateVolume((await engine.listVolumes({})).items[0]?.id ?? '', { description: 'x' })).id }),
      ],
    });
    expect(batch.operation).toBe('batch.test.create');
    expect(batch.params).toMatchObject({ who: 'me', specs: 3 });
    const ended = await engine.waitForTask(batch.id, 10_000);
    expect(ended.state).toBe('success');
    expect(ended.progress).toBe(100);
    expect(ended.items.map((i) => [i.index, i.state, i.fault])).toEqual([
      [0, 'success', null],
      [1, 'error', 'sizeBytes: must be positive'],
      [2, 'success', null],
    ]);
    expect(ended.items[1]?.result).toEqual({ error: { code: 'invalid_input', name: 'InvalidInputError', field: 'sizeBytes' } });
    // The item keeps what its step returned and what its task answered.
    expect(ended.items[0]?.result).toMatchObject({ name: 'a', externalId: expect.stringMatching(/^volumes\//) as unknown });
    expect((await engine.getVolume(String(ended.items[0]?.resourceId))).status).toBe('available');
  });

  it('fails as a whole only when no step was scheduled, and reports a task that failed as its item', async () => {
    const { engine } = v;
    const none = await engine.submitBatch({ operation: 'x', namespace: 'default', steps: [() => Promise.reject(new InvalidInputError('bad', 'name'))] });
    expect([none.state, none.error]).toEqual(['error', 'no spec could be scheduled: name: bad']);
    await expect(engine.submitBatch({ operation: 'x', namespace: 'default', steps: [] })).rejects.toThrow('specs: must hold at least one spec');
  });
});

describe('batches whose tasks fail', () => {
  let v: TestVolumed;
  beforeEach(async () => {
    v = await startTestVolumed({ pools: [{ id: 'fake', driver: 'fake' }], runner: { pollMs: 10, backoffMs: 10, maxAttempts: 1 } });
  });
  afterEach(async () => {
    await v.remove();
  });

  it('ends in success with the failed task as an errored item, in order', async () => {
    const { engine } = v;
    (v.pools.driver('fake') as FakeDriver).failNext('createVolume');
    const create = (name: string) => async () => {
      const { resource, task } = await engine.createVolume({ name, sizeBytes: MiB });
      return { resourceId: resource.id, task };
    };
    const batch = await engine.submitBatch({ operation: 'create', namespace: 'default', steps: [create('first'), create('second')] });
    const ended = await engine.waitForTask(batch.id, 10_000);
    expect(ended.state).toBe('success');
    expect(ended.items.map((i) => i.state)).toEqual(['error', 'success']);
    expect(ended.items[0]?.fault).toContain('injected createVolume failure');
    expect((await engine.listTasks({})).items.find((t) => t.id === batch.id)?.items.map((i) => i.state)).toEqual(['error', 'success']);
  });
});
