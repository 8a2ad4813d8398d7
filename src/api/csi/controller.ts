// The Controller service of `volumed csi-plugin`: one more thin surface over
// volumed, so a volume a kubelet or Nomad client provisions is a volumed
// volume (in the API, under quotas, through the state machine). Semantics
// as the spec words them: idempotent by name, NOT_FOUND vs OK on repeated
// deletes, FAILED_PRECONDITION for what a rule forbids, ABORTED for a call
// racing another on the same volume, and paging tokens that refuse garbage.

import { status } from '@grpc/grpc-js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../domain/errors.js';
import { GiB, type Volume } from '../../domain/types.js';
import { type CapacityRange, type ContentSource, type StringMap, type VolumeCapability } from '../../protocols/csi.js';
import type { CsiBackend } from './backend.js';
import { CsiError, invalid, required } from './errors.js';
import { InFlight } from './inflight.js';
import { accessOf, conditionOf, csiSnapshotOf, csiVolumeOf, idForName, kindOf, kindOfAll, publishContextOf, publishedNodes } from './mapping.js';

export const CONTROLLER_CAPABILITIES = [
  'CREATE_DELETE_VOLUME',
  'PUBLISH_UNPUBLISH_VOLUME',
  'LIST_VOLUMES',
  'GET_CAPACITY',
  'CREATE_DELETE_SNAPSHOT',
  'LIST_SNAPSHOTS',
  'CLONE_VOLUME',
  'PUBLISH_READONLY',
  'EXPAND_VOLUME',
  'LIST_VOLUMES_PUBLISHED_NODES',
  'VOLUME_CONDITION',
  'GET_VOLUME',
  'MODIFY_VOLUME',
  'GET_SNAPSHOT',
] as const;

/** Parameters volumed reads itself; the rest are kept with the volume as the CO gave them. */
const OWN_PARAMETERS = new Set(['type', 'pool', 'namespace', 'kind']);

/** The parameters a CO may change later (ControllerModifyVolume, or a create's mutable_parameters): only the type. */
function checkMutable(mutable: StringMap): void {
  const unknown = Object.keys(mutable).filter((k) => k !== 'type');
  if (unknown.length) throw invalid(`mutable_parameters: volumed can change only type, not ${unknown.join(', ')}`);
}

function sizeFrom(range: CapacityRange | null | undefined): { size: number; min: number; max: number } {
  const min = range?.required_bytes ?? 0;
  const max = range?.limit_bytes ?? 0;
  if (min < 0 || max < 0) throw invalid('capacity_range: bytes must not be negative');
  if (max && min > max) throw new CsiError(status.OUT_OF_RANGE, `capacity_range: required_bytes ${min} is more than limit_bytes ${max}`);
  return { size: min || Math.min(max || GiB, GiB), min, max };
}

/** Paging tokens are volumed cursors; one volumed did not hand out is ABORTED, as the spec says. */
async function paged<T>(token: string, read: (cursor: string | undefined) => Promise<T>): Promise<T> {
  try {
    return await read(token || undefined);
  } catch (e) {
    if (token && e instanceof InvalidInputError) throw new CsiError(status.ABORTED, `starting_token ${JSON.stringify(token)} is not one this plugin gave out`);
    throw e;
  }
}

/**
 * `knownNodes`: the node ids this plugin's Node service answers for; a
 * publish to any other node is NOT_FOUND, as the spec asks.
 */
export function controllerService(backend: CsiBackend, knownNodes: ReadonlySet<string>) {
  const inflight = new InFlight();

  async function volumeOrNotFound(id: string): Promise<Volume> {
    const v = await backend.getVolume(id);
    if (!v) throw new CsiError(status.NOT_FOUND, `volume ${id} not found`);
    return v;
  }

  /** Why an existing volume does not answer this create, or undefined when it does. */
  function mismatch(v: Volume, want: { kind: string; min: number; max: number; source: ContentSource | null | undefined; type: string | undefined }): string | undefined {
    if (v.kind !== want.kind) return `it is a ${v.kind} volume`;
    if (v.sizeBytes < want.min || (want.max && v.sizeBytes > want.max)) return `its size ${v.sizeBytes} is outside the capacity range`;
    const snap = want.source?.snapshot?.snapshot_id;
    const vol = want.source?.volume?.volume_id;
    const has = v.source && 'snapshotId' in v.source ? v.source.snapshotId : v.source && 'volumeId' in v.source ? v.source.volumeId : undefined;
    if ((snap ?? vol) !== has) return `it was made from ${has ?? 'nothing'}`;
    if (want.type !== undefined && v.typeId !== want.type && v.csi?.parameters.type !== want.type) return `it has another type`;
    return undefined;
  }

  return {
    async ControllerGetCapabilities() {
      return { capabilities: CONTROLLER_CAPABILITIES.map((type) => ({ rpc: { type } })) };
    },

    async CreateVolume(req: { name: string; capacity_range?: CapacityRange | null; volume_capabilities: VolumeCapability[]; parameters: StringMap; secrets: StringMap; volume_content_source?: ContentSource | null; mutable_parameters: StringMap }) {
      const name = required(req.name, 'name');
      const kind = kindOfAll(req.volume_capabilities);
      if (req.parameters.kind && req.parameters.kind !== kind) throw invalid(`parameters.kind ${req.parameters.kind} contradicts the ${kind} capability`);
      const access = req.volume_capabilities.map((c, i) => accessOf(c, `volume_capabilities[${i}]`));
      const { size, min, max } = sizeFrom(req.capacity_range);
      checkMutable(req.mutable_parameters);
      const params = { ...req.parameters, ...req.mutable_parameters };
      const source = req.volume_content_source;
      const id = idForName(name);
      const want = { kind, min, max, source, type: params.type };
      return inflight.run(`volume ${id}`, async () => {
        const existing = await backend.getVolume(id);
        if (existing) {
          const why = mismatch(existing, want);
          if (why) throw new CsiError(status.ALREADY_EXISTS, `a volume named ${name} exists with other parameters: ${why}`);
          return { volume: csiVolumeOf(existing) };
        }
        if (source?.snapshot && !(await backend.getSnapshot(source.snapshot.snapshot_id))) throw new CsiError(status.NOT_FOUND, `snapshot ${source.snapshot.snapshot_id} not found`);
        if (source?.volume && !(await backend.getVolume(source.volume.volume_id))) throw new CsiError(status.NOT_FOUND, `volume ${source.volume.volume_id} not found`);
        const created = await backend
          .createVolume({
            id,
            name,
            sizeBytes: size,
            kind,
            namespace: params.namespace ?? 'default',
            ...(params.type ? { type: params.type } : {}),
            ...(params.pool ? { pool: params.pool } : {}),
            ...(source?.snapshot ? { source: { snapshotId: source.snapshot.snapshot_id } } : source?.volume ? { source: { volumeId: source.volume.volume_id } } : {}),
            accessModes: access,
            mountOptions: req.volume_capabilities.flatMap((c) => c.mount?.mount_flags ?? []),
            csi: { fsType: req.volume_capabilities.find((c) => c.mount?.fs_type)?.mount?.fs_type ?? '', parameters: Object.fromEntries(Object.entries(params).filter(([k]) => !OWN_PARAMETERS.has(k))), context: {}, capacityMin: min, capacityMax: max },
            ...(Object.keys(req.secrets).length ? { secrets: req.secrets } : {}),
          })
          .catch((e: unknown) => {
            // A copy must be at least its source's size: the spec calls that OUT_OF_RANGE.
            if (e instanceof InvalidInputError && e.field === 'sizeBytes') throw new CsiError(status.OUT_OF_RANGE, e.message);
            throw e;
          });
        return { volume: csiVolumeOf(created) };
      });
    },

    async DeleteVolume(req: { volume_id: string }) {
      const id = required(req.volume_id, 'volume_id');
      return inflight.run(`volume ${id}`, async () => {
        // Gone already: the spec's answer is OK.
        if (!(await backend.getVolume(id))) return {};
        await backend.deleteVolume(id).catch((e: unknown) => {
          if (e instanceof NotFoundError) return;
          throw e;
        });
        return {};
      });
    },

    async ControllerPublishVolume(req: { volume_id: string; node_id: string; volume_capability?: VolumeCapability | null; readonly: boolean }) {
      const id = required(req.volume_id, 'volume_id');
      const node = required(req.node_id, 'node_id');
      if (!req.volume_capability) throw invalid('volume_capability: is required');
      const cap = req.volume_capability;
      const access = accessOf(cap);
      return inflight.run(`volume ${id}`, async () => {
        const v = await volumeOrNotFound(id);
        if (!knownNodes.has(node)) throw new CsiError(status.NOT_FOUND, `node ${node} not found: this plugin serves ${[...knownNodes].join(', ')}`);
        if (kindOf(cap) !== v.kind) throw invalid(`volume ${id} is a ${v.kind} volume; the capability asks for ${kindOf(cap)}`);
        const mode = req.readonly ? 'ro' : 'rw';
        const here = (await backend.attachments(id)).find((a) => a.node === node && a.status === 'attached');
        if (here) {
          if (here.mode !== mode) throw new CsiError(status.ALREADY_EXISTS, `volume ${id} is published on node ${node} ${here.mode === 'ro' ? 'read-only' : 'read-write'}`);
          return { publish_context: publishContextOf(here) };
        }
        const attachment = await backend.attach(id, { node, mode, access }).catch((e: unknown) => {
          // Published elsewhere, and the volume cannot be on two nodes.
          if (e instanceof ConflictError) throw new CsiError(status.FAILED_PRECONDITION, e.message);
          throw e;
        });
        return { publish_context: publishContextOf(attachment) };
      });
    },

    async ControllerUnpublishVolume(req: { volume_id: string; node_id: string }) {
      const id = required(req.volume_id, 'volume_id');
      return inflight.run(`volume ${id}`, async () => {
        if (!(await backend.getVolume(id))) return {};
        for (const a of await backend.attachments(id)) {
          if (!req.node_id || a.node === req.node_id) await backend.detach(id, a.id);
        }
        return {};
      });
    },

    async ValidateVolumeCapabilities(req: { volume_id: string; volume_context: StringMap; volume_capabilities: VolumeCapability[]; parameters: StringMap; mutable_parameters: StringMap }) {
      const v = await volumeOrNotFound(required(req.volume_id, 'volume_id'));
      if (req.volume_capabilities.length === 0) throw invalid('volume_capabilities: at least one is required');
      for (const cap of req.volume_capabilities) {
        if (kindOf(cap) !== v.kind) return { confirmed: null, message: `volume ${v.id} is a ${v.kind} volume` };
        const { accessMode } = accessOf(cap);
        if (v.accessModes.length && !v.accessModes.some((m) => m.accessMode === accessMode)) return { confirmed: null, message: `volume ${v.id} was made for ${v.accessModes.map((m) => m.accessMode).join(', ')}` };
      }
      return { confirmed: { volume_context: req.volume_context, volume_capabilities: req.volume_capabilities, parameters: req.parameters, mutable_parameters: req.mutable_parameters }, message: '' };
    },

    async ListVolumes(req: { max_entries: number; starting_token: string }) {
      if (req.max_entries < 0) throw invalid('max_entries: must not be negative');
      const page = await paged(req.starting_token, (cursor) => backend.listVolumes(req.max_entries || 1000, cursor));
      const entries = [];
      for (const v of page.items) {
        entries.push({ volume: csiVolumeOf(v), status: { published_node_ids: publishedNodes(await backend.attachments(v.id)), volume_condition: conditionOf(v) } });
      }
      return { entries, next_token: page.nextCursor ?? '' };
    },

    async ControllerGetVolume(req: { volume_id: string }) {
      const v = await volumeOrNotFound(required(req.volume_id, 'volume_id'));
      return { volume: csiVolumeOf(v), status: { published_node_ids: publishedNodes(await backend.attachments(v.id)), volume_condition: conditionOf(v) } };
    },

    async GetCapacity(req: { parameters: StringMap }) {
      return { available_capacity: await backend.freeBytes(req.parameters.pool), maximum_volume_size: null, minimum_volume_size: null };
    },

    async ControllerExpandVolume(req: { volume_id: string; capacity_range?: CapacityRange | null }) {
      const id = required(req.volume_id, 'volume_id');
      const wanted = req.capacity_range?.required_bytes ?? 0;
      if (!wanted) throw invalid('capacity_range.required_bytes: is required');
      return inflight.run(`volume ${id}`, async () => {
        let v = await volumeOrNotFound(id);
        if (req.capacity_range?.limit_bytes && v.sizeBytes > req.capacity_range.limit_bytes) throw new CsiError(status.OUT_OF_RANGE, `volume ${id} is already ${v.sizeBytes} bytes, more than limit_bytes`);
        if (v.sizeBytes < wanted) v = await backend.extend(id, wanted);
        // A staged loop device learns its new size on the node (NodeExpandVolume).
        return { capacity_bytes: v.sizeBytes, node_expansion_required: v.kind === 'block' && publishedNodes(await backend.attachments(id)).length > 0 };
      });
    },

    async ControllerModifyVolume(req: { volume_id: string; mutable_parameters: StringMap }) {
      const id = required(req.volume_id, 'volume_id');
      checkMutable(req.mutable_parameters);
      return inflight.run(`volume ${id}`, async () => {
        await volumeOrNotFound(id);
        if (req.mutable_parameters.type) await backend.retype(id, req.mutable_parameters.type);
        return {};
      });
    },

    async CreateSnapshot(req: { source_volume_id: string; name: string }) {
      const volumeId = required(req.source_volume_id, 'source_volume_id');
      const name = required(req.name, 'name');
      return inflight.run(`snapshot ${name}`, async () => {
        // Idempotent by name across the plugin: the same name on another volume is ALREADY_EXISTS.
        let cursor: string | undefined;
        do {
          const page = await backend.listSnapshots({ limit: 500, cursor });
          const same = page.items.find((s) => s.name === name);
          if (same) {
            if (same.volumeId !== volumeId) throw new CsiError(status.ALREADY_EXISTS, `snapshot ${name} exists, of volume ${same.volumeId}`);
            return { snapshot: csiSnapshotOf(same) };
          }
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        await volumeOrNotFound(volumeId);
        return inflight.run(`volume ${volumeId}`, async () => ({ snapshot: csiSnapshotOf(await backend.createSnapshot(volumeId, name)) }));
      });
    },

    async DeleteSnapshot(req: { snapshot_id: string }) {
      const id = required(req.snapshot_id, 'snapshot_id');
      return inflight.run(`snapshot ${id}`, async () => {
        if (!(await backend.getSnapshot(id))) return {};
        await backend.deleteSnapshot(id);
        return {};
      });
    },

    async GetSnapshot(req: { snapshot_id: string }) {
      const s = await backend.getSnapshot(required(req.snapshot_id, 'snapshot_id'));
      if (!s) throw new CsiError(status.NOT_FOUND, `snapshot ${req.snapshot_id} not found`);
      return { snapshot: csiSnapshotOf(s) };
    },

    async ListSnapshots(req: { max_entries: number; starting_token: string; source_volume_id: string; snapshot_id: string }) {
      if (req.max_entries < 0) throw invalid('max_entries: must not be negative');
      if (req.snapshot_id) {
        const s = await backend.getSnapshot(req.snapshot_id);
        const match = s && (!req.source_volume_id || s.volumeId === req.source_volume_id);
        return { entries: match ? [{ snapshot: csiSnapshotOf(s) }] : [], next_token: '' };
      }
      const page = await paged(req.starting_token, (cursor) => backend.listSnapshots({ limit: req.max_entries || 1000, cursor, ...(req.source_volume_id ? { volumeId: req.source_volume_id } : {}) }));
      return { entries: page.items.map((s) => ({ snapshot: csiSnapshotOf(s) })), next_token: page.nextCursor ?? '' };
    },
  };
}
