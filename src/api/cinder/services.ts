// What Cinder reports about its deployment, answered from volumed's pools:
// /os-services (a cinder-volume per pool, on host volumed@<pool>),
// /os-availability-zone and /extensions.

import { Type } from 'typebox';
import type { Volumed } from '../../app/open.js';
import type { App } from '../app.js';
import { atLeast } from './microversions.js';
import { ProjectParams } from './schemas.js';
import { zoneOf } from './views.js';

const ServiceQuery = Type.Object({ host: Type.Optional(Type.String()), binary: Type.Optional(Type.String()) }, { additionalProperties: false });

/** The extensions volumed serves, as Cinder names them. */
const EXTENSIONS = [
  ['AvailabilityZones', 'os-availability-zone', 'Describe Availability Zones.'],
  ['ExtendedServices', 'os-extended-services', 'Extended services support.'],
  ['QuotaSets', 'os-quota-sets', 'Quota management support.'],
  ['Services', 'os-services', 'Services support.'],
  ['TypesExtraSpecs', 'os-types-extra-specs', 'Type extra specs support.'],
  ['TypesManage', 'os-types-manage', 'Types manage support.'],
  ['VolumeActions', 'os-volume-actions', 'Enable volume actions.'],
  ['VolumeHostAttribute', 'os-vol-host-attr', 'Expose host as an attribute of a volume.'],
  ['VolumeImageMetadata', 'os-vol-image-meta', 'Show image metadata associated with the volume.'],
  ['VolumeManage', 'os-volume-manage', 'Allows existing backend storage to be managed by Cinder.'],
  ['VolumeMigStatusAttribute', 'os-vol-mig-status-attr', 'Expose migration_status as an attribute of a volume.'],
  ['VolumeTenantAttribute', 'os-vol-tenant-attr', 'Expose the internal project_id as an attribute of a volume.'],
  ['VolumeUnmanage', 'os-volume-unmanage', 'Enable volume unmanage operation.'],
  ['SnapshotActions', 'os-snapshot-actions', 'Enable snapshot manager actions.'],
  ['SnapshotUnmanage', 'os-snapshot-unmanage', 'Enable snapshot unmanage operation.'],
  ['SchedulerHints', 'OS-SCH-HNT', 'Pass arbitrary key/value pairs to the scheduler.'],
] as const;

export function serviceRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;
  const started = new Date().toISOString();

  app.get('/os-services', { config: { access: { need: 'admin', namespaceFrom: 'params', namespaceParam: 'project_id' } }, schema: { params: ProjectParams, querystring: ServiceQuery } }, async (req) => {
    const pools = await engine.listPools();
    const services = [
      { binary: 'cinder-scheduler', host: 'volumed', zone: 'nova' },
      ...pools.map((p) => ({ binary: 'cinder-volume', host: `volumed@${p.id}`, zone: zoneOf(p) })),
    ]
      .filter((s) => (req.query.host === undefined || s.host === req.query.host) && (req.query.binary === undefined || s.binary === req.query.binary))
      .map((s) => ({
        ...s,
        status: 'enabled',
        state: 'up',
        updated_at: started,
        disabled_reason: null,
        ...(atLeast(req.cinderVersion, '3.7') ? { cluster: null } : {}),
        ...(atLeast(req.cinderVersion, '3.49') && s.binary === 'cinder-volume' ? { backend_state: 'up' } : {}),
      }));
    return { services };
  });

  app.get('/os-availability-zone', { config: { access: { need: 'list-volume', namespaceFrom: 'params', namespaceParam: 'project_id' } }, schema: { params: ProjectParams } }, async () => {
    const zones = [...new Set((await engine.listPools()).map((p) => zoneOf(p)))].sort();
    return { availabilityZoneInfo: zones.map((zoneName) => ({ zoneName, zoneState: { available: true } })) };
  });

  app.get('/extensions', { config: { access: { need: 'authenticated' } }, schema: { params: ProjectParams } }, async () => ({
    extensions: EXTENSIONS.map(([name, alias, description]) => ({ name, alias, description, links: [], updated: '2013-04-01T00:00:00+00:00' })),
  }));
}
