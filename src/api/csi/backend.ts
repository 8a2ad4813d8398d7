// What volumed's CSI plugin needs of volumed, in two forms: the engine in
// this process (--data-dir) or a running volumed through its native API
// (--server). Every write waits for its task, as CSI calls are synchronous;
// a task that failed is the storage's error.

import type { Volumed } from '../../app/open.js';
import { BackendError, ConflictError, ForbiddenError, InvalidInputError, InvalidStateError, NotFoundError, taskFailure, UnsupportedError } from '../../domain/errors.js';
import type { AccessModeRequest, Attachment, CsiAttributes, Snapshot, Task, Volume, VolumeKind, VolumeSource } from '../../domain/types.js';
import { ApiError, VolumedClient } from '../../client/volumed-client.js';

export interface NewCsiVolume {
  readonly id: string;
  readonly name: string;
  readonly sizeBytes: number;
  readonly kind: VolumeKind;
  readonly namespace: string;
  readonly type?: string;
  readonly pool?: string;
  readonly source?: VolumeSource;
  readonly accessModes: readonly AccessModeRequest[];
  readonly mountOptions: readonly string[];
  readonly csi: CsiAttributes;
  readonly secrets?: Readonly<Record<string, string>>;
}

export interface Paged<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

export interface CsiBackend {
  createVolume(input: NewCsiVolume): Promise<Volume>;
  getVolume(id: string): Promise<Volume | undefined>;
  deleteVolume(id: string): Promise<void>;
  listVolumes(limit: number, cursor: string | undefined): Promise<Paged<Volume>>;
  attachments(volumeId: string): Promise<readonly Attachment[]>;
  attach(volumeId: string, input: { node: string; mode: 'rw' | 'ro'; access: AccessModeRequest }): Promise<Attachment>;
  detach(volumeId: string, attachmentId: string): Promise<void>;
  extend(volumeId: string, sizeBytes: number): Promise<Volume>;
  retype(volumeId: string, type: string): Promise<Volume>;
  createSnapshot(volumeId: string, name: string): Promise<Snapshot>;
  getSnapshot(id: string): Promise<Snapshot | undefined>;
  listSnapshots(query: { volumeId?: string; limit: number; cursor: string | undefined }): Promise<Paged<Snapshot>>;
  deleteSnapshot(id: string): Promise<void>;
  /** Bytes free for new volumes (in one pool, or all together). */
  freeBytes(pool?: string): Promise<number>;
  close(): Promise<void>;
}

const WAIT_MS = 10 * 60_000;

/** A read of something that may not exist: undefined instead of NotFoundError. */
function absentAsUndefined(e: unknown): undefined {
  if (e instanceof NotFoundError) return undefined;
  throw e;
}

/** The engine of this process. */
export class EngineBackend implements CsiBackend {
  constructor(private readonly volumed: Volumed) {}

  private get engine() {
    return this.volumed.engine;
  }

  private async done(task: Task): Promise<void> {
    const ended = await this.engine.waitForTask(task.id, WAIT_MS);
    if (ended.state === 'error') throw taskFailure(ended);
    if (ended.state !== 'success') throw new BackendError(`${ended.operation} still ${ended.state}; task ${ended.id}`, { transient: true });
  }

  async createVolume(input: NewCsiVolume): Promise<Volume> {
    const { task, resource } = await this.engine.createVolume({ ...input });
    await this.done(task);
    return this.engine.getVolume(resource.id);
  }
  getVolume = (id: string): Promise<Volume | undefined> => this.engine.getVolume(id).catch(absentAsUndefined);
  async deleteVolume(id: string): Promise<void> {
    await this.done((await this.engine.deleteVolume(id)).task);
  }
  listVolumes = async (limit: number, cursor: string | undefined): Promise<Paged<Volume>> => this.engine.listVolumes({ limit, sort: 'createdAt', direction: 'asc', ...(cursor ? { cursor } : {}) });
  attachments = (volumeId: string): Promise<readonly Attachment[]> => this.engine.listAttachments(volumeId);
  async attach(volumeId: string, input: { node: string; mode: 'rw' | 'ro'; access: AccessModeRequest }): Promise<Attachment> {
    const accepted = await this.engine.attachVolume(volumeId, { node: input.node, instance: input.node, mode: input.mode, accessMode: input.access.accessMode, attachmentMode: input.access.attachmentMode });
    await this.done(accepted.task);
    return this.engine.getAttachment(accepted.attachment.id);
  }
  async detach(volumeId: string, attachmentId: string): Promise<void> {
    await this.done((await this.engine.detachVolume(volumeId, attachmentId)).task);
  }
  async extend(volumeId: string, sizeBytes: number): Promise<Volume> {
    await this.done((await this.engine.extendVolume(volumeId, sizeBytes)).task);
    return this.engine.getVolume(volumeId);
  }
  async retype(volumeId: string, type: string): Promise<Volume> {
    await this.done((await this.engine.retypeVolume(volumeId, { type, migrationPolicy: 'on-demand' })).task);
    return this.engine.getVolume(volumeId);
  }
  async createSnapshot(volumeId: string, name: string): Promise<Snapshot> {
    const { task, resource } = await this.engine.createSnapshot(volumeId, { name, force: true });
    await this.done(task);
    return this.engine.getSnapshot(resource.id);
  }
  getSnapshot = (id: string): Promise<Snapshot | undefined> => this.engine.getSnapshot(id).catch(absentAsUndefined);
  listSnapshots = (q: { volumeId?: string; limit: number; cursor: string | undefined }): Promise<Paged<Snapshot>> =>
    this.engine.listSnapshots({ limit: q.limit, ...(q.volumeId ? { volumeId: q.volumeId } : {}), ...(q.cursor ? { cursor: q.cursor } : {}) });
  async deleteSnapshot(id: string): Promise<void> {
    await this.done((await this.engine.deleteSnapshot(id)).task);
  }
  async freeBytes(pool?: string): Promise<number> {
    const pools = await this.engine.listPools();
    return pools.filter((p) => !pool || p.id === pool).reduce((sum, p) => sum + p.capacity.freeBytes, 0);
  }
  close = (): Promise<void> => this.volumed.close();
}

/** The native API's error codes as the engine's errors, so both backends fail alike. */
function errorOf(e: unknown, resource: { type: string; id: string }): unknown {
  if (!(e instanceof ApiError)) return e;
  switch (e.code) {
    case 'not_found':
      return new NotFoundError(resource.type, resource.id);
    case 'invalid_input':
      return new InvalidInputError(e.message, undefined, resource);
    case 'invalid_state':
      return new InvalidStateError(resource, e.message, 'unknown');
    case 'conflict':
      return new ConflictError(e.message, resource);
    case 'unsupported':
      return new UnsupportedError(e.message, resource);
    case 'forbidden':
    case 'unauthenticated':
      return new ForbiddenError(e.message, resource);
    default:
      return new BackendError(e.message, { resource, transient: e.status === 0 || e.status >= 500 });
  }
}

/** A running volumed, through its native API. */
export class HttpBackend implements CsiBackend {
  private readonly api: VolumedClient;
  constructor(server: string, token?: string) {
    this.api = new VolumedClient(server, token);
  }

  private async run<T>(resource: { type: string; id: string }, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw errorOf(e, resource);
    }
  }

  private check(task: Task): void {
    if (task.state === 'error') throw taskFailure(task);
  }

  createVolume(input: NewCsiVolume): Promise<Volume> {
    return this.run({ type: 'volume', id: input.id }, async () => {
      // The native API keeps no CSI attributes; the rest is the same create.
      const { csi: _csi, ...body } = input;
      const { task } = await this.api.createVolume(body, true);
      this.check(task);
      return this.api.getVolume(input.id);
    });
  }
  getVolume(id: string): Promise<Volume | undefined> {
    return this.run({ type: 'volume', id }, () => this.api.getVolume(id)).catch(absentAsUndefined);
  }
  deleteVolume(id: string): Promise<void> {
    return this.run({ type: 'volume', id }, async () => this.check((await this.api.deleteVolume(id, { wait: true })).task));
  }
  listVolumes(limit: number, cursor: string | undefined): Promise<Paged<Volume>> {
    return this.run({ type: 'volume', id: 'list' }, async () => {
      const page = await this.api.listVolumes({ limit, sort: 'createdAt', direction: 'asc', cursor });
      return { items: page.volumes, nextCursor: page.nextCursor };
    });
  }
  attachments(volumeId: string): Promise<readonly Attachment[]> {
    return this.run({ type: 'volume', id: volumeId }, () => this.api.listAttachments(volumeId));
  }
  attach(volumeId: string, input: { node: string; mode: 'rw' | 'ro'; access: AccessModeRequest }): Promise<Attachment> {
    return this.run({ type: 'volume', id: volumeId }, async () => {
      const res = await this.api.attach(volumeId, { node: input.node, instance: input.node, mode: input.mode, accessMode: input.access.accessMode, attachmentMode: input.access.attachmentMode }, true);
      this.check(res.task);
      if (!res.attachment) throw new BackendError(`attach of volume ${volumeId} answered no attachment`);
      return res.attachment;
    });
  }
  detach(volumeId: string, attachmentId: string): Promise<void> {
    return this.run({ type: 'volume', id: volumeId }, async () => this.check((await this.api.detach(volumeId, attachmentId, { wait: true })).task));
  }
  extend(volumeId: string, sizeBytes: number): Promise<Volume> {
    return this.run({ type: 'volume', id: volumeId }, async () => {
      this.check((await this.api.action(volumeId, 'extend', { newSizeBytes: sizeBytes }, true)).task);
      return this.api.getVolume(volumeId);
    });
  }
  retype(volumeId: string, type: string): Promise<Volume> {
    return this.run({ type: 'volume', id: volumeId }, async () => {
      this.check((await this.api.action(volumeId, 'retype', { type, migrationPolicy: 'on-demand' }, true)).task);
      return this.api.getVolume(volumeId);
    });
  }
  createSnapshot(volumeId: string, name: string): Promise<Snapshot> {
    return this.run({ type: 'volume', id: volumeId }, async () => {
      const res = await this.api.createSnapshot(volumeId, { name, force: true }, true);
      this.check(res.task);
      return this.api.getSnapshot(res.task.resourceId);
    });
  }
  getSnapshot(id: string): Promise<Snapshot | undefined> {
    return this.run({ type: 'snapshot', id }, () => this.api.getSnapshot(id)).catch(absentAsUndefined);
  }
  listSnapshots(q: { volumeId?: string; limit: number; cursor: string | undefined }): Promise<Paged<Snapshot>> {
    return this.run({ type: 'snapshot', id: 'list' }, async () => {
      const page = await this.api.listSnapshots({ limit: q.limit, volumeId: q.volumeId, cursor: q.cursor });
      return { items: page.snapshots, nextCursor: page.nextCursor };
    });
  }
  deleteSnapshot(id: string): Promise<void> {
    return this.run({ type: 'snapshot', id }, async () => this.check((await this.api.deleteSnapshot(id, { wait: true })).task));
  }
  freeBytes(pool?: string): Promise<number> {
    return this.run({ type: 'pool', id: pool ?? 'all' }, async () => (await this.api.listPools()).filter((p) => !pool || p.id === pool).reduce((sum, p) => sum + p.capacity.freeBytes, 0));
  }
  close = (): Promise<void> => Promise.resolve();
}
