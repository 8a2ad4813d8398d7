// Which attachments may coexist on one volume: the seven CSI access modes, the
// rw/ro mode of each attachment, and Cinder's multiattach flag.

import { ConflictError, InvalidInputError } from './errors.js';
import type { AccessMode, AccessModeRequest, AttachmentMode, Volume } from './types.js';

export interface AttachmentClaim {
  readonly node: string;
  readonly instance: string;
  readonly mode: 'rw' | 'ro';
  readonly accessMode: AccessMode;
}

interface ModeRule {
  readonly singleNode: boolean;
  readonly readOnly: boolean;
  /** Most read-write attachments at once; Infinity for no limit. */
  readonly maxWriters: number;
  /** Most attachments of any kind at once. */
  readonly maxAttachments: number;
}

const RULES: Readonly<Record<AccessMode, ModeRule>> = {
  'single-node-reader-only': { singleNode: true, readOnly: true, maxWriters: 0, maxAttachments: Infinity },
  'single-node-writer': { singleNode: true, readOnly: false, maxWriters: 1, maxAttachments: Infinity },
  // One workload only (Kubernetes ReadWriteOncePod).
  'single-node-single-writer': { singleNode: true, readOnly: false, maxWriters: 1, maxAttachments: 1 },
  'single-node-multi-writer': { singleNode: true, readOnly: false, maxWriters: Infinity, maxAttachments: Infinity },
  'multi-node-reader-only': { singleNode: false, readOnly: true, maxWriters: 0, maxAttachments: Infinity },
  'multi-node-single-writer': { singleNode: false, readOnly: false, maxWriters: 1, maxAttachments: Infinity },
  'multi-node-multi-writer': { singleNode: false, readOnly: false, maxWriters: Infinity, maxAttachments: Infinity },
};

/**
 * The access mode an attachment request gets: the one it asks for (which the
 * volume must offer), else the volume's first. A volume created without modes
 * behaves like a Cinder volume: one attachment, or any number if multiattach.
 */
export function effectiveAccessMode(
  volume: Pick<Volume, 'id' | 'accessModes' | 'multiattach'>,
  requested?: { accessMode?: AccessMode | undefined; attachmentMode?: AttachmentMode | undefined },
): AccessModeRequest {
  const offered = volume.accessModes;
  if (offered.length === 0) {
    const accessMode: AccessMode = volume.multiattach ? 'multi-node-multi-writer' : 'single-node-single-writer';
    if (requested?.accessMode && requested.accessMode !== accessMode) {
      const base = volume.multiattach ? 'multi-node-multi-writer' : 'single-node-single-writer';
      if (!isNarrowerOrEqual(requested.accessMode, base)) {
        throw new InvalidInputError(`volume ${volume.id} does not offer access mode ${requested.accessMode}`, 'accessMode', { type: 'volume', id: volume.id });
      }
      return { accessMode: requested.accessMode, attachmentMode: requested.attachmentMode ?? 'filesystem' };
    }
    return { accessMode, attachmentMode: requested?.attachmentMode ?? 'filesystem' };
  }
  const match = offered.find(
    (m) =>
      (requested?.accessMode === undefined || m.accessMode === requested.accessMode) &&
      (requested?.attachmentMode === undefined || m.attachmentMode === requested.attachmentMode),
  );
  if (!match) {
    const want = `${requested?.accessMode ?? '*'}/${requested?.attachmentMode ?? '*'}`;
    const have = offered.map((m) => `${m.accessMode}/${m.attachmentMode}`).join(', ');
    throw new InvalidInputError(`volume ${volume.id} offers ${have}, not ${want}`, 'accessMode', { type: 'volume', id: volume.id });
  }
  return match;
}

/** A mode that allows nothing more than `base` allows. */
function isNarrowerOrEqual(mode: AccessMode, base: AccessMode): boolean {
  const a = RULES[mode];
  const b = RULES[base];
  return (a.singleNode || !b.singleNode) && (a.readOnly || !b.readOnly) && a.maxWriters <= b.maxWriters && a.maxAttachments <= b.maxAttachments;
}

/**
 * Throws ConflictError (naming the volume and the attachments in the way) when
 * `candidate` cannot join `existing`. Every mode present must hold for all.
 */
export function checkAttachmentAllowed(
  volume: Pick<Volume, 'id' | 'readonly'>,
  existing: readonly AttachmentClaim[],
  candidate: AttachmentClaim,
): void {
  const ref = { type: 'volume', id: volume.id };
  if (volume.readonly && candidate.mode === 'rw') {
    throw new ConflictError(`volume ${volume.id} is read-only; attach it with mode ro`, ref);
  }
  const all = [...existing, candidate];
  const modes = new Set(all.map((a) => a.accessMode));
  for (const accessMode of modes) {
    const rule = RULES[accessMode];
    if (rule.readOnly && candidate.mode === 'rw') {
      throw new ConflictError(`volume ${volume.id} is ${accessMode}; attach it with mode ro`, ref);
    }
    if (rule.singleNode) {
      const other = existing.find((a) => a.node !== candidate.node);
      if (other) {
        throw new ConflictError(
          `volume ${volume.id} is ${accessMode} and attached on node ${other.node} (instance ${other.instance}); cannot attach on node ${candidate.node}`,
          ref,
        );
      }
    }
    if (all.length > rule.maxAttachments) {
      const holders = existing.map((a) => `${a.instance}@${a.node}`).join(', ');
      throw new ConflictError(`volume ${volume.id} is ${accessMode} and already attached to ${holders}`, ref);
    }
    const writers = all.filter((a) => a.mode === 'rw');
    if (writers.length > rule.maxWriters) {
      const holders = existing.filter((a) => a.mode === 'rw').map((a) => `${a.instance}@${a.node}`).join(', ');
      throw new ConflictError(`volume ${volume.id} is ${accessMode} and already has a writer: ${holders}`, ref);
    }
  }
}
