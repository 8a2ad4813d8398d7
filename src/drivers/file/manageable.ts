// Walks a file pool for objects that could be adopted. Safety here is only what
// the filesystem shows; the engine adds "already managed" from the store.

import type { Dirent } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { VolumeKind } from '../../domain/types.js';
import type { ManageableCandidate } from '../driver.js';
import { isInside, SNAPSHOTS_DIR, TMP_DIR, VOLUMES_DIR } from './paths.js';

const MAX_DEPTH = 8;

async function describe(realRoot: string, abs: string, entry: Dirent, kind: VolumeKind): Promise<ManageableCandidate> {
  const rel = path.relative(realRoot, abs);
  const reference = { 'source-name': rel };
  if (entry.isSymbolicLink()) {
    let reason = 'symlink';
    try {
      const target = await fs.realpath(abs);
      if (!isInside(realRoot, target)) reason = 'symlink; path escapes the pool root';
    } catch {
      reason = 'symlink to nothing';
    }
    return { reference, externalId: rel, sizeBytes: 0, kind, reasonNotSafe: reason };
  }
  const st = await fs.lstat(abs);
  const ok = kind === 'block' ? st.isFile() : st.isDirectory();
  return {
    reference,
    externalId: rel,
    sizeBytes: kind === 'block' ? st.size : 0,
    kind,
    reasonNotSafe: ok ? null : kind === 'block' ? 'not a regular file' : 'not a directory',
  };
}

/**
 * Block candidates are files anywhere in the pool but the snapshot and work
 * areas; file-kind candidates are the directories directly under volumes/.
 */
export async function listManageableVolumes(root: string): Promise<ManageableCandidate[]> {
  const realRoot = await fs.realpath(root);
  const out: ManageableCandidate[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const abs = path.join(dir, entry.name);
      const rel = path.relative(realRoot, abs);
      if (depth === 0 && (entry.name === TMP_DIR || entry.name === SNAPSHOTS_DIR)) continue;
      if (entry.isDirectory()) {
        if (path.dirname(rel) === VOLUMES_DIR) out.push(await describe(realRoot, abs, entry, 'file'));
        else if (depth < MAX_DEPTH) await walk(abs, depth + 1);
        continue;
      }
      out.push(await describe(realRoot, abs, entry, 'block'));
    }
  };
  await walk(realRoot, 0);
  return out;
}

/** Snapshot candidates: snapshots/<volumeId>/<name>. */
export async function listManageableSnapshots(root: string): Promise<ManageableCandidate[]> {
  const realRoot = await fs.realpath(root);
  const base = path.join(realRoot, SNAPSHOTS_DIR);
  const out: ManageableCandidate[] = [];
  let volumeDirs: Dirent[];
  try {
    volumeDirs = await fs.readdir(base, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const dir of volumeDirs.filter((d) => d.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const entries = await fs.readdir(path.join(base, dir.name), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const abs = path.join(base, dir.name, entry.name);
      const kind: VolumeKind = entry.isDirectory() ? 'file' : 'block';
      out.push({ ...(await describe(realRoot, abs, entry, kind)), sourceVolumeId: dir.name });
    }
  }
  return out;
}
