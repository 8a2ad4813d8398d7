// /v1/volumes and /v1/volume/csi/:id — list, read, register, create,
// deregister, delete, detach, and claims. Nomad's writes are upserts: an
// identical re-send is accepted, a larger minimum capacity expands, and a
// re-send that contradicts the volume is refused naming what differs.

import type { FastifyRequest } from 'fastify';
import type { Volumed } from '../../app/open.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../domain/errors.js';
import { GiB, type Attachment, type Pool, type Volume, type VolumeKind, type VolumeSource } from '../../domain/types.js';
import type { Static } from 'typebox';
import { blocking, done, listNamespaces, secretsHeader, writeIndex, writeResponse, type App } from './context.js';
import { compileFilter } from './filter.js';
import { ClaimBody, DeregisterQuery, DetachQuery, IdParams, ListVolumesQuery, ReadQuery, VolumesBody, type VolumeSpec } from './schemas.js';
import { fromNomadAttachment, volumeDetail, volumeStub } from './views.js';

type Spec = Static<typeof VolumeSpec>;
const DEFAULT_CAPACITY = GiB;
/** Rows read per store page while a filter sifts a list. */
const SCAN_PAGE = 500;

export interface NomadContext {
  readonly volumed: Volumed;
  readonly version: string;
}

async function poolsById(volumed: Volumed): Promise<ReadonlyMap<string, Pool>> {
  return new Map((await volumed.engine.listPools()).map((p) => [p.id, p]));
}

export async function detailOf(ctx: NomadContext, volume: Volume): Promise<Record<string, unknown>> {
  const { engine } = ctx.volumed;
  const pool = await engine.getPool(volume.poolId).catch(() => undefined);
  return volumeDetail(volume, await engine.listAttachments(volume.id), pool, ctx.version);
}

/** The id a spec names: its own, or the path's when it has none. */
function specId(spec: Spec, pathId: string, index: number, count: number): string {
  const id = spec.ID || (count === 1 ? pathId : '');
  if (!id) throw new InvalidInputError('is required', `Volumes[${index}].ID`);
  if (count === 1 && id !== pathId) throw new InvalidInputError(`${id} does not match the id in the path, ${pathId}`, `Volumes[${index}].ID`);
  return id;
}

function kindOf(spec: Spec, field: string): VolumeKind | undefined {
  const kind = spec.Parameters?.kind;
  if (kind === undefined) return undefined;
  if (kind !== 'block' && kind !== 'file') throw new InvalidInputError('must be block or file', `${field}.Parameters.kind`);
  return kind;
}

type Topology = NonNullable<NonNullable<Spec['Topologies']>[number]>;

function segmentsOf(topology: Topology | null | undefined): Readonly<Record<string, string>> | undefined {
  if (!topology) return undefined;
  const segments = 'Segments' in topology ? topology.Segments : topology;
  return segments && typeof segments === 'object' ? (segments) : undefined;
}

function engineFields(spec: Spec, namespace: string) {
  const capabilities = spec.RequestedCapabilities ?? [];
  const segments = segmentsOf(spec.RequestedTopologies?.Required?.[0]) ?? segmentsOf(spec.Topologies?.[0]);
  return {
    namespace,
    accessModes: capabilities.map((c) => ({ accessMode: c.AccessMode, attachmentMode: fromNomadAttachment(c.AttachmentMode) })),
    mountOptions: spec.MountOptions?.MountFlags ?? [],
    ...(segments ? { topology: segments } : {}),
    ...(spec.Secrets ? { secrets: spec.Secrets } : {}),
    ...(spec.Parameters?.type ? { type: spec.Parameters.type } : {}),
    csi: {
      fsType: spec.MountOptions?.FSType ?? '',
      parameters: spec.Parameters ?? {},
      context: spec.Context ?? {},
      capacityMin: spec.RequestedCapacityMin ?? 0,
      capacityMax: spec.RequestedCapacityMax ?? 0,
    },
  };
}

/**
 * What a re-sent spec may not change of the volume it names, in Nomad's own
 * words (CSIVolume.Merge): name, external id, plugin id, clone and snapshot
 * id are fixed once set, the capabilities must keep the one claims use, and
 * parameters are fixed. The namespace is part of a volume's identity.
 */
function mergeRefusals(volume: Volume, claims: readonly Attachment[], spec: Spec, namespace: string, purpose: 'register' | 'create'): string[] {
  const source: VolumeSource | null = volume.source;
  const refusals: string[] = [];
  const changes = (want: string | undefined, have: string): boolean => want !== undefined && want !== '' && want !== have;
  if (namespace !== volume.namespace) refusals.push(`volume is in namespace ${JSON.stringify(volume.namespace)}, not ${JSON.stringify(namespace)}`);
  if (changes(spec.Name, volume.name)) refusals.push('volume name cannot be updated');
  if (changes(spec.ExternalID, volume.externalId ?? '')) refusals.push('volume external ID cannot be updated');
  // Nomad compares the plugin id even when the spec leaves it empty; a register must name it, a create may not.
  if (purpose === 'register' ? spec.PluginID !== volume.poolId : changes(spec.PluginID, volume.poolId)) refusals.push('volume plugin ID cannot be updated');
  if (changes(spec.CloneID, source && 'volumeId' in source ? source.volumeId : '')) refusals.push('volume clone ID cannot be updated');
  if (changes(spec.SnapshotID, source && 'snapshotId' in source ? source.snapshotId : '')) refusals.push('volume snapshot ID cannot be updated');
  const inUse = claims[0];
  if (inUse && spec.RequestedCapabilities?.length) {
    const keeps = spec.RequestedCapabilities.some((c) => c.AccessMode === inUse.accessMode && fromNomadAttachment(c.AttachmentMode) === inUse.attachmentMode);
    if (!keeps) refusals.push('volume requested capabilities update was not compatible with existing capability in use');
  }
  const parameters = spec.Parameters ?? {};
  const had = volume.csi?.parameters ?? {};
  const sameParameters = Object.keys(parameters).length === Object.keys(had).length && Object.entries(parameters).every(([k, v]) => had[k] === v);
  if (Object.keys(parameters).length && !sameParameters) refusals.push('volume parameters cannot be updated');
  return refusals;
}

/** Refuses a re-send that contradicts the volume, all its refusals in one message. */
async function refuseContradictions(ctx: NomadContext, volume: Volume, spec: Spec, namespace: string, purpose: 'register' | 'create'): Promise<void> {
  const max = purpose === 'create' ? (spec.RequestedCapacityMax ?? 0) : 0;
  const tooLarge = max > 0 && volume.sizeBytes > max ? [`volume requested capacity update was not compatible with existing capacity (${volume.sizeBytes} bytes, RequestedCapacityMax ${max})`] : [];
  const refusals = [...mergeRefusals(volume, await ctx.volumed.engine.listAttachments(volume.id), spec, namespace, purpose), ...tooLarge];
  if (refusals.length) throw new ConflictError(`volume ${volume.id}: ${refusals.join('; ')}`, { type: 'volume', id: volume.id });
}

/**
 * A re-send Merge accepted (its refusals were checked for the whole batch
 * first): it may change the mount flags; the rest volumed keeps as first given.
 */
async function merge(ctx: NomadContext, volume: Volume, spec: Spec): Promise<void> {
  const flags = spec.MountOptions?.MountFlags;
  if (flags && flags.join('\0') !== volume.mountOptions.join('\0')) await ctx.volumed.engine.updateVolume(volume.id, { mountOptions: flags });
}

async function existing(ctx: NomadContext, id: string): Promise<Volume | undefined> {
  return ctx.volumed.engine.getVolume(id).catch((e: unknown) => {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  });
}

/** Every re-sent spec of a batch is held to Merge before any is written, so a refusal leaves nothing half-done. */
async function refuseBatchContradictions(ctx: NomadContext, req: FastifyRequest, specs: readonly Spec[], ids: readonly string[], purpose: 'register' | 'create'): Promise<void> {
  for (const [i, spec] of specs.entries()) {
    const current = await existing(ctx, ids[i] ?? '');
    if (current) await refuseContradictions(ctx, current, spec, requestNamespace(req), purpose);
  }
}

/** The namespace of a write: the query's (set from the body by the surface's hook when absent). */
const requestNamespace = (req: FastifyRequest): string => (req.query as { namespace?: string }).namespace ?? 'default';

/**
 * What can be told wrong about a batch before anything is written: every
 * spec is checked first, so a bad one in the middle leaves nothing half-done.
 */
function checkSpecs(specs: readonly Spec[], pathId: string, purpose: 'register' | 'create'): string[] {
  return specs.map((spec, i) => {
    const field = `Volumes[${i}]`;
    const id = specId(spec, pathId, i, specs.length);
    kindOf(spec, field);
    if (purpose === 'register') {
      if (!spec.ExternalID) throw new InvalidInputError('is required: the storage object to register', `${field}.ExternalID`);
      if (!spec.PluginID) throw new InvalidInputError('is required: the pool that holds the object', `${field}.PluginID`);
    } else {
      const min = spec.RequestedCapacityMin ?? 0;
      const max = spec.RequestedCapacityMax ?? 0;
      if (max > 0 && min > max) throw new InvalidInputError(`must not exceed RequestedCapacityMax (${max})`, `${field}.RequestedCapacityMin`);
      if (spec.SnapshotID && spec.CloneID) throw new InvalidInputError('give SnapshotID or CloneID, not both', `${field}.CloneID`);
    }
    return id;
  });
}

async function register(ctx: NomadContext, req: FastifyRequest, spec: Spec, id: string, field: string): Promise<Volume> {
  const { engine } = ctx.volumed;
  const namespace = requestNamespace(req);
  // checkSpecs refused a spec without these; this tells the types so.
  if (!spec.ExternalID || !spec.PluginID) throw new InvalidInputError('is required', `${field}.ExternalID`);
  const current = await existing(ctx, id);
  if (current) {
    await merge(ctx, current, spec);
    return engine.getVolume(id);
  }
  const kind = kindOf(spec, field);
  const accepted = await engine.manageVolume({
    id,
    pool: spec.PluginID,
    reference: { 'source-name': spec.ExternalID },
    name: spec.Name || id,
    ...(kind ? { kind } : {}),
    ...engineFields(spec, namespace),
  });
  await done(ctx.volumed, req, accepted.task);
  return engine.getVolume(id);
}

async function sourceSize(ctx: NomadContext, spec: Spec): Promise<number> {
  const { engine } = ctx.volumed;
  if (spec.SnapshotID) return (await engine.getSnapshot(spec.SnapshotID).catch(() => undefined))?.sizeBytes ?? 0;
  if (spec.CloneID) return (await engine.getVolume(spec.CloneID).catch(() => undefined))?.sizeBytes ?? 0;
  return 0;
}

async function create(ctx: NomadContext, req: FastifyRequest, spec: Spec, id: string, field: string): Promise<Volume> {
  const { engine } = ctx.volumed;
  const namespace = requestNamespace(req);
  const min = spec.RequestedCapacityMin ?? 0;
  const max = spec.RequestedCapacityMax ?? 0;
  const current = await existing(ctx, id);
  if (current) {
    await merge(ctx, current, spec);
    if (min > current.sizeBytes) await done(ctx.volumed, req, (await engine.extendVolume(id, min)).task);
    return engine.getVolume(id);
  }
  const fromSource = await sourceSize(ctx, spec);
  // No minimum: a copy is its source's size, a new volume the default (within the maximum).
  const sizeBytes = min || fromSource || (max ? Math.min(DEFAULT_CAPACITY, max) : DEFAULT_CAPACITY);
  if (max > 0 && fromSource > max) throw new InvalidInputError(`the source holds ${fromSource} bytes, more than RequestedCapacityMax ${max}`, `${field}.RequestedCapacityMax`);
  const kind = kindOf(spec, field);
  const source: VolumeSource | undefined = spec.SnapshotID ? { snapshotId: spec.SnapshotID } : spec.CloneID ? { volumeId: spec.CloneID } : undefined;
  const accepted = await engine.createVolume({
    id,
    name: spec.Name || id,
    sizeBytes: Math.max(sizeBytes, fromSource),
    ...(spec.PluginID ? { pool: spec.PluginID } : {}),
    ...(kind ? { kind } : {}),
    ...(source ? { source } : {}),
    ...engineFields(spec, namespace),
  });
  await done(ctx.volumed, req, accepted.task);
  return engine.getVolume(id);
}

interface ListArgs {
  readonly namespaces: readonly string[] | undefined;
  readonly prefix: string | undefined;
  readonly pluginPrefix: string | undefined;
  readonly nodePrefix: string | undefined;
  readonly nextToken: string | undefined;
  readonly perPage: number;
  readonly filter: ((stub: unknown) => boolean) | undefined;
}

/** A page of stubs in id order: filters first, then per_page; the next token is the next match's id. */
async function listStubs(volumed: Volumed, args: ListArgs): Promise<{ stubs: Record<string, unknown>[]; next: string | undefined }> {
  const { engine } = volumed;
  const pools = await poolsById(volumed);
  const pluginIds = args.pluginPrefix === undefined ? undefined : [...pools.keys()].filter((id) => id.startsWith(args.pluginPrefix ?? ''));
  if (pluginIds?.length === 0) return { stubs: [], next: undefined };
  const want = args.perPage > 0 ? args.perPage + 1 : Infinity;
  const stubs: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  do {
    const page = await engine.listVolumes({
      sort: 'id',
      limit: SCAN_PAGE,
      ...(args.namespaces ? { namespaces: args.namespaces } : {}),
      ...(args.prefix ? { idPrefix: args.prefix } : {}),
      ...(args.nextToken ? { idFrom: args.nextToken } : {}),
      ...(args.nodePrefix ? { attachedNodePrefix: args.nodePrefix } : {}),
      ...(pluginIds?.length === 1 && pluginIds[0] ? { poolId: pluginIds[0] } : {}),
      ...(cursor ? { cursor } : {}),
    });
    for (const volume of page.items) {
      if (pluginIds && !pluginIds.includes(volume.poolId)) continue;
      const stub = volumeStub(volume, await engine.listAttachments(volume.id), pools.get(volume.poolId));
      if (args.filter && !args.filter(stub)) continue;
      stubs.push(stub);
      if (stubs.length >= want) break;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor && stubs.length < want);
  if (stubs.length < want) return { stubs, next: undefined };
  const nextStub = stubs.pop();
  return { stubs, next: nextStub?.ID as string };
}

export function volumeRoutes(app: App, ctx: NomadContext): void {
  const { volumed } = ctx;
  const { engine } = volumed;

  app.get('/volumes', { config: { access: { need: 'list-volume', namespaceFrom: 'query', list: true } }, schema: { querystring: ListVolumesQuery } }, async (req, reply) => {
    const q = req.query;
    if (q.type === undefined || q.type === 'host') return blocking(volumed, req, reply, q, { topics: ['volume'] }, async () => []);
    if (q.type !== 'csi') throw new InvalidInputError(`must be csi or host, not ${JSON.stringify(q.type)}`, 'type');
    const filter = q.filter ? compileFilter(q.filter) : undefined;
    const { stubs, next } = await blocking(volumed, req, reply, q, { topics: ['volume', 'attachment'] }, () =>
      listStubs(volumed, { namespaces: listNamespaces(req, q.namespace), prefix: q.prefix, pluginPrefix: q.plugin_id, nodePrefix: q.node_id, nextToken: q.next_token, perPage: q.per_page ?? 0, filter }),
    );
    if (next) void reply.header('X-Nomad-NextToken', next);
    return stubs;
  });

  app.get('/volume/csi/:id', { config: { access: { need: 'read-volume', resource: 'volume' } }, schema: { params: IdParams, querystring: ReadQuery } }, async (req, reply) =>
    blocking(volumed, req, reply, req.query, { keys: [req.params.id] }, async () => detailOf(ctx, await engine.getVolume(req.params.id))),
  );

  const writeAccess = { need: 'write-volume', resource: 'volume', namespaceFrom: 'query' } as const;

  app.put('/volume/csi/:id', { config: { access: writeAccess }, schema: { params: IdParams, querystring: ReadQuery, body: VolumesBody } }, async (req, reply) => {
    const specs = req.body.Volumes;
    const ids = checkSpecs(specs, req.params.id, 'register');
    await refuseBatchContradictions(ctx, req, specs, ids, 'register');
    const volumes: Record<string, unknown>[] = [];
    for (const [i, spec] of specs.entries()) volumes.push(await detailOf(ctx, await register(ctx, req, spec, ids[i] ?? '', `Volumes[${i}]`)));
    // CSIVolumeRegisterResponse: Nomad's client decodes it, and fails on an empty body.
    return writeResponse(volumed, reply, { Volumes: volumes, Warnings: '' });
  });

  app.put('/volume/csi/:id/create', { config: { access: writeAccess }, schema: { params: IdParams, querystring: ReadQuery, body: VolumesBody } }, async (req, reply) => {
    const specs = req.body.Volumes;
    const volumes: Record<string, unknown>[] = [];
    const ids = checkSpecs(specs, req.params.id, 'create');
    await refuseBatchContradictions(ctx, req, specs, ids, 'create');
    for (const [i, spec] of specs.entries()) volumes.push(await detailOf(ctx, await create(ctx, req, spec, ids[i] ?? '', `Volumes[${i}]`)));
    return writeResponse(volumed, reply, { Volumes: volumes, Warnings: '' });
  });

  app.delete('/volume/csi/:id', { config: { access: { need: 'write-volume', resource: 'volume' } }, schema: { params: IdParams, querystring: DeregisterQuery } }, async (req, reply) => {
    await done(volumed, req, (await engine.unmanageVolume(req.params.id, { dropEndedClaims: req.query.force ?? false })).task);
    await writeIndex(volumed, reply);
    return reply.send();
  });

  app.delete('/volume/csi/:id/delete', { config: { access: { need: 'write-volume', resource: 'volume' } }, schema: { params: IdParams, querystring: ReadQuery } }, async (req, reply) => {
    const secrets = secretsHeader(req);
    await done(volumed, req, (await engine.deleteVolume(req.params.id, secrets ? { secrets } : {})).task);
    await writeIndex(volumed, reply);
    return reply.send();
  });

  app.delete('/volume/csi/:id/detach', { config: { access: { need: 'write-volume', resource: 'volume' } }, schema: { params: IdParams, querystring: DetachQuery } }, async (req, reply) => {
    const node = req.query.node;
    if (!node) throw new InvalidInputError('node: detach requires node ID (the query parameter node)');
    const claims = (await engine.listAttachments(req.params.id)).filter((a) => a.node === node);
    for (const claim of claims) await done(volumed, req, (await engine.detachVolume(req.params.id, claim.id)).task);
    await writeIndex(volumed, reply);
    return reply.send();
  });

  app.put('/volume/csi/:id/claim', { config: { access: { need: 'mount-volume', resource: 'volume' } }, schema: { params: IdParams, querystring: ReadQuery, body: ClaimBody } }, async (req, reply) => {
    const { id } = req.params;
    const b = req.body;
    const held = (await engine.listAttachments(id)).find((a) => a.instance === b.AllocationID && a.node === b.NodeID);
    if (b.Claim === 'release') {
      if (!held) throw new NotFoundError('claim', `${b.AllocationID}@${b.NodeID}`);
      await done(volumed, req, (await engine.detachVolume(id, held.id)).task);
    } else if (!held) {
      const accepted = await engine.attachVolume(id, {
        node: b.NodeID,
        instance: b.AllocationID,
        mode: b.Claim === 'write' ? 'rw' : 'ro',
        ...(b.AccessMode ? { accessMode: b.AccessMode } : {}),
        ...(b.AttachmentMode ? { attachmentMode: fromNomadAttachment(b.AttachmentMode) } : {}),
      });
      await done(volumed, req, accepted.task);
    } else if ((held.mode === 'rw') !== (b.Claim === 'write')) {
      throw new ConflictError(`allocation ${b.AllocationID} on node ${b.NodeID} already holds a ${held.mode === 'rw' ? 'write' : 'read'} claim on volume ${id}`, { type: 'volume', id });
    }
    await writeIndex(volumed, reply);
    return { Volume: await detailOf(ctx, await engine.getVolume(id)) };
  });
}
