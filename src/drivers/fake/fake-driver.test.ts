import { describe, expect, it } from 'vitest';
import { BackendError } from '../../domain/errors.js';
import { describeDriver } from '../driver.conformance.js';
import { FakeDriver } from './fake-driver.js';

describeDriver('fake', () => Promise.resolve({ driver: new FakeDriver(), cleanup: () => Promise.resolve() }));

describe('fake driver scripting', () => {
  it('fails and delays on demand and counts calls', async () => {
    const d = new FakeDriver().failNext('createVolume', new BackendError('boom'));
    await expect(d.createVolume({ id: 'a', sizeBytes: 1, kind: 'block' })).rejects.toThrow('boom');
    await d.createVolume({ id: 'a', sizeBytes: 1, kind: 'block' });
    expect(d.calls.createVolume).toBe(2);
    d.delayNext('deleteVolume', 30);
    const start = Date.now();
    await d.deleteVolume({ id: 'a', externalId: 'vol-a', kind: 'block' });
    expect(Date.now() - start).toBeGreaterThanOrEqual(25);
  });
});
