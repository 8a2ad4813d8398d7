// /v3/{project}/os-quota-sets and /limits: volumed's three quotas (volumes,
// gigabytes, snapshots) in Cinder's shapes. Cinder's other quota keys are
// shown as unlimited (-1): volumed has no backups or groups to count.

import type { Volumed } from '../../app/open.js';
import { InvalidInputError } from '../../domain/errors.js';
import type { Quota } from '../../domain/types.js';
import type { App } from '../app.js';
import { callerOf, parseBool } from './context.js';
import { ProjectParams, QuotaSetBody } from './schemas.js';
import { Type } from 'typebox';

const KEPT = ['volumes', 'gigabytes', 'snapshots'] as const;
const UNCOUNTED = ['backups', 'backup_gigabytes', 'groups', 'per_volume_gigabytes'] as const;

const QuotaParams = Type.Object({ project_id: Type.Optional(Type.String()), target: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });
const QuotaQuery = Type.Object({ usage: Type.Optional(Type.String()) }, { additionalProperties: false });

export function quotaRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;

  const show = async (project: string, usage: boolean): Promise<Record<string, unknown>> => {
    const quota = await engine.getQuota(project);
    const used = usage ? await engine.usage(project) : undefined;
    const set: Record<string, unknown> = { id: project };
    for (const key of KEPT) set[key] = used ? { limit: quota[key], in_use: used[key], reserved: 0, allocated: 0 } : quota[key];
    for (const key of UNCOUNTED) set[key] = used ? { limit: -1, in_use: 0, reserved: 0, allocated: 0 } : -1;
    return { quota_set: set };
  };

  // Reading a project's quota: that project's members, or an admin.
  app.get('/os-quota-sets/:target', { config: { access: { need: 'read-volume', namespaceFrom: 'params', namespaceParam: 'target' } }, schema: { params: QuotaParams, querystring: QuotaQuery } }, async (req) => {
    const caller = callerOf(volumed, req);
    if (!caller.admin && req.params.target !== caller.project) throw new InvalidInputError(`project ${req.params.target} is not yours`, 'project_id');
    return show(req.params.target, req.query.usage !== undefined && parseBool(req.query.usage, 'usage'));
  });
  app.get('/os-quota-sets/:target/defaults', { config: { access: { need: 'read-volume', namespaceFrom: 'params', namespaceParam: 'target' } }, schema: { params: QuotaParams } }, async (req) => {
    const defaults = engine.quotaDefaults();
    return { quota_set: { id: req.params.target, ...Object.fromEntries(KEPT.map((k) => [k, defaults[k]])), ...Object.fromEntries(UNCOUNTED.map((k) => [k, -1])) } };
  });
  app.put('/os-quota-sets/:target', { config: { access: { need: 'admin', namespaceFrom: 'params', namespaceParam: 'target' } }, schema: { params: QuotaParams, body: QuotaSetBody } }, async (req) => {
    const current = await engine.getQuota(req.params.target);
    const next: { -readonly [K in keyof Quota]: Quota[K] } = { ...current, namespace: req.params.target };
    for (const [key, raw] of Object.entries(req.body.quota_set)) {
      if (key === 'tenant_id' || key === 'id' || key === 'skip_validation') continue;
      if (!(KEPT as readonly string[]).includes(key)) throw new InvalidInputError(`Bad key(s) in quota set: ${key}; volumed keeps ${KEPT.join(', ')}`, key);
      const value = Number(raw);
      if (!Number.isInteger(value) || value < -1) throw new InvalidInputError(`Quota limit ${String(raw)} for ${key} must be an integer, -1 or more`, key);
      next[key as (typeof KEPT)[number]] = value;
    }
    const saved = await engine.setQuota(next);
    return { quota_set: { ...Object.fromEntries(KEPT.map((k) => [k, saved[k]])), ...Object.fromEntries(UNCOUNTED.map((k) => [k, -1])) } };
  });
  app.delete('/os-quota-sets/:target', { config: { access: { need: 'admin', namespaceFrom: 'params', namespaceParam: 'target' } }, schema: { params: QuotaParams } }, async (req) => {
    await engine.setQuota({ namespace: req.params.target, ...engine.quotaDefaults() });
    return {};
  });

  app.get('/limits', { config: { access: { need: 'read-volume', namespaceFrom: 'params', namespaceParam: 'project_id' } }, schema: { params: ProjectParams } }, async (req) => {
    const caller = callerOf(volumed, req);
    const [quota, used] = await Promise.all([engine.getQuota(caller.project), engine.usage(caller.project)]);
    return {
      limits: {
        rate: [],
        absolute: {
          maxTotalVolumes: quota.volumes,
          maxTotalSnapshots: quota.snapshots,
          maxTotalVolumeGigabytes: quota.gigabytes,
          maxTotalBackups: -1,
          maxTotalBackupGigabytes: -1,
          totalVolumesUsed: used.volumes,
          totalGigabytesUsed: used.gigabytes,
          totalSnapshotsUsed: used.snapshots,
          totalBackupsUsed: 0,
          totalBackupGigabytesUsed: 0,
        },
      },
    };
  });
}
