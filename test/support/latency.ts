// A decorator that slows a real driver down: each call that changes storage
// waits before and after its work. Crash tests use it so that a kill lands in
// the middle of tasks, on both sides of the side effect.

import type { Driver } from '../../src/drivers/driver.js';

const MUTATING = new Set<string>([
  'createVolume',
  'deleteVolume',
  'extendVolume',
  'publish',
  'unpublish',
  'createSnapshot',
  'deleteSnapshot',
  'revertToSnapshot',
  'manageExisting',
  'writeVolume',
]);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function withLatency<D extends Driver>(driver: D, ms: number): D {
  return new Proxy(driver, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || !MUTATING.has(prop) || typeof value !== 'function') return value;
      return async (...args: unknown[]): Promise<unknown> => {
        await sleep(ms);
        const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        await sleep(ms);
        return result;
      };
    },
  });
}
