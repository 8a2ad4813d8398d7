// CnsQueryVolume, CnsQueryAllVolume, CnsQueryAsync and CnsQueryVolumeInfo:
// volumes by CNS's filter, with a cursor (offset, limit) whose answer holds
// the next offset and the total of matches; a selection keeps only the named
// fields. The async query is the same query run as a task.

import { MiB } from '../../domain/types.js';
import { UnsupportedError } from '../../domain/errors.js';
import type { VolumeSearch } from '../../engine/volume-search.js';
import { visibleTo } from '../guard.js';
import { bareVolumeId, mayAct, type CnsCall, type SpecMethod } from './methods.js';
import { specChecker, VolumeIdRef, type QueryFilterT, type QuerySelectionT } from './schemas.js';
import { cnsVolumeView, moRef, type VimObject } from './views.js';

/** Without a cursor, a query answers at most this many volumes (and the cursor to the rest). */
export const DEFAULT_QUERY_LIMIT = 1000;

const SELECTED_FIELDS: Readonly<Record<string, string>> = {
  VOLUME_NAME: 'name',
  VOLUME_TYPE: 'volumeType',
  BACKING_OBJECT_DETAILS: 'backingObjectDetails',
  COMPLIANCE_STATUS: 'complianceStatus',
  DATASTORE_ACCESSIBILITY_STATUS: 'datastoreAccessibilityStatus',
  HEALTH_STATUS: 'healthStatus',
  DATASTORE_URL: 'datastoreUrl',
  POLICY_ID: 'storagePolicyId',
};

function select(volume: VimObject, selection: QuerySelectionT | undefined): VimObject {
  if (!selection?.names?.length) return volume;
  const keep = new Set(['_typeName', 'volumeId', ...selection.names.map((n) => SELECTED_FIELDS[n] ?? n)]);
  return Object.fromEntries(Object.entries(volume).filter(([k]) => keep.has(k))) as VimObject;
}

export async function runQuery(call: CnsCall, filter: QueryFilterT, selection?: QuerySelectionT): Promise<VimObject> {
  const offset = filter.cursor?.offset ?? 0;
  const limit = filter.cursor?.limit ?? DEFAULT_QUERY_LIMIT;
  const namespaces = await visibleTo(call.volumed, call.req, 'list-volume');
  const search: VolumeSearch = {
    namespaces,
    offset,
    limit,
    ...(filter.volumeIds?.length ? { ids: filter.volumeIds.map((v) => v.id) } : {}),
    ...(filter.names?.length ? { names: filter.names } : {}),
    ...(filter.containerClusterIds?.length ? { clusterIds: filter.containerClusterIds } : {}),
    ...(filter.storagePolicyId ? { typeId: filter.storagePolicyId } : {}),
    ...(filter.datastores?.length ? { poolIds: filter.datastores.map((d) => d.value) } : {}),
    ...(filter.labels?.length ? { labels: Object.fromEntries(filter.labels.map((l) => [l.key, l.value])) } : {}),
    ...(filter.complianceStatus ? { compliance: filter.complianceStatus } : {}),
    ...(filter.healthStatus && filter.healthStatus !== 'unknown' ? { health: filter.healthStatus } : {}),
  };
  // No volume is of unknown health: such a filter matches nothing.
  const { volumes, total } = filter.healthStatus === 'unknown' ? { volumes: [], total: 0 } : await call.volumed.engine.searchVolumes(search);
  return {
    _typeName: 'CnsQueryResult',
    volumes: volumes.map((d) => select(cnsVolumeView(d), selection)),
    cursor: { _typeName: 'CnsCursor', offset: offset + volumes.length, limit, totalRecords: total },
  };
}

const checkVolumeId = specChecker(VolumeIdRef);

/** What volumed knows of a block volume as a vStorageObject (a First Class Disk). */
const queryVolumeInfo: SpecMethod = {
  specsKey: 'volumes',
  volumeIdOf: bareVolumeId,
  names: {},
  async run(call, raw) {
    const { id } = checkVolumeId(raw);
    await mayAct(call, 'read-volume', id);
    const v = await call.volumed.engine.getVolume(id);
    if (v.kind !== 'block') throw new UnsupportedError(`volume ${id} is a file volume; CnsQueryVolumeInfo describes block volumes`, { type: 'volume', id });
    const pool = await call.volumed.engine.getPool(v.poolId);
    const volumeInfo = {
      _typeName: 'CnsBlockVolumeInfo',
      vStorageObject: {
        _typeName: 'VStorageObject',
        config: {
          _typeName: 'VStorageObjectConfigInfo',
          id: { _typeName: 'ID', id: v.id },
          name: v.name,
          createTime: v.createdAt,
          keepAfterDeleteVm: true,
          relocationDisabled: false,
          nativeSnapshotSupported: pool.capabilities.snapshot,
          changedBlockTrackingEnabled: false,
          backing: { _typeName: 'BaseConfigInfoDiskFileBackingInfo', datastore: moRef('Datastore', v.poolId), filePath: v.externalId ?? '', provisioningType: pool.capabilities.thinProvisioning ? 'thin' : 'eagerZeroedThick' },
          capacityInMB: Math.ceil(v.sizeBytes / MiB),
          consumptionType: ['disk'],
          consumerId: [],
        },
      },
    };
    return { resourceId: id, result: { volumeInfo } };
  },
  result: (item) => ({ typeName: 'CnsQueryVolumeInfoResult', fields: item.result?.volumeInfo && item.fault === null ? { volumeInfo: item.result.volumeInfo } : {} }),
};

const queryAsync: SpecMethod = {
  specsKey: 'filter',
  whole: true,
  volumeIdOf: () => '',
  names: {},
  async run(call, _spec, request) {
    const queryResult = await runQuery(call, request.filter as QueryFilterT, request.selection as QuerySelectionT | undefined);
    return { resourceId: '', result: { queryResult } };
  },
  result: (item) => ({ typeName: 'CnsAsyncQueryResult', fields: item.result?.queryResult ? { queryResult: item.result.queryResult } : {} }),
};

export const queryMethods = { CnsQueryVolumeInfo: queryVolumeInfo, CnsQueryAsync: queryAsync } as const;
