// Finding volumes by what CNS queries ask: ids, names, clusters, policy,
// pools, entity labels, compliance and health, with an offset, a limit and
// the total of matches. The store narrows by what it indexes (namespace,
// pool, type); the rest is matched here, a page of records at a time.

import { complianceOf, healthOf, type Compliance, type Health } from '../domain/health.js';
import type { Pool, Volume, VolumeType } from '../domain/types.js';
import type { StoreReader, VolumeQuery } from '../store/store.js';

export interface VolumeSearch {
  /** Only these namespaces; undefined: all. */
  readonly namespaces?: readonly string[] | undefined;
  readonly ids?: readonly string[];
  readonly names?: readonly string[];
  readonly clusterIds?: readonly string[];
  readonly typeId?: string;
  readonly poolIds?: readonly string[];
  /** Every pair must be on the volume or on one of its cluster entities. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly compliance?: Compliance;
  readonly health?: Health;
  readonly offset: number;
  readonly limit: number;
}

export interface DescribedVolume {
  readonly volume: Volume;
  readonly compliance: Compliance;
  readonly health: Health;
}

export interface VolumeSearchResult {
  readonly volumes: readonly DescribedVolume[];
  readonly total: number;
}

const PAGE = 500;

function hasLabels(volume: Volume, wanted: Readonly<Record<string, string>>): boolean {
  const pairs = Object.entries(wanted);
  const carriers = [volume.labels, ...volume.clusters.flatMap((c) => c.entities.map((e) => e.labels))];
  return pairs.every(([k, v]) => carriers.some((labels) => labels[k] === v));
}

export class VolumeDescriber {
  private constructor(
    private readonly pools: ReadonlyMap<string, Pool>,
    private readonly types: ReadonlyMap<string, VolumeType>,
  ) {}

  static async load(reader: StoreReader): Promise<VolumeDescriber> {
    const pools = new Map((await reader.listPools()).map((p) => [p.id, p] as const));
    const types = new Map((await reader.listTypes()).map((t) => [t.id, t] as const));
    return new VolumeDescriber(pools, types);
  }

  describe(volume: Volume): DescribedVolume {
    const type = volume.typeId === null ? undefined : this.types.get(volume.typeId);
    return { volume, compliance: complianceOf(volume, this.pools.get(volume.poolId), type), health: healthOf(volume) };
  }
}

/** Whether the storage reports the volume unwell (undefined: it cannot tell). */
export type ConditionOf = (volume: Volume) => Promise<boolean | undefined>;

export async function searchVolumes(reader: StoreReader, search: VolumeSearch, abnormal?: ConditionOf): Promise<VolumeSearchResult> {
  const describer = await VolumeDescriber.load(reader);
  const matches = (d: DescribedVolume): boolean => {
    const v = d.volume;
    if (search.namespaces && !search.namespaces.includes(v.namespace)) return false;
    if (search.ids?.length && !search.ids.includes(v.id)) return false;
    if (search.names?.length && !search.names.includes(v.name)) return false;
    if (search.clusterIds?.length && !v.clusters.some((c) => search.clusterIds?.includes(c.clusterId))) return false;
    if (search.typeId !== undefined && v.typeId !== search.typeId) return false;
    if (search.poolIds?.length && !search.poolIds.includes(v.poolId)) return false;
    if (search.labels && !hasLabels(v, search.labels)) return false;
    if (search.compliance !== undefined && d.compliance !== search.compliance) return false;
    if (search.health !== undefined && d.health !== search.health) return false;
    return true;
  };
  const found: DescribedVolume[] = [];
  let total = 0;
  const take = (volume: Volume): void => {
    const d = describer.describe(volume);
    if (!matches(d)) return;
    if (total >= search.offset && found.length < search.limit) found.push(d);
    total++;
  };
  // What the storage says of the volumes answered: a volume it reports abnormal is red, whatever its status.
  const withConditions = async (): Promise<VolumeSearchResult> => {
    if (!abnormal) return { volumes: found, total };
    const volumes = await Promise.all(found.map(async (d) => ((await abnormal(d.volume)) ? { ...d, health: 'red' as const } : d)));
    return { volumes, total };
  };
  if (search.ids?.length) {
    // In the order asked, each once.
    for (const id of new Set(search.ids)) {
      const volume = await reader.getVolume(id);
      if (volume) take(volume);
    }
    return withConditions();
  }
  const query: VolumeQuery = {
    ...(search.namespaces ? { namespaces: search.namespaces } : {}),
    ...(search.typeId !== undefined ? { typeId: search.typeId } : {}),
    ...(search.poolIds?.length === 1 ? { poolId: search.poolIds[0] } : {}),
    ...(search.names?.length === 1 ? { name: search.names[0] } : {}),
    sort: 'createdAt',
    direction: 'asc',
    limit: PAGE,
  };
  let cursor: string | undefined;
  do {
    const page = await reader.listVolumes({ ...query, ...(cursor ? { cursor } : {}) });
    for (const volume of page.items) take(volume);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return withConditions();
}
