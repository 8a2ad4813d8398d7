// CSI's words for volumed's things: access modes, kinds, publish contexts,
// volume ids from CO names, and the Volume, Snapshot and status messages.

import { createHash } from 'node:crypto';
import type { AccessMode, AccessModeRequest, Attachment, Snapshot, Volume, VolumeKind } from '../../domain/types.js';
import type { AccessModeName, CsiSnapshot, CsiVolume, StringMap, VolumeCapability } from '../../protocols/csi.js';
import { timestampOf } from '../../protocols/csi.js';
import { invalid } from './errors.js';

const MODES: Readonly<Record<Exclude<AccessModeName, 'UNKNOWN'>, AccessMode>> = {
  SINGLE_NODE_WRITER: 'single-node-writer',
  SINGLE_NODE_READER_ONLY: 'single-node-reader-only',
  MULTI_NODE_READER_ONLY: 'multi-node-reader-only',
  MULTI_NODE_SINGLE_WRITER: 'multi-node-single-writer',
  MULTI_NODE_MULTI_WRITER: 'multi-node-multi-writer',
  SINGLE_NODE_SINGLE_WRITER: 'single-node-single-writer',
  SINGLE_NODE_MULTI_WRITER: 'single-node-multi-writer',
};

export function kindOf(cap: VolumeCapability): VolumeKind {
  if (cap.access_type === 'block' || cap.block) return 'block';
  if (cap.access_type === 'mount' || cap.mount) return 'file';
  throw invalid('volume_capability: give block or mount');
}

export function accessOf(cap: VolumeCapability, field = 'volume_capability'): AccessModeRequest {
  const mode = cap.access_mode?.mode;
  if (!mode || mode === 'UNKNOWN') throw invalid(`${field}.access_mode: is required`);
  return { accessMode: MODES[mode], attachmentMode: kindOf(cap) === 'block' ? 'block' : 'filesystem' };
}

/** The kind every capability asks for (they must agree). */
export function kindOfAll(caps: readonly VolumeCapability[]): VolumeKind {
  if (caps.length === 0) throw invalid('volume_capabilities: at least one is required');
  const kinds = new Set(caps.map(kindOf));
  if (kinds.size > 1) throw invalid('volume_capabilities: a volume is either block or mount, not both');
  return [...kinds][0] ?? 'block';
}

/**
 * The volumed id a CO's volume name stands for: the name itself when it is a
 * valid id (Kubernetes' pvc-<uid>, Nomad's ids), else a digest of it. The same
 * name always gives the same id, so a retried create finds its volume.
 */
export function idForName(name: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) return name;
  return `csi-${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}

/** Connection info as CSI's publish_context (strings only). */
export function publishContextOf(a: Attachment): StringMap {
  const out: StringMap = {};
  for (const [k, v] of Object.entries(a.connectionInfo ?? {})) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

/** What the volume was made with, as the CO may want it back at publish (fixed for the volume's life). */
export function volumeContextOf(v: Volume): StringMap {
  return { ...(v.csi?.parameters ?? {}), kind: v.kind, pool: v.poolId, ...(v.csi?.context ?? {}) };
}

export function csiVolumeOf(v: Volume): CsiVolume {
  const source = v.source && 'snapshotId' in v.source ? { snapshot: { snapshot_id: v.source.snapshotId } } : v.source && 'volumeId' in v.source ? { volume: { volume_id: v.source.volumeId } } : null;
  return { capacity_bytes: v.sizeBytes, volume_id: v.id, volume_context: volumeContextOf(v), content_source: source, accessible_topology: [] };
}

export function csiSnapshotOf(s: Snapshot): CsiSnapshot {
  return { size_bytes: s.sizeBytes, snapshot_id: s.id, source_volume_id: s.volumeId, creation_time: timestampOf(s.createdAt), ready_to_use: s.status === 'available' && s.readyToUse, group_snapshot_id: '' };
}

export function conditionOf(v: Volume): { abnormal: boolean; message: string } {
  const abnormal = v.status.startsWith('error');
  return { abnormal, message: abnormal ? `volume ${v.id} is ${v.status}: ${v.lastError ?? 'no detail'}` : `volume ${v.id} is ${v.status}` };
}

export function publishedNodes(attachments: readonly Attachment[]): string[] {
  return [...new Set(attachments.filter((a) => a.status === 'attached' || a.status === 'attaching').map((a) => a.node))];
}
