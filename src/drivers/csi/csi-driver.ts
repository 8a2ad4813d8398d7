// A pool on any CSI plugin (volumed → plugin). At start the driver asks the
// plugin what it is and can do; the pool's capabilities follow from that, so
// the engine refuses the rest with a clear Unsupported error. Volumes are
// created with volumed's id as their CSI name (a retried create finds the
// same volume); the plugin's volume_id is the externalId. Bytes (migration,
// images) go through this node's Node service, as a CO would read them.

import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { BackendError, InvalidInputError } from '../../domain/errors.js';
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
import { CsiClient, CsiStatusError, volumedErrorOf } from './client.js';
import { LocalAttacher } from './local-attach.js';
import { capabilityNames, type CapabilityEntry, type CsiSnapshot, type CsiVolume, type StringMap, type VolumeCapability } from '../../protocols/csi.js';
import { status } from '@grpc/grpc-js';

export interface CsiDriverConfig {
  readonly endpoint: string;
  readonly secrets?: Readonly<Record<string, string>>;
  readonly parameters?: Readonly<Record<string, string>>;
  /** Where volumed stages volumes on this node to read or write their bytes. */
  readonly workDir: string;
  readonly timeoutMs?: number;
}

/** What the plugin told us when we started. */
interface PluginFacts {
  readonly name: string;
  readonly version: string;
  readonly plugin: Set<string>;
  readonly controller: Set<string>;
  readonly node: Set<string>;
  readonly nodeId: string | null;
}

const UNKNOWN_CAPACITY = 2 ** 50;
const notFound = (e: unknown): boolean => e instanceof CsiStatusError && e.code === status.NOT_FOUND;

export function capabilityFor(kind: VolumeKind): VolumeCapability {
  return kind === 'block' ? { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } } : { mount: { fs_type: '', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
}

export class CsiDriver extends DriverBase {
  readonly kind = 'csi';
  private readonly client: CsiClient;
  private facts: PluginFacts | undefined;
  private attacher: LocalAttacher | undefined;

  constructor(private readonly config: CsiDriverConfig) {
    super();
    this.client = new CsiClient({ endpoint: config.endpoint, ...(config.timeoutMs ? { timeoutMs: config.timeoutMs } : {}) });
  }

  private get secrets(): StringMap {
    return { ...(this.config.secrets ?? {}) };
  }

  private call<Res>(service: 'identity' | 'controller' | 'node', method: string, req: unknown, resource?: { type: string; id: string }): Promise<Res> {
    return this.client.call<Res>(service, method, req).catch((e: unknown) => {
      throw volumedErrorOf(e, resource);
    });
  }

  /** Asks the plugin who it is and what it can do; waits (up to a minute) for it to be ready. */
  async init(): Promise<void> {
    const info = await this.call<{ name: string; vendor_version: string }>('identity', 'GetPluginInfo', {});
    const plugin = capabilityNames((await this.call<{ capabilities: CapabilityEntry[] }>('identity', 'GetPluginCapabilities', {})).capabilities);
    for (let waited = 0; ; waited += 500) {
      const probe = await this.call<{ ready: { value: boolean } | null }>('identity', 'Probe', {});
      if (probe.ready === null || probe.ready.value) break;
      if (waited > 60_000) throw new BackendError(`CSI plugin ${info.name} did not become ready within a minute`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const controller = plugin.has('CONTROLLER_SERVICE') ? capabilityNames((await this.call<{ capabilities: CapabilityEntry[] }>('controller', 'ControllerGetCapabilities', {})).capabilities) : new Set<string>();
    // A controller-only plugin has no Node service here: bytes cannot be reached from this node.
    const nodeCaps = await this.client.call<{ capabilities: CapabilityEntry[] }>('node', 'NodeGetCapabilities', {}, { attempts: 1 }).catch(() => undefined);
    const nodeInfo = nodeCaps ? await this.client.call<{ node_id: string }>('node', 'NodeGetInfo', {}, { attempts: 1 }).catch(() => undefined) : undefined;
    this.facts = { name: info.name, version: info.vendor_version, plugin, controller, node: capabilityNames(nodeCaps?.capabilities), nodeId: nodeInfo?.node_id ?? null };
    if (!controller.has('CREATE_DELETE_VOLUME')) throw new InvalidInputError(`CSI plugin ${info.name} cannot create volumes (no CREATE_DELETE_VOLUME)`, 'pools.driver');
    if (this.facts.nodeId) {
      this.attacher = new LocalAttacher(this.client, this.config.workDir, {
        nodeId: this.facts.nodeId,
        controllerPublishes: controller.has('PUBLISH_UNPUBLISH_VOLUME'),
        stages: this.facts.node.has('STAGE_UNSTAGE_VOLUME'),
        secrets: this.secrets,
      });
    }
  }

  /** Who the plugin is (for the pool's config shown in the API). */
  describe(): { plugin: string; version: string; nodeId: string | null } {
    const f = this.must();
    return { plugin: f.name, version: f.version, nodeId: f.nodeId };
  }

  private must(): PluginFacts {
    if (!this.facts) throw new BackendError('the CSI driver was not initialised');
    return this.facts;
  }

  capabilities(): DriverCapabilitySet {
    const f = this.must();
    const c = f.controller;
    return {
      kinds: ['block', 'file'],
      snapshot: c.has('CREATE_DELETE_SNAPSHOT'),
      createFromSnapshot: c.has('CREATE_DELETE_SNAPSHOT'),
      cloneVolume: c.has('CLONE_VOLUME'),
      revertToSnapshot: false,
      extend: c.has('EXPAND_VOLUME'),
      onlineExtend: c.has('EXPAND_VOLUME') && f.plugin.has('ONLINE'),
      publish: true,
      manage: c.has('LIST_VOLUMES'),
      listVolumes: c.has('LIST_VOLUMES'),
      streams: this.attacher !== undefined,
      thinProvisioning: false,
    };
  }

  async capacity(): Promise<PoolCapacity> {
    if (!this.must().controller.has('GET_CAPACITY')) return { totalBytes: UNKNOWN_CAPACITY, freeBytes: UNKNOWN_CAPACITY };
    const res = await this.call<{ available_capacity: number; maximum_volume_size?: { value: number } | null }>('controller', 'GetCapacity', { volume_capabilities: [], parameters: { ...(this.config.parameters ?? {}) } });
    const max = res.maximum_volume_size?.value;
    return { totalBytes: Math.max(res.available_capacity, 1), freeBytes: res.available_capacity, ...(max ? { maxVolumeBytes: max } : {}) };
  }

  async createVolume(req: CreateVolumeRequest): Promise<CreatedVolume> {
    const source = req.source
      ? 'snapshot' in req.source
        ? { snapshot: { snapshot_id: req.source.snapshot.externalId ?? req.source.snapshot.id } }
        : { volume: { volume_id: req.source.volume.externalId ?? req.source.volume.id } }
      : undefined;
    const res = await this.call<{ volume: CsiVolume }>(
      'controller',
      'CreateVolume',
      {
        name: req.id,
        capacity_range: { required_bytes: req.sizeBytes },
        volume_capabilities: [capabilityFor(req.kind)],
        parameters: { ...(this.config.parameters ?? {}), ...(req.parameters ?? {}) },
        secrets: this.secrets,
        ...(source ? { volume_content_source: source } : {}),
        // Only a plugin that declares topology constraints is told where the volume must be.
        ...(req.topology && this.must().plugin.has('VOLUME_ACCESSIBILITY_CONSTRAINTS') ? { accessibility_requirements: { requisite: [{ segments: req.topology }], preferred: [{ segments: req.topology }] } } : {}),
      },
      { type: 'volume', id: req.id },
    );
    return { externalId: res.volume.volume_id, sizeBytes: res.volume.capacity_bytes || req.sizeBytes };
  }

  async deleteVolume(volume: VolumeRef): Promise<void> {
    // Never created (the create never answered): nothing of ours to delete.
    if (volume.externalId === null) return;
    await this.client.call('controller', 'DeleteVolume', { volume_id: volume.externalId, secrets: this.secrets }).catch((e: unknown) => {
      if (!notFound(e)) throw volumedErrorOf(e, { type: 'volume', id: volume.id });
    });
  }

  override async extendVolume(volume: VolumeRef, sizeBytes: number): Promise<{ sizeBytes: number }> {
    const res = await this.call<{ capacity_bytes: number }>('controller', 'ControllerExpandVolume', { volume_id: this.idOf(volume), capacity_range: { required_bytes: sizeBytes }, secrets: this.secrets, volume_capability: capabilityFor(volume.kind) }, { type: 'volume', id: volume.id });
    return { sizeBytes: Math.max(res.capacity_bytes, sizeBytes) };
  }

  private idOf(volume: VolumeRef): string {
    if (volume.externalId === null) throw new BackendError(`volume ${volume.id} has no CSI volume id yet`, { resource: { type: 'volume', id: volume.id } });
    return volume.externalId;
  }

  /** The volume's context, from the plugin (CSI hands it to the CO at create; volumed keeps only the id). */
  private async contextOf(volumeId: string): Promise<StringMap> {
    const c = this.must().controller;
    if (c.has('GET_VOLUME')) {
      const res = await this.client.call<{ volume: CsiVolume }>('controller', 'ControllerGetVolume', { volume_id: volumeId }).catch(() => undefined);
      return res?.volume.volume_context ?? {};
    }
    return (await this.findVolume(volumeId))?.volume_context ?? {};
  }

  private async findVolume(volumeId: string): Promise<CsiVolume | undefined> {
    if (!this.must().controller.has('LIST_VOLUMES')) return undefined;
    let token = '';
    do {
      const page = await this.call<{ entries: { volume: CsiVolume }[]; next_token: string }>('controller', 'ListVolumes', { max_entries: 500, starting_token: token });
      const hit = page.entries.find((e) => e.volume.volume_id === volumeId);
      if (hit) return hit.volume;
      token = page.next_token;
    } while (token);
    return undefined;
  }

  /** ControllerModifyVolume where the plugin offers it; elsewhere the new type is only recorded. */
  async modifyVolume(volume: VolumeRef, parameters: Readonly<Record<string, string>>): Promise<void> {
    if (!this.must().controller.has('MODIFY_VOLUME')) return;
    await this.call('controller', 'ControllerModifyVolume', { volume_id: this.idOf(volume), secrets: this.secrets, mutable_parameters: { ...parameters } }, { type: 'volume', id: volume.id });
  }

  /** The plugin's volume condition, where it reports one (VOLUME_CONDITION with GET_VOLUME). */
  async condition(volume: VolumeRef): Promise<{ abnormal: boolean; message: string } | null> {
    const c = this.must().controller;
    if (!c.has('VOLUME_CONDITION') || !c.has('GET_VOLUME') || volume.externalId === null) return null;
    const res = await this.client.call<{ status: { volume_condition: { abnormal: boolean; message: string } | null } | null }>('controller', 'ControllerGetVolume', { volume_id: volume.externalId }).catch(() => undefined);
    return res?.status?.volume_condition ?? null;
  }

  override async publish(req: PublishRequest): Promise<Readonly<Record<string, unknown>>> {
    const volumeId = this.idOf(req.volume);
    const context = await this.contextOf(volumeId);
    let publishContext: StringMap = {};
    if (this.must().controller.has('PUBLISH_UNPUBLISH_VOLUME')) {
      const res = await this.call<{ publish_context: StringMap }>(
        'controller',
        'ControllerPublishVolume',
        { volume_id: volumeId, node_id: req.node, volume_capability: capabilityFor(req.volume.kind), readonly: req.readonly, secrets: this.secrets, volume_context: context },
        { type: 'volume', id: req.volume.id },
      );
      publishContext = res.publish_context;
    }
    return { driverVolumeType: 'csi', plugin: this.must().name, volumeId, nodeId: req.node, readonly: req.readonly, publishContext, volumeContext: context };
  }

  override async unpublish(volume: VolumeRef, node: string): Promise<void> {
    if (!this.must().controller.has('PUBLISH_UNPUBLISH_VOLUME') || volume.externalId === null) return;
    await this.client.call('controller', 'ControllerUnpublishVolume', { volume_id: volume.externalId, node_id: node, secrets: this.secrets }).catch((e: unknown) => {
      if (!notFound(e)) throw volumedErrorOf(e, { type: 'volume', id: volume.id });
    });
  }

  override async createSnapshot(snapshotId: string, volume: VolumeRef): Promise<CreatedSnapshot> {
    let snap = (await this.call<{ snapshot: CsiSnapshot }>('controller', 'CreateSnapshot', { source_volume_id: this.idOf(volume), name: snapshotId, secrets: this.secrets, parameters: { ...(this.config.parameters ?? {}) } }, { type: 'snapshot', id: snapshotId })).snapshot;
    // Cut but not yet ready (uploading): the same call again reports progress, as the spec has COs do.
    for (let i = 0; !snap.ready_to_use && i < 600; i++) {
      await new Promise((r) => setTimeout(r, 500));
      snap = (await this.call<{ snapshot: CsiSnapshot }>('controller', 'CreateSnapshot', { source_volume_id: this.idOf(volume), name: snapshotId, secrets: this.secrets, parameters: { ...(this.config.parameters ?? {}) } })).snapshot;
    }
    return { externalId: snap.snapshot_id, sizeBytes: snap.size_bytes, readyToUse: snap.ready_to_use };
  }

  override async deleteSnapshot(snapshot: SnapshotRef): Promise<void> {
    if (snapshot.externalId === null) return;
    await this.client.call('controller', 'DeleteSnapshot', { snapshot_id: snapshot.externalId, secrets: this.secrets }).catch((e: unknown) => {
      if (!notFound(e)) throw volumedErrorOf(e, { type: 'snapshot', id: snapshot.id });
    });
  }

  async volumeExists(volume: VolumeRef): Promise<boolean> {
    if (volume.externalId === null) return false;
    if (this.must().controller.has('GET_VOLUME')) {
      try {
        await this.client.call('controller', 'ControllerGetVolume', { volume_id: volume.externalId });
        return true;
      } catch (e) {
        if (notFound(e)) return false;
        throw volumedErrorOf(e, { type: 'volume', id: volume.id });
      }
    }
    if (this.must().controller.has('LIST_VOLUMES')) return (await this.findVolume(volume.externalId)) !== undefined;
    try {
      await this.client.call('controller', 'ValidateVolumeCapabilities', { volume_id: volume.externalId, volume_capabilities: [capabilityFor(volume.kind)], secrets: this.secrets });
      return true;
    } catch (e) {
      if (notFound(e)) return false;
      throw volumedErrorOf(e, { type: 'volume', id: volume.id });
    }
  }

  override async listVolumes(pageToken?: string, limit = 500): Promise<Page<ExternalVolume>> {
    const page = await this.call<{ entries: { volume: CsiVolume }[]; next_token: string }>('controller', 'ListVolumes', { max_entries: limit, starting_token: pageToken ?? '' });
    return {
      items: page.entries.map((e) => ({ externalId: e.volume.volume_id, sizeBytes: e.volume.capacity_bytes, kind: e.volume.volume_context.kind === 'file' ? 'file' : 'block' })),
      nextToken: page.next_token || null,
    };
  }

  override async listManageableVolumes(): Promise<readonly ManageableCandidate[]> {
    const out: ManageableCandidate[] = [];
    let token: string | undefined;
    do {
      const page = await this.listVolumes(token, 500);
      for (const v of page.items) out.push({ reference: { 'source-id': v.externalId }, externalId: v.externalId, sizeBytes: v.sizeBytes, kind: v.kind, reasonNotSafe: null });
      token = page.nextToken ?? undefined;
    } while (token);
    return out;
  }

  override listManageableSnapshots(): Promise<readonly ManageableCandidate[]> {
    return this.snapshotsPage().then((snaps) => snaps.map((s) => ({ reference: { 'source-id': s.snapshot_id }, externalId: s.snapshot_id, sizeBytes: s.size_bytes, kind: 'block' as const, reasonNotSafe: null, sourceVolumeId: s.source_volume_id })));
  }

  private async snapshotsPage(filter: { snapshot_id?: string } = {}): Promise<CsiSnapshot[]> {
    if (!this.must().controller.has('LIST_SNAPSHOTS')) this.unsupported('listing snapshots');
    const out: CsiSnapshot[] = [];
    let token = '';
    do {
      const page = await this.call<{ entries: { snapshot: CsiSnapshot }[]; next_token: string }>('controller', 'ListSnapshots', { max_entries: 500, starting_token: token, secrets: this.secrets, ...filter });
      out.push(...page.entries.map((e) => e.snapshot));
      token = page.next_token;
    } while (token);
    return out;
  }

  /** Adopts a plugin volume: its id is `reference['source-id']`; the plugin confirms the capability. */
  override async manageExisting(_volumeId: string, reference: Readonly<Record<string, string>>, kind: VolumeKind): Promise<CreatedVolume> {
    const id = reference['source-id'] ?? reference['source-name'];
    if (!id) throw new InvalidInputError('name the CSI volume id as source-id', 'reference.source-id');
    let res: { confirmed: { volume_capabilities: VolumeCapability[] } | null; message: string };
    try {
      res = await this.client.call('controller', 'ValidateVolumeCapabilities', { volume_id: id, volume_capabilities: [capabilityFor(kind)], volume_context: await this.contextOf(id), secrets: this.secrets });
    } catch (e) {
      if (notFound(e)) throw new InvalidInputError(`the CSI plugin has no volume ${id}`, 'reference.source-id');
      throw volumedErrorOf(e);
    }
    if (!res.confirmed) throw new InvalidInputError(`the CSI plugin does not confirm volume ${id} as a ${kind} volume: ${res.message || 'no reason given'}`, 'reference.source-id');
    const found = await this.findVolume(id);
    return { externalId: id, sizeBytes: found?.capacity_bytes ?? 0 };
  }

  override async manageExistingSnapshot(_snapshotId: string, reference: Readonly<Record<string, string>>): Promise<CreatedSnapshot> {
    const id = reference['source-id'] ?? reference['source-name'];
    if (!id) throw new InvalidInputError('name the CSI snapshot id as source-id', 'reference.source-id');
    const [snap] = await this.snapshotsPage({ snapshot_id: id });
    if (!snap) throw new InvalidInputError(`the CSI plugin has no snapshot ${id}`, 'reference.source-id');
    return { externalId: snap.snapshot_id, sizeBytes: snap.size_bytes, readyToUse: snap.ready_to_use };
  }

  override async unmanage(): Promise<void> {
    // The plugin keeps the volume; volumed forgets it.
  }

  private bytes(volume: VolumeRef): LocalAttacher {
    if (!this.attacher) this.unsupported('reading volume bytes (no Node service on this node)');
    if (volume.kind !== 'block') this.unsupported('byte streams of file-kind volumes');
    return this.attacher;
  }

  override async readVolume(volume: VolumeRef): Promise<{ stream: Readable; sizeBytes: number }> {
    const id = this.idOf(volume);
    return this.bytes(volume).read(id, await this.contextOf(id));
  }

  override async writeVolume(volume: VolumeRef, source: Readable, sizeBytes: number, progress?: ProgressFn): Promise<void> {
    const id = this.idOf(volume);
    await this.bytes(volume).write(id, await this.contextOf(id), source, sizeBytes, progress);
  }

  close(): void {
    this.client.close();
  }
}

export function csiWorkDir(dataDir: string, poolId: string): string {
  return path.join(dataDir, 'csi', poolId);
}
