// /v1/volumes/snapshot (and the /v1/volume/csi/:id/snapshot form): create,
// delete and list snapshots of a plugin's (pool's) volumes.

import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { InvalidInputError } from '../../domain/errors.js';
import type { Volume } from '../../domain/types.js';
import { blocking, done, listNamespaces, secretsHeader, writeIndex, writeResponse, type App } from './context.js';
import { IdParams, ReadQuery, SnapshotDeleteQuery, SnapshotListQuery, SnapshotsBody, type SnapshotSpec } from './schemas.js';
import { snapshotView } from './views.js';
import type { NomadContext } from './volumes.js';

type Spec = Static<typeof SnapshotSpec>;

/** The pool a snapshot request names must be the volume's. */
function checkPlugin(volume: Volume, pluginId: string | undefined, field: string): void {
  if (pluginId && pluginId !== volume.poolId) throw new InvalidInputError(`volume ${volume.id} is in plugin ${volume.poolId}, not ${pluginId}`, field);
}

async function createSnapshots(ctx: NomadContext, req: FastifyRequest, specs: readonly Spec[], pathVolume?: string): Promise<Record<string, unknown>[]> {
  const { engine } = ctx.volumed;
  const headerSecrets = secretsHeader(req);
  const out: Record<string, unknown>[] = [];
  let namespace: string | undefined;
  for (const [i, spec] of specs.entries()) {
    const field = `Snapshots[${i}]`;
    const volumeId = spec.SourceVolumeID || pathVolume;
    if (!volumeId) throw new InvalidInputError('is required', `${field}.SourceVolumeID`);
    if (pathVolume && volumeId !== pathVolume) throw new InvalidInputError(`${volumeId} does not match the volume in the path, ${pathVolume}`, `${field}.SourceVolumeID`);
    const volume = await engine.getVolume(volumeId);
    // The guard checked the first volume's namespace; a batch stays in it.
    namespace ??= volume.namespace;
    if (volume.namespace !== namespace) throw new InvalidInputError(`volume ${volumeId} is in namespace ${volume.namespace}; one request snapshots volumes of one namespace`, `${field}.SourceVolumeID`);
    checkPlugin(volume, spec.PluginID, `${field}.PluginID`);
    const secrets = { ...(spec.Secrets ?? {}), ...(headerSecrets ?? {}) };
    const accepted = await engine.createSnapshot(volumeId, {
      name: spec.Name || `${volumeId}-snapshot`,
      ...(spec.Parameters ? { labels: spec.Parameters } : {}),
      ...(Object.keys(secrets).length ? { secrets } : {}),
    });
    await done(ctx.volumed, req, accepted.task);
    out.push(snapshotView(await engine.getSnapshot(accepted.resource.id), await engine.getVolume(volumeId)));
  }
  return out;
}

const firstSource = (req: FastifyRequest): unknown => (req.body as { Snapshots?: { SourceVolumeID?: unknown }[] } | undefined)?.Snapshots?.[0]?.SourceVolumeID;

export function snapshotRoutes(app: App, ctx: NomadContext): void {
  const { volumed } = ctx;
  const { engine } = volumed;

  app.put('/volumes/snapshot', { config: { access: { need: 'write-volume', resource: 'volume', resourceId: firstSource } }, schema: { querystring: ReadQuery, body: SnapshotsBody } }, async (req, reply) => {
    return writeResponse(volumed, reply, { Snapshots: await createSnapshots(ctx, req, req.body.Snapshots) });
  });

  app.put('/volume/csi/:id/snapshot', { config: { access: { need: 'write-volume', resource: 'volume' } }, schema: { params: IdParams, querystring: ReadQuery, body: SnapshotsBody } }, async (req, reply) => {
    return writeResponse(volumed, reply, { Snapshots: await createSnapshots(ctx, req, req.body.Snapshots, req.params.id) });
  });

  app.delete(
    '/volumes/snapshot',
    { config: { access: { need: 'write-volume', resource: 'snapshot', resourceId: (req) => (req.query as { snapshot_id?: string }).snapshot_id } }, schema: { querystring: SnapshotDeleteQuery } },
    async (req, reply) => {
      const { snapshot_id: id, plugin_id: plugin } = req.query;
      if (!id) throw new InvalidInputError('is required', 'snapshot_id');
      if (!plugin) throw new InvalidInputError('is required', 'plugin_id');
      const snapshot = await engine.getSnapshot(id);
      checkPlugin(await engine.getVolume(snapshot.volumeId), plugin, 'plugin_id');
      const secrets = secretsHeader(req);
      await done(volumed, req, (await engine.deleteSnapshot(id, secrets ? { secrets } : {})).task);
      await writeIndex(volumed, reply);
      return reply.send();
    },
  );

  app.get('/volumes/snapshot', { config: { access: { need: 'list-volume', namespaceFrom: 'query', list: true } }, schema: { querystring: SnapshotListQuery } }, async (req, reply) => {
    const q = req.query;
    if (!q.plugin_id) throw new InvalidInputError('is required', 'plugin_id');
    const pool = await engine.getPool(q.plugin_id);
    // A plugin's snapshots are the storage's view: every namespace the token may list, unless one is named.
    const namespaces = q.namespace === undefined ? req.visible : listNamespaces(req, q.namespace);
    const page = await blocking(volumed, req, reply, q, { topics: ['snapshot'] }, () =>
      engine.listSnapshots({
        poolId: pool.id,
        ...(namespaces ? { namespaces } : {}),
        ...(q.per_page ? { limit: q.per_page } : {}),
        ...(q.next_token ? { cursor: q.next_token } : {}),
      }),
    );
    const volumes = new Map<string, Volume | undefined>();
    const snapshots: Record<string, unknown>[] = [];
    for (const s of page.items) {
      if (!volumes.has(s.volumeId)) volumes.set(s.volumeId, await engine.getVolume(s.volumeId).catch(() => undefined));
      snapshots.push(snapshotView(s, volumes.get(s.volumeId)));
    }
    return { Snapshots: snapshots, NextToken: page.nextCursor ?? '' };
  });
}
