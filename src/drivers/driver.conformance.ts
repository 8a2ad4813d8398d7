// The one suite every driver must pass (file, fake, and csi against volumed's own plugin). Byte
// checks go through the driver's own streams, so the suite needs nothing
// driver-specific.

import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Driver, VolumeRef } from './driver.js';

const MiB = 1024 * 1024;

export interface DriverFixture {
  readonly driver: Driver;
  cleanup(): Promise<void>;
}

async function readAll(driver: Driver, ref: VolumeRef): Promise<Buffer> {
  const { stream } = await driver.readVolume(ref);
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

export function describeDriver(name: string, make: () => Promise<DriverFixture>): void {
  describe(`Driver conformance: ${name}`, () => {
    let fx: DriverFixture;
    let d: Driver;
    beforeEach(async () => {
      fx = await make();
      d = fx.driver;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    async function newVolume(sizeBytes = 2 * MiB): Promise<VolumeRef> {
      const id = randomUUID();
      const created = await d.createVolume({ id, sizeBytes, kind: 'block' });
      expect(created.sizeBytes).toBe(sizeBytes);
      return { id, externalId: created.externalId, kind: 'block' };
    }

    async function fill(ref: VolumeRef, size: number): Promise<Buffer> {
      const data = Buffer.concat([randomBytes(size / 2), Buffer.alloc(size / 2)]);
      await d.writeVolume(ref, Readable.from([data]), size);
      return data;
    }

    it('declares capabilities and capacity', async () => {
      const caps = d.capabilities();
      expect(caps.kinds).toContain('block');
      const cap = await d.capacity();
      expect(cap.totalBytes).toBeGreaterThan(0);
      expect(cap.freeBytes).toBeGreaterThanOrEqual(0);
      expect(cap.freeBytes).toBeLessThanOrEqual(cap.totalBytes);
    });

    it('creates idempotently, keyed by id', async () => {
      const id = randomUUID();
      const a = await d.createVolume({ id, sizeBytes: MiB, kind: 'block' });
      const b = await d.createVolume({ id, sizeBytes: MiB, kind: 'block' });
      expect(b.externalId).toBe(a.externalId);
      const listed = await d.listVolumes();
      expect(listed.items.filter((i) => i.externalId === a.externalId)).toHaveLength(1);
    });

    it('writes and reads bytes; a new volume reads as zeros', async () => {
      const ref = await newVolume();
      expect((await readAll(d, ref)).equals(Buffer.alloc(2 * MiB))).toBe(true);
      const data = await fill(ref, 2 * MiB);
      expect((await readAll(d, ref)).equals(data)).toBe(true);
    });

    it('snapshots, and reverts to any snapshot (where the driver can revert)', async () => {
      const ref = await newVolume();
      const v1 = await fill(ref, 2 * MiB);
      const s1 = await d.createSnapshot(randomUUID(), ref);
      const v2 = await fill(ref, 2 * MiB);
      const s2id = randomUUID();
      const s2 = await d.createSnapshot(s2id, ref);
      expect(s2.readyToUse).toBe(true);
      await fill(ref, 2 * MiB);
      if (d.capabilities().revertToSnapshot) {
        await d.revertToSnapshot(ref, { id: 'first', externalId: s1.externalId, volume: ref });
        expect((await readAll(d, ref)).equals(v1)).toBe(true);
        await d.revertToSnapshot(ref, { id: s2id, externalId: s2.externalId, volume: ref });
        expect((await readAll(d, ref)).equals(v2)).toBe(true);
      } else {
        // No revert (CSI has none): each snapshot still holds the bytes it was cut from.
        for (const [snap, bytes] of [[s1, v1], [s2, v2]] as const) {
          const id = randomUUID();
          const from = await d.createVolume({ id, sizeBytes: 2 * MiB, kind: 'block', source: { snapshot: { id: randomUUID(), externalId: snap.externalId, volume: ref } } });
          expect((await readAll(d, { id, externalId: from.externalId, kind: 'block' })).equals(bytes)).toBe(true);
        }
        await expect(Promise.resolve().then(() => d.revertToSnapshot(ref, { id: 'first', externalId: s1.externalId, volume: ref }))).rejects.toThrow(/revert/);
      }
      await d.deleteSnapshot({ id: s2id, externalId: s2.externalId, volume: ref });
      await d.deleteSnapshot({ id: s2id, externalId: s2.externalId, volume: ref });
    });

    it('clones and creates from snapshot with identical bytes', async () => {
      const ref = await newVolume();
      const data = await fill(ref, 2 * MiB);
      const snapId = randomUUID();
      const snap = await d.createSnapshot(snapId, ref);
      const cloneId = randomUUID();
      const clone = await d.createVolume({ id: cloneId, sizeBytes: 2 * MiB, kind: 'block', source: { volume: ref } });
      expect((await readAll(d, { id: cloneId, externalId: clone.externalId, kind: 'block' })).equals(data)).toBe(true);
      const fromId = randomUUID();
      const from = await d.createVolume({ id: fromId, sizeBytes: 3 * MiB, kind: 'block', source: { snapshot: { id: snapId, externalId: snap.externalId, volume: ref } } });
      const bytes = await readAll(d, { id: fromId, externalId: from.externalId, kind: 'block' });
      expect(bytes.length).toBe(3 * MiB);
      expect(bytes.subarray(0, 2 * MiB).equals(data)).toBe(true);
    });

    it('extends keeping bytes and never shrinks', async () => {
      const ref = await newVolume();
      const data = await fill(ref, 2 * MiB);
      expect((await d.extendVolume(ref, 4 * MiB)).sizeBytes).toBe(4 * MiB);
      const bytes = await readAll(d, ref);
      expect(bytes.length).toBe(4 * MiB);
      expect(bytes.subarray(0, 2 * MiB).equals(data)).toBe(true);
      expect((await d.extendVolume(ref, MiB)).sizeBytes).toBe(4 * MiB);
      expect((await readAll(d, ref)).length).toBe(4 * MiB);
    });

    it('publishes with connection info and unpublishes idempotently', async () => {
      const ref = await newVolume();
      const info = await d.publish({ volume: ref, node: 'n1', readonly: false, attachmentId: 'a1' });
      expect(typeof info.driverVolumeType).toBe('string');
      await d.unpublish(ref, 'n1', 'a1');
      await d.unpublish(ref, 'n1', 'a1');
    });

    it('deletes idempotently', async () => {
      const ref = await newVolume();
      expect(await d.volumeExists(ref)).toBe(true);
      await d.deleteVolume(ref);
      await d.deleteVolume(ref);
      expect((await d.listVolumes()).items.map((i) => i.externalId)).not.toContain(ref.externalId);
      expect(await d.volumeExists(ref)).toBe(false);
    });

    it('pages through its volumes', async () => {
      const made = [await newVolume(MiB), await newVolume(MiB), await newVolume(MiB)];
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await d.listVolumes(token, 1);
        expect(page.items.length).toBeLessThanOrEqual(1);
        seen.push(...page.items.map((i) => i.externalId));
        token = page.nextToken ?? undefined;
      } while (token);
      for (const m of made) expect(seen).toContain(m.externalId);
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('lists manageable volumes; manage reports the size; unmanage keeps the bytes', async () => {
      const ref = await newVolume();
      const data = await fill(ref, 2 * MiB);
      const candidates = await d.listManageableVolumes();
      const mine = candidates.find((c) => c.externalId === ref.externalId);
      expect(mine?.reasonNotSafe).toBeNull();
      const adopted = await d.manageExisting(randomUUID(), mine?.reference ?? {}, 'block');
      expect(adopted.externalId).toBe(ref.externalId);
      expect(adopted.sizeBytes).toBe(2 * MiB);
      await d.unmanage(ref);
      expect((await readAll(d, ref)).equals(data)).toBe(true);
    });
  });
}
