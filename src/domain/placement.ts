// Whether a pool satisfies a volume type (the scheduler's filter, and CNS
// complianceStatus), and what a type's extra specs ask of a volume.

import type { Pool, VolumeKind, VolumeType } from './types.js';

/** Cinder writes booleans in extra specs as "<is> True". */
export function specIsTrue(value: string | undefined): boolean {
  if (value === undefined) return false;
  return /^(<is>\s*)?(true|1|yes)$/i.test(value.trim());
}

export function typeWantsMultiattach(type: VolumeType | undefined): boolean {
  return specIsTrue(type?.extraSpecs.multiattach);
}

export function typeKind(type: VolumeType | undefined): VolumeKind | undefined {
  const kind = type?.extraSpecs.kind ?? type?.extraSpecs.volume_kind;
  return kind === 'block' || kind === 'file' ? kind : undefined;
}

/** Reasons a pool does not satisfy the type and kind; empty when it does. */
export function placementProblems(pool: Pool, type: VolumeType | undefined, kind: VolumeKind): string[] {
  const problems: string[] = [];
  if (!pool.capabilities.kinds.includes(kind)) problems.push(`holds no ${kind} volumes`);
  if (!type) return problems;
  const specs = type.extraSpecs;
  if (specs.pool !== undefined && specs.pool !== pool.id) problems.push(`type ${type.name} asks for pool ${specs.pool}`);
  const backend = specs.volume_backend_name;
  if (backend !== undefined && backend !== pool.id && backend !== pool.config.backendName) {
    problems.push(`type ${type.name} asks for backend ${backend}`);
  }
  if (specs.thin_provisioning_support !== undefined && specIsTrue(specs.thin_provisioning_support) !== pool.capabilities.thinProvisioning) {
    problems.push(`type ${type.name} asks for thin provisioning ${specs.thin_provisioning_support}`);
  }
  for (const [key, value] of Object.entries(specs)) {
    if (!key.startsWith('topology:')) continue;
    const label = key.slice('topology:'.length);
    if (pool.topology[label] !== value) problems.push(`type ${type.name} asks for ${label}=${value}`);
  }
  return problems;
}

export function isCompliant(pool: Pool, type: VolumeType | undefined, kind: VolumeKind): boolean {
  return placementProblems(pool, type, kind).length === 0;
}

/** A type's extra specs for the storage itself: `csi:<key>` becomes the driver parameter `<key>` (CSI CreateVolume / ModifyVolume parameters). */
export function driverParameters(type: VolumeType | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(type?.extraSpecs ?? {})) if (key.startsWith('csi:')) out[key.slice(4)] = value;
  return out;
}
