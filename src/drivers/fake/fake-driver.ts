// A scriptable in-memory driver for fault-injection tests and UI work: queue
// failures or delays per operation, and read call counts afterwards.

import { Readable } from 'node:stream';
import { BackendError, NotFoundError } from '../../domain/errors.js';
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

export type FakeOperation =
  | 'createVolume'
  | 'deleteVolume'
  | 'extendVolume'
  | 'publish'
  | 'unpublish'
  | 'createSnapshot'
  | 'deleteSnapshot'
  | 'revertToSnapshot'
  | 'manageExisting'
  | 'readVolume'
  | 'writeVolume';

interface Scripted {
  readonly error?: Error;
  readonly delayMs?: number;
}

interface Stored {
  bytes: Buffer;
  readonly kind: VolumeKind;
}

export interface FakeDriverOptions {
  readonly capabilities?: Partial<DriverCapabilitySet>;
  readonly totalBytes?: number;
}

export class FakeDriver extends DriverBase {
  readonly kind = 'fake';
  readonly calls: Record<string, number> = {};
  /** Most driver calls under way at once, for serialization tests. */
  maxInFlight = 0;
  private inFlight = 0;
  private readonly scripts = new Map<FakeOperation, Scripted[]>();
  private readonly objects = new Map<string, Stored>();
  private readonly caps: DriverCapabilitySet;
  private readonly totalBytes: number;

  constructor(options: FakeDriverOptions = {}) {
    super();
    this.caps = {
      kinds: ['block'],
      snapshot: true,
      createFromSnapshot: true,
      cloneVolume: true,
      revertToSnapshot: true,
      extend: true,
      onlineExtend: false,
      publish: true,
      manage: true,
      listVolumes: true,
      streams: true,
      thinProvisioning: false,
      ...options.capabilities,
    };
    this.totalBytes = options.totalBytes ?? 1024 ** 4;
  }

  /** The next call of `op` fails with `error`. */
  failNext(op: FakeOperation, error: Error = new BackendError(`injected ${op} failure`)): this {
    return this.push(op, { error });
  }

  /** The next call of `op` waits `delayMs` first. */
  delayNext(op: FakeOperation, delayMs: number): this {
    return this.push(op, { delayMs });
  }

  private push(op: FakeOperation, s: Scripted): this {
    const queue = this.scripts.get(op) ?? [];
    queue.push(s);
    this.scripts.set(op, queue);
    return this;
  }

  private async enter(op: FakeOperation): Promise<void> {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    const next = this.scripts.get(op)?.shift();
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (next?.delayMs) await new Promise((r) => setTimeout(r, next.delayMs));
    } finally {
      this.inFlight--;
    }
    if (next?.error) throw next.error;
  }

  /** Test access to what the fake holds. */
  bytesOf(externalId: string): Buffer | undefined {
    return this.objects.get(externalId)?.bytes;
  }

  capabilities(): DriverCapabilitySet {
    return this.caps;
  }

  capacity(): Promise<PoolCapacity> {
    let used = 0;
    for (const o of this.objects.values()) used += o.bytes.length;
    return Promise.resolve({ totalBytes: this.totalBytes, freeBytes: this.totalBytes - used });
  }

  private get(externalId: string | null, type: string, id: string): Stored {
    const o = externalId === null ? undefined : this.objects.get(externalId);
    if (!o) throw new NotFoundError(type, id);
    return o;
  }

  async createVolume(req: CreateVolumeRequest): Promise<CreatedVolume> {
    await this.enter('createVolume');
    const externalId = `vol-${req.id}`;
    const have = this.objects.get(externalId);
    if (have) return { externalId, sizeBytes: have.bytes.length };
    let bytes = Buffer.alloc(req.sizeBytes);
    if (req.source && 'snapshot' in req.source) this.get(req.source.snapshot.externalId, 'snapshot', req.source.snapshot.id).bytes.copy(bytes);
    if (req.source && 'volume' in req.source) this.get(req.source.volume.externalId, 'volume', req.source.volume.id).bytes.copy(bytes);
    if (bytes.length < req.sizeBytes) bytes = Buffer.concat([bytes, Buffer.alloc(req.sizeBytes - bytes.length)]);
    this.objects.set(externalId, { bytes, kind: req.kind });
    return { externalId, sizeBytes: req.sizeBytes };
  }

  volumeExists(volume: VolumeRef): Promise<boolean> {
    return Promise.resolve(this.objects.has(volume.externalId ?? `vol-${volume.id}`));
  }

  async deleteVolume(volume: VolumeRef): Promise<void> {
    await this.enter('deleteVolume');
    // Keyed by volumed's id, like every driver: a create cut short before its record learned the externalId is found too.
    this.objects.delete(volume.externalId ?? `vol-${volume.id}`);
  }

  override async extendVolume(volume: VolumeRef, sizeBytes: number): Promise<{ sizeBytes: number }> {
    await this.enter('extendVolume');
    const o = this.get(volume.externalId, 'volume', volume.id);
    if (o.bytes.length < sizeBytes) o.bytes = Buffer.concat([o.bytes, Buffer.alloc(sizeBytes - o.bytes.length)]);
    return { sizeBytes: o.bytes.length };
  }

  override async publish(req: PublishRequest): Promise<Readonly<Record<string, unknown>>> {
    await this.enter('publish');
    this.get(req.volume.externalId, 'volume', req.volume.id);
    return { driverVolumeType: 'fake', externalId: req.volume.externalId, node: req.node, readonly: req.readonly };
  }

  override async unpublish(): Promise<void> {
    await this.enter('unpublish');
  }

  override async createSnapshot(snapshotId: string, volume: VolumeRef): Promise<CreatedSnapshot> {
    await this.enter('createSnapshot');
    const externalId = `snap-${snapshotId}`;
    const src = this.get(volume.externalId, 'volume', volume.id);
    if (!this.objects.has(externalId)) this.objects.set(externalId, { bytes: Buffer.from(src.bytes), kind: src.kind });
    return { externalId, sizeBytes: src.bytes.length, readyToUse: true };
  }

  override async deleteSnapshot(snapshot: SnapshotRef): Promise<void> {
    await this.enter('deleteSnapshot');
    if (snapshot.externalId) this.objects.delete(snapshot.externalId);
  }

  override async revertToSnapshot(volume: VolumeRef, snapshot: SnapshotRef): Promise<void> {
    await this.enter('revertToSnapshot');
    const v = this.get(volume.externalId, 'volume', volume.id);
    const s = this.get(snapshot.externalId, 'snapshot', snapshot.id);
    const bytes = Buffer.alloc(Math.max(v.bytes.length, s.bytes.length));
    s.bytes.copy(bytes);
    v.bytes = bytes;
  }

  override listVolumes(pageToken?: string, limit = 1000): Promise<Page<ExternalVolume>> {
    const all = [...this.objects.entries()].filter(([k]) => k.startsWith('vol-')).sort(([a], [b]) => a.localeCompare(b));
    const rest = all.filter(([k]) => pageToken === undefined || k > pageToken);
    const page = rest.slice(0, limit);
    const last = page.at(-1);
    return Promise.resolve({
      items: page.map(([externalId, o]) => ({ externalId, sizeBytes: o.bytes.length, kind: o.kind })),
      nextToken: rest.length > limit && last ? last[0] : null,
    });
  }

  override async listManageableVolumes(): Promise<readonly ManageableCandidate[]> {
    const { items } = await this.listVolumes();
    return items.map((v) => ({ reference: { 'source-name': v.externalId }, externalId: v.externalId, sizeBytes: v.sizeBytes, kind: v.kind, reasonNotSafe: null }));
  }

  override listManageableSnapshots(): Promise<readonly ManageableCandidate[]> {
    return Promise.resolve([]);
  }

  override async manageExisting(volumeId: string, reference: Readonly<Record<string, string>>): Promise<CreatedVolume> {
    await this.enter('manageExisting');
    const name = reference['source-name'] ?? '';
    return { externalId: name, sizeBytes: this.get(name, 'volume', volumeId).bytes.length };
  }

  override async unmanage(): Promise<void> {}

  override async readVolume(volume: VolumeRef): Promise<{ stream: Readable; sizeBytes: number }> {
    await this.enter('readVolume');
    const o = this.get(volume.externalId, 'volume', volume.id);
    return { stream: Readable.from([Buffer.from(o.bytes)]), sizeBytes: o.bytes.length };
  }

  override async writeVolume(volume: VolumeRef, source: Readable, sizeBytes: number, progress?: ProgressFn): Promise<void> {
    await this.enter('writeVolume');
    const o = this.get(volume.externalId, 'volume', volume.id);
    const chunks: Buffer[] = [];
    for await (const c of source as AsyncIterable<Buffer>) chunks.push(c);
    const data = Buffer.concat(chunks);
    const bytes = Buffer.alloc(Math.max(o.bytes.length, sizeBytes));
    data.copy(bytes, 0, 0, Math.min(data.length, bytes.length));
    o.bytes = bytes;
    progress?.(sizeBytes, sizeBytes);
  }
}
