// The Node service of `volumed csi-plugin`: the local half of an attach.
// Stage makes the volume ready on this node (a bind mount of its directory,
// or a loop device over its image), publish binds that into the workload's
// path (read-only when asked), and unpublish/unstage undo them. Each call is
// idempotent: a repeated stage or publish with the same arguments is OK.

import { statfs } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { status } from '@grpc/grpc-js';
import type { CapacityRange, StringMap, VolumeCapability } from '../../protocols/csi.js';
import { CsiError, invalid, required } from './errors.js';
import { InFlight } from './inflight.js';
import { kindOf } from './mapping.js';
import { attachLoop, bindMount, blockSize, detachLoop, isMountPoint, refreshLoop, unmountAll } from './mounts.js';

export const NODE_CAPABILITIES = ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION'] as const;

/** What a block stage left in its staging directory, for publish and unstage to find. */
interface StageRecord {
  readonly volumeId: string;
  readonly device: string;
  readonly backing: string;
}

const STAGE_FILE = 'volumed-stage.json';

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

async function readStage(staging: string): Promise<StageRecord | undefined> {
  const text = await fs.readFile(path.join(staging, STAGE_FILE), 'utf8').catch(() => undefined);
  return text ? (JSON.parse(text) as StageRecord) : undefined;
}

export function nodeService(nodeId: string) {
  const inflight = new InFlight();

  /** Where the volume's storage is on this node: the path its publish put in the context. */
  function backingOf(publishContext: StringMap, volumeId: string): string {
    const p = publishContext.path;
    if (!p) throw new CsiError(status.FAILED_PRECONDITION, `volume ${volumeId} was not published to this node (publish_context has no path)`);
    return p;
  }

  return {
    async NodeGetInfo() {
      return { node_id: nodeId, max_volumes_per_node: 0, accessible_topology: null };
    },

    async NodeGetCapabilities() {
      return { capabilities: NODE_CAPABILITIES.map((type) => ({ rpc: { type } })) };
    },

    async NodeStageVolume(req: { volume_id: string; publish_context: StringMap; staging_target_path: string; volume_capability?: VolumeCapability | null }) {
      const id = required(req.volume_id, 'volume_id');
      const staging = required(req.staging_target_path, 'staging_target_path');
      if (!req.volume_capability) throw invalid('volume_capability: is required');
      const kind = kindOf(req.volume_capability);
      const backing = backingOf(req.publish_context, id);
      return inflight.run(`volume ${id}`, async () => {
        if (!(await exists(backing))) throw new CsiError(status.NOT_FOUND, `volume ${id}: ${backing} is not on this node`);
        await fs.mkdir(staging, { recursive: true });
        if (kind === 'file') {
          if (!(await isMountPoint(staging))) await bindMount(backing, staging, false);
          return {};
        }
        const staged = await readStage(staging);
        if (staged && staged.volumeId !== id) throw new CsiError(status.ALREADY_EXISTS, `${staging} holds volume ${staged.volumeId}`);
        const device = await attachLoop(backing, false);
        await fs.writeFile(path.join(staging, STAGE_FILE), JSON.stringify({ volumeId: id, device, backing } satisfies StageRecord));
        return {};
      });
    },

    async NodeUnstageVolume(req: { volume_id: string; staging_target_path: string }) {
      const id = required(req.volume_id, 'volume_id');
      const staging = required(req.staging_target_path, 'staging_target_path');
      return inflight.run(`volume ${id}`, async () => {
        await unmountAll(staging);
        const staged = await readStage(staging);
        if (staged) {
          await detachLoop(staged.device);
          await fs.rm(path.join(staging, STAGE_FILE), { force: true });
        }
        return {};
      });
    },

    async NodePublishVolume(req: { volume_id: string; publish_context: StringMap; staging_target_path: string; target_path: string; volume_capability?: VolumeCapability | null; readonly: boolean }) {
      const id = required(req.volume_id, 'volume_id');
      const target = required(req.target_path, 'target_path');
      const staging = required(req.staging_target_path, 'staging_target_path');
      if (!req.volume_capability) throw invalid('volume_capability: is required');
      const kind = kindOf(req.volume_capability);
      return inflight.run(`volume ${id}`, async () => {
        if (await isMountPoint(target)) return {};
        if (kind === 'file') {
          if (!(await isMountPoint(staging))) throw new CsiError(status.FAILED_PRECONDITION, `volume ${id} is not staged at ${staging}`);
          await fs.mkdir(target, { recursive: true });
          await bindMount(staging, target, req.readonly);
          return {};
        }
        const staged = await readStage(staging);
        if (staged?.volumeId !== id) throw new CsiError(status.FAILED_PRECONDITION, `volume ${id} is not staged at ${staging}`);
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.writeFile(target, '', { flag: 'a' });
        await bindMount(staged.device, target, req.readonly);
        return {};
      });
    },

    async NodeUnpublishVolume(req: { volume_id: string; target_path: string }) {
      const id = required(req.volume_id, 'volume_id');
      const target = required(req.target_path, 'target_path');
      return inflight.run(`volume ${id}`, async () => {
        await unmountAll(target);
        await fs.rm(target, { recursive: false, force: true }).catch(() => fs.rmdir(target).catch(() => undefined));
        return {};
      });
    },

    async NodeGetVolumeStats(req: { volume_id: string; volume_path: string }) {
      required(req.volume_id, 'volume_id');
      const p = required(req.volume_path, 'volume_path');
      const st = await fs.stat(p).catch(() => undefined);
      if (!st) throw new CsiError(status.NOT_FOUND, `${p} does not exist`);
      const condition = { abnormal: !(await isMountPoint(p)), message: (await isMountPoint(p)) ? 'mounted' : `${p} is not mounted` };
      if (st.isDirectory()) {
        const fsStat = await statfs(p);
        return {
          usage: [
            { unit: 'BYTES', total: fsStat.blocks * fsStat.bsize, available: fsStat.bavail * fsStat.bsize, used: (fsStat.blocks - fsStat.bfree) * fsStat.bsize },
            { unit: 'INODES', total: fsStat.files, available: fsStat.ffree, used: fsStat.files - fsStat.ffree },
          ],
          volume_condition: condition,
        };
      }
      const size = await blockSize(p);
      return { usage: [{ unit: 'BYTES', total: size, available: 0, used: size }], volume_condition: condition };
    },

    async NodeExpandVolume(req: { volume_id: string; volume_path: string; staging_target_path: string; capacity_range?: CapacityRange | null }) {
      const id = required(req.volume_id, 'volume_id');
      const volumePath = required(req.volume_path, 'volume_path');
      return inflight.run(`volume ${id}`, async () => {
        if (!(await exists(volumePath))) throw new CsiError(status.NOT_FOUND, `volume ${id} is not published at ${volumePath} on this node`);
        const staged = req.staging_target_path ? await readStage(req.staging_target_path) : undefined;
        if (!staged) return { capacity_bytes: req.capacity_range?.required_bytes ?? 0 };
        await refreshLoop(staged.device);
        return { capacity_bytes: await blockSize(staged.device) };
      });
    },
  };
}
