// Copies that keep holes. ext4 has no reflink and fs.copyFile would allocate
// every byte of a sparse file, so where a clone is refused we copy only the
// chunks that hold data and leave the rest as holes.

import { execFile } from 'node:child_process';
import { constants as fsConstants, fstatSync, ftruncateSync } from 'node:fs';
import { promisify } from 'node:util';
import * as fs from 'node:fs/promises';
import type { Readable } from 'node:stream';

const READ_CHUNK = 1024 * 1024;
/** From this size on, cp (which skips holes) beats reading the holes as zeros here. */
const CP_FROM_BYTES = 16 * 1024 * 1024;
/** Granularity of hole detection: a chunk of zeros this big is not written. */
const HOLE_CHUNK = 64 * 1024;
const ZEROS = Buffer.alloc(HOLE_CHUNK);

export type ProgressFn = (done: number, total: number) => void;

function isZero(buf: Buffer, start: number, end: number): boolean {
  return buf.compare(ZEROS, 0, end - start, start, end) === 0;
}

/** Writes the non-zero parts of `buf` at `offset`; zero parts stay holes. */
async function writeDataOnly(fh: fs.FileHandle, buf: Buffer, length: number, offset: number): Promise<void> {
  for (let start = 0; start < length; start += HOLE_CHUNK) {
    const end = Math.min(start + HOLE_CHUNK, length);
    if (!isZero(buf, start, end)) await fh.write(buf, start, end - start, offset + start);
  }
}

const execFileAsync = promisify(execFile);

/**
 * Pairs of filesystems (source device, target device) that refused a reflink
 * clone: copies between them skip the attempt, a failing system call and a
 * thrown error. Keyed by device, not folder: every volume has a snapshot
 * folder of its own.
 */
const reflinkRefused = new Set<string>();

/** A file this big with no block allocated holds no data: only files of a few KiB keep bytes inside their inode. */
const HOLES_ONLY_FROM_BYTES = 1024 * 1024;

/** `cp --sparse=always`; false when there is no such cp here (the caller copies itself). */
async function copyWithCp(src: string, dst: string): Promise<boolean> {
  try {
    await execFileAsync('cp', ['--sparse=always', '--', src, dst]);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // No cp, or one without --sparse (BusyBox, BSD): copy in-process.
    if (code === 'ENOENT' || /unrecognized option|illegal option|invalid option/.test(String((e as { stderr?: string }).stderr ?? ''))) return false;
    throw e;
  }
}

/** Opens both files together; if one fails, the other is closed. */
async function openPair(src: string, dst: string): Promise<[fs.FileHandle, fs.FileHandle]> {
  const [source, target] = await Promise.allSettled([fs.open(src, 'r'), fs.open(dst, 'w')]);
  if (source.status === 'fulfilled' && target.status === 'fulfilled') return [source.value, target.value];
  for (const r of [source, target]) if (r.status === 'fulfilled') await r.value.close();
  throw source.status === 'rejected' ? source.reason : (target as PromiseRejectedResult).reason;
}

/**
 * Copies `src` to `dst` (created or replaced): a reflink clone where the
 * filesystem allows it, else a hole-keeping copy. Returns the copy's size in
 * bytes. Calls that do not depend on each other run together: under
 * load each wait for a file call is a turn of a busy event loop, which costs
 * far more than the call itself.
 */
export async function copySparseFile(src: string, dst: string, progress?: ProgressFn): Promise<number> {
  const [source, opened] = await openPair(src, dst);
  let target = opened;
  let targetOpen = true;
  try {
    // Metadata calls on open descriptors answer at once on a local disk; handing
    // them to the thread pool would cost a turn of the event loop each.
    const { size, blocks, dev } = fstatSync(source.fd);
    const targetDev = fstatSync(target.fd).dev;
    const devices = `${String(dev)}>${String(targetDev)}`;
    if (!reflinkRefused.has(devices)) {
      targetOpen = false;
      await target.close();
      try {
        await fs.copyFile(src, dst, fsConstants.COPYFILE_FICLONE_FORCE);
        progress?.(size, size);
        return size;
      } catch {
        // No reflink here (ext4, tmpfs, across filesystems): copy the data extents, and do not ask again.
        reflinkRefused.add(devices);
        target = await fs.open(dst, 'w');
        targetOpen = true;
      }
    }
    ftruncateSync(target.fd, size);
    if (blocks === 0 && size >= HOLES_ONLY_FROM_BYTES) {
      // Nothing but holes (a volume never written): the sized file is the copy.
    } else if (size >= CP_FROM_BYTES && (await copyWithCp(src, dst))) {
      // coreutils' cp finds the data extents with SEEK_DATA/SEEK_HOLE, which
      // Node cannot: a mostly empty 2 GiB volume copies in milliseconds
      // instead of reading 2 GiB of zeros. Small files are read here: that is
      // quicker than starting a process. Without cp, the read loop below does the same.
    } else {
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(size, 1)));
      for (let offset = 0; offset < size; ) {
        const { bytesRead } = await source.read(buf, 0, Math.min(buf.length, size - offset), offset);
        if (bytesRead === 0) break;
        await writeDataOnly(target, buf, bytesRead, offset);
        offset += bytesRead;
        progress?.(offset, size);
      }
    }
    // Durable before the caller renames it into place.
    await target.sync();
    progress?.(size, size);
    return size;
  } finally {
    await Promise.all([source.close(), targetOpen ? target.close() : undefined]);
  }
}

/**
 * Replaces the contents of `dst` with the bytes of `source` (exactly
 * `sizeBytes`, zero-padded if the stream is shorter), keeping zero runs as
 * holes.
 */
export async function writeStreamSparse(
  dst: string,
  source: Readable,
  sizeBytes: number,
  progress?: ProgressFn,
): Promise<number> {
  const target = await fs.open(dst, 'w');
  let offset = 0;
  try {
    await target.truncate(sizeBytes);
    for await (const chunk of source as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const length = Math.min(buf.length, sizeBytes - offset);
      if (length <= 0) continue;
      await writeDataOnly(target, buf, length, offset);
      offset += length;
      progress?.(offset, sizeBytes);
    }
    await target.sync();
  } finally {
    await target.close();
  }
  return offset;
}

/** Bytes actually allocated on disk (to check that holes survived). */
export async function allocatedBytes(path: string): Promise<number> {
  const st = await fs.stat(path);
  return st.blocks * 512;
}
