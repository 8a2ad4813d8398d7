// Every CLI command takes a name where it takes an id, as the cinder and
// nomad CLIs do: an id is used as it is; otherwise the name is looked up
// (a volume's among the volumes, a snapshot's among its volume's snapshots).
// An ambiguous name is an error that lists the ids it matches.

import type { Snapshot, Volume } from '../domain/types.js';
import { ApiError, type VolumedClient } from '../client/volumed-client.js';

/** Pages read while looking for a name (100 each): a name shared by more is asked for by id. */
const MAX_PAGES = 20;

function pick<T extends { id: string; name: string }>(what: string, ref: string, matches: readonly T[]): T {
  if (matches.length === 1 && matches[0]) return matches[0];
  if (matches.length === 0) throw new ApiError(404, 'not_found', `${what} ${ref} not found (no ${what} has that id or name)`);
  throw new ApiError(409, 'ambiguous', `the name ${ref} fits ${matches.length} of ${what}: ${matches.map((m) => m.id).join(', ')}; give one of these ids`);
}

/** Every item named `ref`, read page by page (up to MAX_PAGES) from a list. */
async function named<T extends { name: string }>(ref: string, page: (cursor: string | undefined) => Promise<{ items: readonly T[]; nextCursor: string | null }>): Promise<T[]> {
  const matches: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const listed = await page(cursor);
    matches.push(...listed.items.filter((item) => item.name === ref));
    if (!listed.nextCursor) break;
    cursor = listed.nextCursor;
  }
  return matches;
}

/** The volume a command names, by id or by name. */
export async function resolveVolume(api: VolumedClient, ref: string, namespace?: string): Promise<Volume> {
  try {
    return await api.getVolume(ref);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  const matches = await named(ref, async (cursor) => {
    const listed = await api.listVolumes({ namePrefix: ref, limit: 100, ...(namespace ? { namespace } : {}), ...(cursor ? { cursor } : {}) });
    return { items: listed.volumes, nextCursor: listed.nextCursor };
  });
  return pick('volume', ref, matches);
}

/** The snapshot a command names: by id, or by name among one volume's snapshots (or all, without a volume). */
export async function resolveSnapshot(api: VolumedClient, ref: string, volumeId?: string): Promise<Snapshot> {
  try {
    const found = await api.getSnapshot(ref);
    if (!volumeId || found.volumeId === volumeId) return found;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  const matches = await named(ref, async (cursor) => {
    const listed = await api.listSnapshots({ limit: 100, ...(volumeId ? { volumeId } : {}), ...(cursor ? { cursor } : {}) });
    return { items: listed.snapshots, nextCursor: listed.nextCursor };
  });
  return pick(volumeId ? `snapshot of volume ${volumeId}` : 'snapshot', ref, matches);
}
