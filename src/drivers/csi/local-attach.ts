// Bytes of a CSI volume, read and written on this node: volumed acts as the
// CO for itself — ControllerPublish to its own node (when the plugin
// publishes), NodeStage, NodePublish as a block device under volumed's work
// directory — then undoes every step, also when the copy fails. This is
// what migration, upload to image and create-from-image use on a csi pool.

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { CsiClient } from './client.js';
import type { StringMap, VolumeCapability } from '../../protocols/csi.js';

export interface NodeSide {
  readonly nodeId: string;
  readonly controllerPublishes: boolean;
  readonly stages: boolean;
  readonly secrets: StringMap;
}

const BLOCK: VolumeCapability = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

export class LocalAttacher {
  constructor(
    private readonly client: CsiClient,
    private readonly workDir: string,
    private readonly node: NodeSide,
  ) {}

  /** Publishes the volume here as a block device; returns its path and the undo. */
  async attach(volumeId: string, context: StringMap, readonly: boolean): Promise<{ device: string; detach: () => Promise<void> }> {
    const dir = path.join(this.workDir, randomUUID());
    const staging = path.join(dir, 'staging');
    const target = path.join(dir, 'device');
    await fs.mkdir(staging, { recursive: true });
    const undo: (() => Promise<unknown>)[] = [() => fs.rm(dir, { recursive: true, force: true })];
    const detach = async (): Promise<void> => {
      for (const step of undo.splice(0).reverse()) await step();
    };
    try {
      let publishContext: StringMap = {};
      if (this.node.controllerPublishes) {
        const res = await this.client.call<{ publish_context: StringMap }>('controller', 'ControllerPublishVolume', {
          volume_id: volumeId,
          node_id: this.node.nodeId,
          volume_capability: BLOCK,
          readonly,
          secrets: this.node.secrets,
          volume_context: context,
        });
        publishContext = res.publish_context;
        undo.push(() => this.client.call('controller', 'ControllerUnpublishVolume', { volume_id: volumeId, node_id: this.node.nodeId, secrets: this.node.secrets }));
      }
      if (this.node.stages) {
        await this.client.call('node', 'NodeStageVolume', { volume_id: volumeId, publish_context: publishContext, staging_target_path: staging, volume_capability: BLOCK, secrets: this.node.secrets, volume_context: context });
        undo.push(() => this.client.call('node', 'NodeUnstageVolume', { volume_id: volumeId, staging_target_path: staging }));
      }
      await this.client.call('node', 'NodePublishVolume', {
        volume_id: volumeId,
        publish_context: publishContext,
        staging_target_path: this.node.stages ? staging : '',
        target_path: target,
        volume_capability: BLOCK,
        readonly,
        secrets: this.node.secrets,
        volume_context: context,
      });
      undo.push(() => this.client.call('node', 'NodeUnpublishVolume', { volume_id: volumeId, target_path: target }));
      return { device: target, detach };
    } catch (e) {
      await detach().catch(() => undefined);
      throw e;
    }
  }

  /** The device's bytes; the volume is detached once the stream has ended or been destroyed. */
  async read(volumeId: string, context: StringMap): Promise<{ stream: Readable; sizeBytes: number }> {
    const { device, detach } = await this.attach(volumeId, context, true);
    try {
      const handle = await fs.open(device, 'r');
      const sizeBytes = await deviceSize(handle);
      async function* bytes(): AsyncGenerator<Buffer> {
        try {
          for await (const chunk of handle.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false }) as AsyncIterable<Buffer>) yield chunk;
        } finally {
          await handle.close();
          await detach();
        }
      }
      return { stream: Readable.from(bytes(), { objectMode: false }), sizeBytes };
    } catch (e) {
      await detach();
      throw e;
    }
  }

  /** Overwrites the device from offset 0 with the stream, zero-filled to `sizeBytes`. */
  async write(volumeId: string, context: StringMap, source: Readable, sizeBytes: number, progress?: (done: number, total: number) => void): Promise<void> {
    const { device, detach } = await this.attach(volumeId, context, false);
    try {
      const handle = await fs.open(device, 'r+');
      try {
        let offset = 0;
        for await (const chunk of source as AsyncIterable<Buffer | string>) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          const length = Math.min(buf.length, sizeBytes - offset);
          if (length <= 0) continue;
          await handle.write(buf, 0, length, offset);
          offset += length;
          progress?.(offset, sizeBytes);
        }
        const zeros = Buffer.alloc(1024 * 1024);
        while (offset < sizeBytes) {
          const n = Math.min(zeros.length, sizeBytes - offset);
          await handle.write(zeros, 0, n, offset);
          offset += n;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
    } finally {
      await detach();
    }
  }
}

/** A block device's size, from sysfs (stat says 0 for devices): 512-byte sectors of /sys/dev/block/<major>:<minor>. */
async function deviceSize(handle: fs.FileHandle): Promise<number> {
  const st = await handle.stat();
  if (st.isFile()) return st.size;
  const major = Math.floor(st.rdev / 256) & 0xfff;
  const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
  return Number(await fs.readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8')) * 512;
}
