// Secrets a request brings along (Nomad's X-Nomad-CSI-Secrets on delete):
// merged over the stored ones in the request's transaction, so the driver
// call that the task makes sees both. Sealed at rest, never returned.

import type { Labels } from '../domain/types.js';
import { checkLabels } from '../domain/validation.js';
import type { StoreTx } from '../store/store.js';
import type { EngineContext } from './context.js';

export async function mergeSecrets(ctx: EngineContext, tx: StoreTx, kind: 'volume' | 'snapshot', id: string, extra: Labels | undefined): Promise<void> {
  if (!extra || Object.keys(extra).length === 0) return;
  const sealed = kind === 'volume' ? await tx.getVolumeSecrets(id) : await tx.getSnapshotSecrets(id);
  const merged = checkLabels({ ...(sealed ? ctx.secrets.open(sealed) : {}), ...extra }, 'secrets');
  if (kind === 'volume') await tx.setVolumeSecrets(id, ctx.secrets.seal(merged));
  else await tx.setSnapshotSecrets(id, ctx.secrets.seal(merged));
}
