// POST /v3/{project}/volumes/{id}/action: each Cinder volume action, its
// microversion gate, its status code, and the engine call it makes. Which
// actions are admin-only comes from the state table (needsAdmin).

import type { FastifyRequest } from 'fastify';
import type { Volumed } from '../../app/open.js';
import type { Capability } from '../../domain/acl.js';
import { InvalidInputError, InvalidStateError, NotFoundError, UnsupportedError } from '../../domain/errors.js';
import { needsAdmin, type VolumeAction } from '../../domain/states.js';
import { VOLUME_STATUSES, type AttachStatus, type MigrationStatus, type Volume, type VolumeStatus } from '../../domain/types.js';
import type { App } from '../app.js';
import { MAX_WAIT_MS } from '../durations.js';
import { attachmentOnHost, connectionInfo } from './connections.js';
import { callerOf, GIB, gibToBytes, parseBool, type Caller } from './context.js';
import { atLeast } from './microversions.js';
import { ActionBody, IdParams } from './schemas.js';
import { poolOfHost } from './views.js';
import { visibleVolume } from './volumes.js';

type Body = Record<string, unknown>;
interface Answer {
  readonly status: number;
  readonly body?: unknown;
}
interface ActionContext {
  readonly volumed: Volumed;
  readonly req: FastifyRequest;
  readonly caller: Caller;
  readonly volume: Volume;
  readonly body: Body;
}
interface ActionSpec {
  /** The state-table action whose admin flag decides; undefined: the capability below. */
  readonly action?: VolumeAction;
  readonly need?: Capability;
  readonly minVersion?: string;
  run(c: ActionContext): Promise<Answer>;
}

const accepted: Answer = { status: 202 };

function str(body: Body, field: string, required = true): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) throw new InvalidInputError(`${field} is required`, field);
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0) throw new InvalidInputError(`must be a non-empty string`, field);
  return v;
}

function bool(body: Body, field: string): boolean {
  const v = body[field];
  if (v === undefined || v === null) throw new InvalidInputError(`${field} is required`, field);
  return typeof v === 'boolean' ? v : parseBool(v, field);
}

function dict(body: Body, field: string): Record<string, string> {
  const v = body[field];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidInputError('must be a dictionary', field);
  return Object.fromEntries(Object.entries(v).map(([k, val]) => [k, String(val)]));
}

async function waitTask(c: ActionContext, taskId: string): Promise<void> {
  const task = await c.volumed.engine.waitForTask(taskId, MAX_WAIT_MS);
  if (task.state === 'error') throw new InvalidStateError({ type: 'volume', id: c.volume.id }, 'attach volume', 'error', task.error ?? 'the task failed');
}

/** Cinder's synchronous status holds around a host's own attach or detach. */
function hold(action: VolumeAction, call: (engine: Volumed['engine'], id: string) => Promise<Volume>): ActionSpec {
  return {
    action,
    async run({ volumed, volume }) {
      await call(volumed.engine, volume.id);
      return accepted;
    },
  };
}

const ACTIONS: Readonly<Record<string, ActionSpec>> = {
  'os-extend': {
    action: 'extend',
    async run({ volumed, req, volume, body }) {
      const newSize = gibToBytes(body.new_size as number | string, 'new_size') / GIB;
      const current = Math.ceil(volume.sizeBytes / GIB);
      if (newSize <= current) throw new InvalidInputError(`New size for extend must be greater than current size. (current: ${current}, extended: ${newSize}).`, 'new_size');
      // Attached volumes grow from 3.42 (Cinder's in-use extend).
      if (volume.status === 'in-use' && !atLeast(req.cinderVersion, '3.42')) {
        throw new InvalidStateError({ type: 'volume', id: volume.id }, 'extend volume', volume.status, undefined, ['available']);
      }
      // From 3.71 an online extend waits for Nova's os-extend_volume_completion.
      await volumed.engine.extendVolume(volume.id, newSize * GIB, { awaitCompletion: volume.status === 'in-use' && atLeast(req.cinderVersion, '3.71') });
      return accepted;
    },
  },
  'os-extend_volume_completion': {
    action: 'completeExtend',
    minVersion: '3.71',
    async run({ volumed, volume, body }) {
      await volumed.engine.completeExtend(volume.id, body.error !== true);
      return accepted;
    },
  },
  'os-reset_status': {
    action: 'resetStatus',
    async run({ volumed, volume, body }) {
      const status = body.status as VolumeStatus | undefined;
      if (status !== undefined && !VOLUME_STATUSES.includes(status)) throw new InvalidInputError(`Invalid status: ${String(status)}`, 'status');
      await volumed.engine.resetVolumeStatus(volume.id, {
        ...(status !== undefined ? { status } : {}),
        ...(str(body, 'attach_status', false) !== undefined ? { attachStatus: str(body, 'attach_status') as AttachStatus } : {}),
        ...(str(body, 'migration_status', false) !== undefined ? { migrationStatus: str(body, 'migration_status') as MigrationStatus } : {}),
      });
      return accepted;
    },
  },
  revert: {
    action: 'revert',
    minVersion: '3.40',
    async run({ volumed, volume, body }) {
      await volumed.engine.revertVolume(volume.id, str(body, 'snapshot_id') ?? '');
      return accepted;
    },
  },
  'os-set_image_metadata': {
    need: 'write-volume',
    async run({ volumed, volume, body }) {
      const metadata = dict(body, 'metadata');
      const updated = await volumed.engine.updateVolume(volume.id, { imageMetadata: { ...volume.imageMetadata, ...metadata }, modifyIndex: volume.modifyIndex });
      return { status: 200, body: { metadata: updated.imageMetadata } };
    },
  },
  'os-unset_image_metadata': {
    need: 'write-volume',
    async run({ volumed, volume, body }) {
      const key = str(body, 'key') ?? '';
      if (!(key in volume.imageMetadata)) throw new NotFoundError('metadata', `${key} of volume ${volume.id}`);
      const { [key]: _gone, ...rest } = volume.imageMetadata;
      await volumed.engine.updateVolume(volume.id, { imageMetadata: rest, modifyIndex: volume.modifyIndex });
      return { status: 200 };
    },
  },
  'os-show_image_metadata': {
    need: 'read-volume',
    async run({ volume }) {
      return { status: 200, body: { metadata: { ...volume.imageMetadata } } };
    },
  },
  'os-attach': {
    action: 'attach',
    async run(c) {
      const { volumed, volume, body } = c;
      const instance = str(body, 'instance_uuid', false);
      const host = str(body, 'host_name', false) ?? instance;
      if (!host) throw new InvalidInputError('give instance_uuid or host_name', 'instance_uuid');
      const mode = str(body, 'mode', false) ?? 'rw';
      if (mode !== 'rw' && mode !== 'ro') throw new InvalidInputError("Invalid attaching mode 'x' for volume".replace('x', mode), 'mode');
      // After os-initialize_connection the host is attached already.
      if (attachmentOnHost(await volumed.engine.listAttachments(volume.id), host)) return accepted;
      const mountpoint = str(body, 'mountpoint', false);
      await volumed.engine.attachVolume(volume.id, { node: host, ...(instance ? { instance } : {}), mode, ...(mountpoint ? { mountpoint } : {}) });
      return accepted;
    },
  },
  'os-detach': {
    action: 'detach',
    async run({ volumed, volume, body }) {
      const attachments = (await volumed.engine.listAttachments(volume.id)).filter((a) => a.status === 'attached');
      const id = str(body, 'attachment_id', false) ?? (attachments.length === 1 ? attachments[0]?.id : undefined);
      if (!id) throw new InvalidInputError(attachments.length ? 'the volume has several attachments: give attachment_id' : 'the volume is not attached', 'attachment_id');
      await volumed.engine.detachVolume(volume.id, id);
      return accepted;
    },
  },
  'os-force_detach': {
    action: 'forceDetach',
    async run({ volumed, volume, body }) {
      const attachments = await volumed.engine.listAttachments(volume.id);
      const one = str(body, 'attachment_id', false);
      const ids = one ? [one] : attachments.map((a) => a.id);
      for (const id of ids) await volumed.engine.detachVolume(volume.id, id, { force: true });
      return accepted;
    },
  },
  'os-reserve': hold('reserve', (engine, id) => engine.reserveVolume(id)),
  'os-unreserve': hold('unreserve', (engine, id) => engine.unreserveVolume(id)),
  'os-begin_detaching': hold('beginDetaching', (engine, id) => engine.beginDetaching(id)),
  'os-roll_detaching': hold('rollDetaching', (engine, id) => engine.rollDetaching(id)),
  'os-initialize_connection': {
    action: 'attach',
    async run(c) {
      const { volumed, volume, body } = c;
      const connector = dict(body, 'connector');
      const host = connector.host;
      if (!host) throw new InvalidInputError('connector.host is required', 'connector');
      let attachment = attachmentOnHost(await volumed.engine.listAttachments(volume.id), host);
      if (!attachment) {
        const started = await volumed.engine.attachVolume(volume.id, { node: host, connector: body.connector as Record<string, unknown>, ...(connector.mode === 'ro' ? { mode: 'ro' as const } : {}) });
        await waitTask(c, started.task.id);
        attachment = await volumed.engine.getAttachment(started.attachment.id);
      }
      return { status: 200, body: { connection_info: connectionInfo(attachment) } };
    },
  },
  'os-terminate_connection': {
    action: 'detach',
    async run({ volumed, volume, body }) {
      const connector = dict(body, 'connector');
      const attachment = connector.host ? attachmentOnHost(await volumed.engine.listAttachments(volume.id), connector.host) : undefined;
      if (attachment?.status === 'attached') await volumed.engine.detachVolume(volume.id, attachment.id);
      return accepted;
    },
  },
  'os-unmanage': {
    action: 'unmanage',
    async run({ volumed, volume }) {
      await volumed.engine.unmanageVolume(volume.id);
      return accepted;
    },
  },
  'os-force_delete': {
    action: 'forceDelete',
    async run({ volumed, volume }) {
      await volumed.engine.deleteVolume(volume.id, { force: true });
      return accepted;
    },
  },
  'os-retype': {
    action: 'retype',
    async run({ volumed, volume, body }) {
      const policy = str(body, 'migration_policy', false) ?? 'never';
      if (policy !== 'never' && policy !== 'on-demand') throw new InvalidInputError(`Invalid migration_policy: ${policy}; must be never or on-demand`, 'migration_policy');
      await volumed.engine.retypeVolume(volume.id, { type: str(body, 'new_type') ?? '', migrationPolicy: policy });
      return accepted;
    },
  },
  'os-migrate_volume': {
    action: 'migrate',
    async run({ volumed, volume, body }) {
      const host = str(body, 'host', false) ?? str(body, 'cluster', false);
      await volumed.engine.migrateVolume(volume.id, host ? { pool: poolOfHost(host) } : {});
      return accepted;
    },
  },
  'os-migrate_volume_completion': {
    action: 'migrate',
    async run() {
      throw new UnsupportedError('os-migrate_volume_completion is not implemented: volumed moves the bytes itself and keeps the volume id');
    },
  },
  'os-set_bootable': {
    need: 'write-volume',
    async run({ volumed, volume, body }) {
      await volumed.engine.updateVolume(volume.id, { bootable: bool(body, 'bootable') });
      return { status: 200 };
    },
  },
  'os-update_readonly_flag': {
    need: 'write-volume',
    async run({ volumed, volume, body }) {
      await volumed.engine.updateVolume(volume.id, { readonly: bool(body, 'readonly') });
      return accepted;
    },
  },
  'os-volume_upload_image': {
    action: 'uploadImage',
    async run({ volumed, volume, body }) {
      const imageName = str(body, 'image_name') ?? '';
      const diskFormat = str(body, 'disk_format', false) ?? 'raw';
      if (diskFormat !== 'raw') throw new InvalidInputError(`volumed writes raw images only, not ${diskFormat}`, 'disk_format');
      const started = await volumed.engine.uploadVolumeToImage(volume.id, { imageName });
      return {
        status: 202,
        body: {
          'os-volume_upload_image': {
            id: volume.id,
            updated_at: started.resource.updatedAt,
            status: started.resource.status,
            display_description: volume.description,
            size: Math.ceil(volume.sizeBytes / GIB),
            volume_type: null,
            image_id: started.image.id,
            container_format: 'bare',
            disk_format: 'raw',
            image_name: started.image.name,
          },
        },
      };
    },
  },
  'os-reimage': {
    action: 'reimage',
    minVersion: '3.68',
    async run({ volumed, volume, body }) {
      const reserved = body.reimage_reserved === true;
      if (volume.status === 'reserved' && !reserved) throw new InvalidStateError({ type: 'volume', id: volume.id }, 'reimage volume', volume.status, 'set reimage_reserved to reimage a reserved volume', ['available', 'error']);
      if (volume.status === 'reserved') await volumed.engine.unreserveVolume(volume.id);
      await volumed.engine.reimageVolume(volume.id, str(body, 'image_id') ?? '');
      return accepted;
    },
  },
};

function actionName(req: FastifyRequest): string {
  return Object.keys((req.body as Body | undefined) ?? {})[0] ?? '';
}

function needOf(req: FastifyRequest): Capability {
  const spec = ACTIONS[actionName(req)];
  if (!spec) return 'read-volume';
  if (spec.action) {
    if (needsAdmin(spec.action)) return 'admin';
    return ['reserve', 'unreserve', 'beginDetaching', 'rollDetaching', 'attach', 'detach'].includes(spec.action) ? 'mount-volume' : 'write-volume';
  }
  return spec.need ?? 'admin';
}

export function volumeActionRoutes(app: App, volumed: Volumed): void {
  app.post('/volumes/:id/action', { config: { access: { need: needOf, resource: 'volume' } }, schema: { params: IdParams, body: ActionBody } }, async (req, reply) => {
    const name = actionName(req);
    const spec = ACTIONS[name];
    if (!spec || (spec.minVersion !== undefined && !atLeast(req.cinderVersion, spec.minVersion))) {
      throw new InvalidInputError(`There is no such action: ${name}`, 'action');
    }
    const caller = callerOf(volumed, req);
    const volume = await visibleVolume(volumed, caller, req.params.id);
    const raw = (req.body as Body)[name];
    const body = raw === null || raw === undefined ? {} : raw;
    if (typeof body !== 'object' || Array.isArray(body)) throw new InvalidInputError('must be a dictionary', name);
    const answer = await spec.run({ volumed, req, caller, volume, body: body as Body });
    return reply.status(answer.status).send(answer.body);
  });
}
