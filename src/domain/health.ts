// How a volume reports itself to tools that want one word for it (CNS
// healthStatus and complianceStatus; the native API's views may use them too).

import { isCompliant } from './placement.js';
import type { Pool, Volume, VolumeType } from './types.js';

export type Health = 'green' | 'yellow' | 'red';
export type Compliance = 'compliant' | 'nonCompliant' | 'notApplicable' | 'unknown';

/** Red when the volume failed, yellow while work changes it, green when it serves. */
export function healthOf(volume: Pick<Volume, 'status'>): Health {
  if (volume.status.startsWith('error')) return 'red';
  return volume.status === 'available' || volume.status === 'in-use' || volume.status === 'reserved' ? 'green' : 'yellow';
}

/** Whether the volume's pool satisfies its type; a volume without a type has no policy to meet. */
export function complianceOf(volume: Pick<Volume, 'typeId' | 'kind'>, pool: Pool | undefined, type: VolumeType | undefined): Compliance {
  if (volume.typeId === null) return 'notApplicable';
  if (!pool || !type) return 'unknown';
  return isCompliant(pool, type, volume.kind) ? 'compliant' : 'nonCompliant';
}
