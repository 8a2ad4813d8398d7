// The `file` driver: block volumes are sparse files, file-kind volumes are
// directories, all under the pool root and named by volumed's ids. New objects
// are built under .tmp/ and renamed into place, so every call can be repeated
// after a crash and never sees a half-made object under its final name.

import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { BackendError, InvalidInputError, NotFoundError } from '../../domain/errors.js';
import type { DriverCapabilitySet, PoolCapacity, VolumeKind } from '../../domain/types.js';
import {
  DriverBase,
  type CreatedSnapshot,
  type CreatedVolume,
  type CreateVolumeRequest,
  type ExternalVolume,
  type ManageableCandidate,
  type Page,
  type ProgressFn,
  type PublishRequest,
  type SnapshotRef,
  type VolumeRef,
} from '../driver.js';
import { listManageableSnapshots, listManageableVolumes } from './manageable.js';
import { assertSafeId, resolveReference, SNAPSHOTS_DIR, TMP_DIR, VOLUMES_DIR } from './paths.js';
import { createEmptyFile, exists, removeFolder, removeObject } from './objects.js';
import { copySparseFile, writeStreamSparse } from './sparse-copy.js';

export interface FileDriverConfig {
  readonly root: string;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The largest size the file system lets a sparse file have (ext4: 16 TiB
 * less a block with 4 KiB blocks), found by truncating a probe file: a
 * volume or an extend beyond it is refused up front instead of failing
 * with EFBIG in its task. Each try allocates nothing.
 */
async function largestSparseFile(probe: string): Promise<number> {
  const fits = async (size: number): Promise<boolean> =>
    fs.truncate(probe, size).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'EFBIG' || e.code === 'EINVAL') return false;
        throw e;
      },
    );
  await fs.writeFile(probe, '');
  try {
    let lo = 0;
    let hi = Number.MAX_SAFE_INTEGER;
    if (await fits(hi)) return hi;
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (await fits(mid)) lo = mid;
      else hi = mid;
    }
    return lo;
  } finally {
    await fs.rm(probe, { force: true });
  }
}

export class FileDriver extends DriverBase {
  readonly kind = 'file';
  readonly root: string;

  constructor(config: FileDriverConfig) {
    super();
    if (!path.isAbsolute(config.root)) throw new InvalidInputError(`must be an absolute path: ${config.root}`, 'root');
    this.root = config.root;
  }

  private largestFile: number | undefined;

  /** Creates the pool's folders; called once when the pool is opened (by any process). */
  async init(): Promise<void> {
    for (const dir of [VOLUMES_DIR, SNAPSHOTS_DIR, TMP_DIR]) await fs.mkdir(path.join(this.root, dir), { recursive: true });
    this.largestFile = await largestSparseFile(path.join(this.root, TMP_DIR, `size-probe-${process.pid}-${Date.now()}`));
  }

  /**
   * Removes work in progress that no live process owns (each name carries its
   * maker's pid), and settles file-volume reverts a crash cut in two.
   */
  override async recover(): Promise<void> {
    for (const leftover of await fs.readdir(path.join(this.root, TMP_DIR))) {
      const pid = Number(/-(\d+)-\d+$/.exec(leftover)?.[1] ?? NaN);
      if (pid !== process.pid && processAlive(pid)) continue;
      await fs.rm(path.join(this.root, TMP_DIR, leftover), { recursive: true, force: true });
    }
    for (const entry of await fs.readdir(path.join(this.root, VOLUMES_DIR))) {
      const m = /^(.+)\.(reverted|old)$/.exec(entry);
      if (m?.[1]) await this.settleDirectorySwap(path.join(this.root, VOLUMES_DIR, m[1]));
    }
  }

  capabilities(): DriverCapabilitySet {
    return {
      kinds: ['block', 'file'],
      snapshot: true,
      createFromSnapshot: true,
      cloneVolume: true,
      revertToSnapshot: true,
      extend: true,
      onlineExtend: true,
      publish: true,
      manage: true,
      listVolumes: true,
      streams: true,
      thinProvisioning: true,
    };
  }

  async capacity(): Promise<PoolCapacity> {
    const st = await fs.statfs(this.root);
    return { totalBytes: st.blocks * st.bsize, freeBytes: st.bavail * st.bsize, ...(this.largestFile !== undefined ? { maxVolumeBytes: this.largestFile } : {}) };
  }

  private volumeRel(id: string, kind: VolumeKind): string {
    assertSafeId(id, 'volume id');
    return path.join(VOLUMES_DIR, kind === 'block' ? `${id}.img` : id);
  }

  private snapshotRel(volumeId: string, snapshotId: string, kind: VolumeKind): string {
    assertSafeId(volumeId, 'volume id');
    assertSafeId(snapshotId, 'snapshot id');
    return path.join(SNAPSHOTS_DIR, volumeId, kind === 'block' ? `${snapshotId}.img` : snapshotId);
  }

  /** externalIds are relative to the root and were checked when made or adopted. */
  private abs(externalId: string): string {
    const abs = path.resolve(this.root, externalId);
    if (!abs.startsWith(path.resolve(this.root) + path.sep)) throw new BackendError(`externalId escapes pool root: ${externalId}`);
    return abs;
  }

  private async existing(ref: VolumeRef): Promise<string> {
    const abs = this.abs(ref.externalId ?? this.volumeRel(ref.id, ref.kind));
    if (!(await exists(abs))) {
      if (ref.kind === 'file') await this.settleDirectorySwap(abs);
      if (!(await exists(abs))) throw new NotFoundError('volume', ref.id);
    }
    return abs;
  }

  /**
   * A directory cannot be replaced in one rename, so a file volume is reverted
   * in steps that can each be finished after a crash: the reverted copy is made
   * complete as `<dir>.reverted`, then `<dir>` → `<dir>.old`, `<dir>.reverted`
   * → `<dir>`, and `<dir>.old` is removed. This puts a cut swap right.
   */
  private async settleDirectorySwap(target: string): Promise<void> {
    const fresh = `${target}.reverted`;
    const old = `${target}.old`;
    if (!(await exists(target))) {
      if (await exists(fresh)) await fs.rename(fresh, target);
      else if (await exists(old)) await fs.rename(old, target);
    }
    await fs.rm(fresh, { recursive: true, force: true });
    await fs.rm(old, { recursive: true, force: true });
  }

  private tmpPath(name: string): string {
    return path.join(this.root, TMP_DIR, `${name}-${process.pid}-${Date.now()}`);
  }

  /** Builds an object in .tmp with `build` and renames it to `finalAbs`. */
  private async buildInto(finalAbs: string, build: (tmp: string) => Promise<void>): Promise<void> {
    const tmp = this.tmpPath(path.basename(finalAbs));
    try {
      await build(tmp);
      await fs.rename(tmp, finalAbs).catch(async (e: NodeJS.ErrnoException) => {
        // The first object of its kind (or a folder removed by hand): make the folder once, not per create.
        if (e.code !== 'ENOENT') throw e;
        await fs.mkdir(path.dirname(finalAbs), { recursive: true });
        await fs.rename(tmp, finalAbs);
      });
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  /** Copies a volume's object; a block copy's size in bytes. */
  private async copyObject(srcAbs: string, dstTmp: string, kind: VolumeKind): Promise<number | undefined> {
    if (kind === 'block') return copySparseFile(srcAbs, dstTmp);
    await fs.cp(srcAbs, dstTmp, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    return undefined;
  }

  async createVolume(req: CreateVolumeRequest): Promise<CreatedVolume> {
    const rel = this.volumeRel(req.id, req.kind);
    const finalAbs = this.abs(rel);
    if (req.kind === 'block' && !req.source) return { externalId: rel, sizeBytes: await createEmptyFile(finalAbs, req.sizeBytes) };
    if (await exists(finalAbs)) {
      // A repeated call after a crash: the object is complete (it was renamed into place).
      return { externalId: rel, sizeBytes: req.kind === 'block' ? Math.max((await fs.stat(finalAbs)).size, req.sizeBytes) : req.sizeBytes };
    }
    let sourceAbs: string | null = null;
    if (req.source && 'snapshot' in req.source) {
      const s = req.source.snapshot;
      sourceAbs = this.abs(s.externalId ?? this.snapshotRel(s.volume.id, s.id, req.kind));
    } else if (req.source && 'volume' in req.source) {
      sourceAbs = await this.existing(req.source.volume);
    }
    if (sourceAbs !== null && !(await exists(sourceAbs))) throw new BackendError(`source of volume ${req.id} is missing on storage`);
    let sizeBytes = req.sizeBytes;
    await this.buildInto(finalAbs, async (tmp) => {
      if (sourceAbs === null) await fs.mkdir(tmp, { mode: 0o755 });
      else if (req.kind === 'file') await this.copyObject(sourceAbs, tmp, 'file');
      else {
        const copied = await copySparseFile(sourceAbs, tmp);
        if (copied < req.sizeBytes) await fs.truncate(tmp, req.sizeBytes);
        sizeBytes = Math.max(copied, req.sizeBytes);
      }
    });
    return { externalId: rel, sizeBytes };
  }

  async deleteVolume(volume: VolumeRef): Promise<void> {
    const abs = this.abs(volume.externalId ?? this.volumeRel(volume.id, volume.kind));
    const snapshots = path.join(this.root, SNAPSHOTS_DIR, assertSafeId(volume.id));
    // Independent paths: removed together, one turn of the event loop instead of two.
    await Promise.all([removeObject(abs), removeFolder(snapshots)]);
  }

  override async extendVolume(volume: VolumeRef, sizeBytes: number): Promise<{ sizeBytes: number }> {
    const abs = await this.existing(volume);
    if (volume.kind === 'file') return { sizeBytes };
    const { size } = await fs.stat(abs);
    if (size < sizeBytes) {
      await fs.truncate(abs, sizeBytes).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EFBIG') throw new InvalidInputError(`${sizeBytes} bytes is more than this file system allows a file`, 'newSizeBytes');
        throw e;
      });
    }
    return { sizeBytes: Math.max(size, sizeBytes) };
  }

  override async publish(req: PublishRequest): Promise<Readonly<Record<string, unknown>>> {
    const abs = await this.existing(req.volume);
    const access = req.access ? { export: { clients: req.access.ips, permissions: req.access.permissions, rootSquash: req.access.rootSquash } } : {};
    return { driverVolumeType: 'file', path: abs, readonly: req.readonly, node: req.node, ...access };
  }

  override async unpublish(): Promise<void> {
    // Nothing is held per node: a file path needs no teardown.
  }

  override async createSnapshot(snapshotId: string, volume: VolumeRef): Promise<CreatedSnapshot> {
    const rel = this.snapshotRel(volume.id, snapshotId, volume.kind);
    const finalAbs = this.abs(rel);
    // The volume is looked for while the snapshot is: under load each wait is
    // a turn of a busy event loop. Its answer counts only when a copy is made.
    const source = this.existing(volume);
    source.catch(() => undefined);
    const done = await exists(finalAbs);
    let sizeBytes: number | undefined;
    if (!done) {
      const src = await source;
      await this.buildInto(finalAbs, async (tmp) => {
        // The volume's snapshot folder is made while the copy runs, so the rename into it succeeds the first time.
        const [copied] = await Promise.all([this.copyObject(src, tmp, volume.kind), fs.mkdir(path.dirname(finalAbs), { recursive: true })]);
        sizeBytes = copied;
      });
    }
    if (volume.kind === 'file') return { externalId: rel, sizeBytes: 0, readyToUse: true };
    return { externalId: rel, sizeBytes: sizeBytes ?? (await fs.stat(finalAbs)).size, readyToUse: true };
  }

  override async deleteSnapshot(snapshot: SnapshotRef): Promise<void> {
    const rel = snapshot.externalId ?? this.snapshotRel(snapshot.volume.id, snapshot.id, snapshot.volume.kind);
    await removeObject(this.abs(rel));
  }

  override async revertToSnapshot(volume: VolumeRef, snapshot: SnapshotRef): Promise<void> {
    const target = await this.existing(volume);
    const src = this.abs(snapshot.externalId ?? this.snapshotRel(volume.id, snapshot.id, volume.kind));
    if (!(await exists(src))) throw new NotFoundError('snapshot', snapshot.id);
    if (volume.kind === 'file') {
      await this.settleDirectorySwap(target);
      await this.buildInto(`${target}.reverted`, async (tmp) => void (await this.copyObject(src, tmp, 'file')));
      await fs.rename(target, `${target}.old`);
      await fs.rename(`${target}.reverted`, target);
      await fs.rm(`${target}.old`, { recursive: true, force: true });
      return;
    }
    const { size } = await fs.stat(target);
    // Build the reverted image beside the volume and swap it in whole.
    await this.buildInto(target, async (tmp) => {
      if ((await copySparseFile(src, tmp)) < size) await fs.truncate(tmp, size);
    });
  }

  async volumeExists(volume: VolumeRef): Promise<boolean> {
    return exists(this.abs(volume.externalId ?? this.volumeRel(volume.id, volume.kind)));
  }

  override async listVolumes(pageToken?: string, limit = 1000): Promise<Page<ExternalVolume>> {
    const dir = path.join(this.root, VOLUMES_DIR);
    const entries = (await fs.readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile() || e.isDirectory())
      .map((e): { name: string; kind: VolumeKind } => ({ name: e.name, kind: e.isDirectory() ? 'file' : 'block' }))
      .sort((a, b) => a.name.localeCompare(b.name))
      .filter((e) => pageToken === undefined || e.name > pageToken);
    const page = entries.slice(0, limit);
    const items: ExternalVolume[] = [];
    for (const e of page) {
      const rel = path.join(VOLUMES_DIR, e.name);
      const sizeBytes = e.kind === 'block' ? (await fs.stat(this.abs(rel))).size : 0;
      items.push({ externalId: rel, sizeBytes, kind: e.kind });
    }
    const last = page.at(-1);
    return { items, nextToken: entries.length > limit && last ? last.name : null };
  }

  override listManageableVolumes(): Promise<readonly ManageableCandidate[]> {
    return listManageableVolumes(this.root);
  }

  override listManageableSnapshots(): Promise<readonly ManageableCandidate[]> {
    return listManageableSnapshots(this.root);
  }

  private sourceName(reference: Readonly<Record<string, string>>): string {
    const name = reference['source-name'];
    if (typeof name !== 'string') throw new InvalidInputError('must name the object to adopt as {"source-name": "<path in pool>"}', 'reference');
    return name;
  }

  override async manageExisting(_volumeId: string, reference: Readonly<Record<string, string>>, kind: VolumeKind): Promise<CreatedVolume> {
    const { rel, abs } = await resolveReference(this.root, this.sourceName(reference), 'reference.source-name');
    const st = await fs.stat(abs);
    if (kind === 'block' && !st.isFile()) throw new InvalidInputError(`not a regular file: ${rel}`, 'reference.source-name');
    if (kind === 'file' && !st.isDirectory()) throw new InvalidInputError(`not a directory: ${rel}`, 'reference.source-name');
    return { externalId: rel, sizeBytes: kind === 'block' ? st.size : 0 };
  }

  override async manageExistingSnapshot(_snapshotId: string, reference: Readonly<Record<string, string>>): Promise<CreatedSnapshot> {
    const { rel, abs } = await resolveReference(this.root, this.sourceName(reference), 'reference.source-name');
    if (rel.split(path.sep)[0] !== SNAPSHOTS_DIR) throw new InvalidInputError(`snapshots are adopted from ${SNAPSHOTS_DIR}/: ${rel}`, 'reference.source-name');
    const st = await fs.stat(abs);
    return { externalId: rel, sizeBytes: st.isFile() ? st.size : 0, readyToUse: true };
  }

  override async unmanage(): Promise<void> {
    // The bytes stay where they are; only the record goes.
  }

  override async readVolume(volume: VolumeRef): Promise<{ stream: Readable; sizeBytes: number }> {
    if (volume.kind !== 'block') this.unsupported('byte streams of file-kind volumes');
    const abs = await this.existing(volume);
    const { size } = await fs.stat(abs);
    return { stream: createReadStream(abs, { highWaterMark: 1024 * 1024 }), sizeBytes: size };
  }

  override async writeVolume(volume: VolumeRef, source: Readable, sizeBytes: number, progress?: ProgressFn): Promise<void> {
    if (volume.kind !== 'block') this.unsupported('byte streams of file-kind volumes');
    const abs = await this.existing(volume);
    const { size } = await fs.stat(abs);
    await writeStreamSparse(abs, source, Math.max(size, sizeBytes), progress);
  }
}
