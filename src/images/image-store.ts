// A local image store under the data dir (a small stand-in for Glance): raw
// images as sparse files, written to a temporary name and renamed when whole.

import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { NotFoundError } from '../domain/errors.js';
import { assertSafeId } from '../drivers/file/paths.js';
import { writeStreamSparse, type ProgressFn } from '../drivers/file/sparse-copy.js';

export class ImageStore {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    for (const name of await fs.readdir(this.dir)) {
      if (name.endsWith('.partial')) await fs.rm(path.join(this.dir, name), { force: true });
    }
  }

  private file(id: string): string {
    return path.join(this.dir, `${assertSafeId(id, 'image id')}.img`);
  }

  /** Stores the stream as image `id`; returns its size and sha256. */
  async write(id: string, source: Readable, maxBytes: number, progress?: ProgressFn): Promise<{ sizeBytes: number; checksum: string }> {
    const hash = createHash('sha256');
    const tee = new PassThrough();
    let seen = 0;
    source.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      hash.update(chunk);
    });
    source.on('error', (e) => tee.destroy(e));
    source.pipe(tee);
    const partial = `${this.file(id)}.partial`;
    const written = await writeStreamSparse(partial, tee, maxBytes, progress);
    if (seen > maxBytes) {
      await fs.rm(partial, { force: true });
      throw new Error(`image ${id} is larger than ${maxBytes} bytes`);
    }
    await fs.truncate(partial, written);
    await fs.rename(partial, this.file(id));
    return { sizeBytes: written, checksum: hash.digest('hex') };
  }

  async read(id: string): Promise<{ stream: Readable; sizeBytes: number }> {
    const file = this.file(id);
    let size: number;
    try {
      size = (await fs.stat(file)).size;
    } catch {
      throw new NotFoundError('image data', id);
    }
    return { stream: createReadStream(file, { highWaterMark: 1024 * 1024 }), sizeBytes: size };
  }

  async remove(id: string): Promise<void> {
    await fs.rm(this.file(id), { force: true });
    await fs.rm(`${this.file(id)}.partial`, { force: true });
  }
}
