import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeDriver } from '../driver.conformance.js';
import { FileDriver } from './file-driver.js';
import { allocatedBytes } from './sparse-copy.js';

async function tempDriver(): Promise<{ driver: FileDriver; root: string; cleanup: () => Promise<void> }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'volumed-file-'));
  const driver = new FileDriver({ root });
  await driver.init();
  return { driver, root, cleanup: () => fs.rm(root, { recursive: true, force: true }) };
}

describeDriver('file', tempDriver);

describe('file driver specifics', () => {
  let fx: Awaited<ReturnType<typeof tempDriver>>;
  beforeEach(async () => {
    fx = await tempDriver();
  });
  afterEach(async () => {
    await fx.cleanup();
  });

  it('names files by id and keeps holes through snapshot and clone', async () => {
    const id = randomUUID();
    const size = 64 * 1024 * 1024;
    const created = await fx.driver.createVolume({ id, sizeBytes: size, kind: 'block' });
    expect(created.externalId).toBe(`volumes/${id}.img`);
    const file = path.join(fx.root, created.externalId);
    const fh = await fs.open(file, 'r+');
    await fh.write(randomBytes(1024 * 1024), 0, 1024 * 1024, 10 * 1024 * 1024);
    await fh.close();
    const ref = { id, externalId: created.externalId, kind: 'block' as const };
    const snap = await fx.driver.createSnapshot(randomUUID(), ref);
    expect(snap.externalId.startsWith(`snapshots/${id}/`)).toBe(true);
    const cloneId = randomUUID();
    const clone = await fx.driver.createVolume({ id: cloneId, sizeBytes: size, kind: 'block', source: { volume: ref } });
    for (const rel of [snap.externalId, clone.externalId]) {
      const st = await fs.stat(path.join(fx.root, rel));
      expect(st.size).toBe(size);
      // 1 MiB of data in 64 MiB: a copy that filled the holes would allocate all 64.
      expect(await allocatedBytes(path.join(fx.root, rel))).toBeLessThan(8 * 1024 * 1024);
    }
  });

  it('copies a never-written volume as holes and a written one byte for byte, small or large', async () => {
    const MiB = 1024 * 1024;
    for (const size of [2 * MiB, 20 * MiB]) {
      const empty = { id: randomUUID(), kind: 'block' as const };
      const written = { id: randomUUID(), kind: 'block' as const };
      const e = await fx.driver.createVolume({ ...empty, sizeBytes: size });
      const w = await fx.driver.createVolume({ ...written, sizeBytes: size });
      const data = randomBytes(4096);
      const fh = await fs.open(path.join(fx.root, w.externalId), 'r+');
      await fh.write(data, 0, data.length, MiB + 5);
      await fh.close();
      const emptySnap = await fx.driver.createSnapshot(randomUUID(), { ...empty, externalId: e.externalId });
      const writtenSnap = await fx.driver.createSnapshot(randomUUID(), { ...written, externalId: w.externalId });
      const emptyCopy = path.join(fx.root, emptySnap.externalId);
      expect((await fs.stat(emptyCopy)).size).toBe(size);
      expect(await allocatedBytes(emptyCopy)).toBe(0);
      const copy = await fs.readFile(path.join(fx.root, writtenSnap.externalId));
      expect(copy.length).toBe(size);
      expect(copy.subarray(MiB + 5, MiB + 5 + data.length).equals(data)).toBe(true);
      expect(copy.subarray(0, MiB + 5).every((b) => b === 0)).toBe(true);
      expect(copy.subarray(MiB + 5 + data.length).every((b) => b === 0)).toBe(true);
    }
  });

  it('finishes an empty volume cut off before it was sized, and keeps what a repeated create finds', async () => {
    const id = randomUUID();
    // A crash between creating the file and sizing it leaves it empty under its name.
    await fs.mkdir(path.join(fx.root, 'volumes'), { recursive: true });
    const file = path.join(fx.root, 'volumes', `${id}.img`);
    await fs.writeFile(file, '');
    const created = await fx.driver.createVolume({ id, sizeBytes: 8 * 1024 * 1024, kind: 'block' });
    expect(created.sizeBytes).toBe(8 * 1024 * 1024);
    expect((await fs.stat(file)).size).toBe(8 * 1024 * 1024);
    // Repeated with bytes written: nothing is truncated or replaced.
    await fs.writeFile(file, Buffer.alloc(16, 7), { flag: 'r+' });
    const again = await fx.driver.createVolume({ id, sizeBytes: 4 * 1024 * 1024, kind: 'block' });
    expect(again.sizeBytes).toBe(8 * 1024 * 1024);
    expect((await fs.readFile(file)).subarray(0, 16)).toEqual(Buffer.alloc(16, 7));
  });

  it('refuses ids that are not identifiers', async () => {
    await expect(fx.driver.createVolume({ id: '../escape', sizeBytes: 1, kind: 'block' })).rejects.toThrow(/valid identifier/);
  });

  it('marks non-regular files and symlinks as unsafe to manage', async () => {
    await fs.mkdir(path.join(fx.root, 'import'));
    await fs.writeFile(path.join(fx.root, 'import', 'disk.img'), 'x');
    await fs.symlink('/etc/passwd', path.join(fx.root, 'import', 'passwd.img'));
    await fs.symlink('disk.img', path.join(fx.root, 'import', 'inner.img'));
    const list = await fx.driver.listManageableVolumes();
    const by = (n: string) => list.find((c) => c.reference['source-name'] === `import/${n}`);
    expect(by('disk.img')?.reasonNotSafe).toBeNull();
    expect(by('passwd.img')?.reasonNotSafe).toMatch(/escapes the pool root/);
    expect(by('inner.img')?.reasonNotSafe).toBe('symlink');
    await expect(fx.driver.manageExisting('x', { 'source-name': 'import/inner.img' }, 'block')).rejects.toThrow(/symlink/);
    await expect(fx.driver.manageExisting('x', { 'source-name': 'import' }, 'block')).rejects.toThrow(/not a regular file/);
    await expect(fx.driver.manageExisting('x', { 'source-name': '.tmp/x' }, 'block')).rejects.toThrow(/work area/);
  });

  it('leaves no half-made object when a copy fails', async () => {
    const ref = { id: randomUUID(), externalId: 'volumes/missing.img', kind: 'block' as const };
    await expect(fx.driver.createVolume({ id: randomUUID(), sizeBytes: 1, kind: 'block', source: { volume: ref } })).rejects.toThrow();
    expect(await fs.readdir(path.join(fx.root, '.tmp'))).toEqual([]);
  });
});
