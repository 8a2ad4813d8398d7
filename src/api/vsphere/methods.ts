// What every batch method of the CNS surface declares: where its specs are
// in the request, what each needs, how one spec becomes an engine operation,
// the engine's field names in the spec's words, and the result subtype of
// its items.

import type { FastifyRequest } from 'fastify';
import type { Volumed } from '../../app/open.js';
import type { Capability } from '../../domain/acl.js';
import type { TaskItem } from '../../domain/types.js';
import type { BatchOutcome } from '../../engine/batches.js';
import { authorize } from '../guard.js';
import type { FieldNames } from './faults.js';

export interface CnsCall {
  readonly volumed: Volumed;
  readonly req: FastifyRequest;
}

export interface SpecMethod {
  /** The request key that holds the specs (`createSpecs`, `ACLConfigSpecs`, ...). */
  readonly specsKey: string;
  /** The request is one spec (the async query): its item's faults name this key. */
  readonly whole?: boolean;
  /** The volume a spec names, for its result and the batch's namespace ('' when none yet). */
  volumeIdOf(spec: unknown): string;
  run(call: CnsCall, spec: unknown, request: Readonly<Record<string, unknown>>): Promise<BatchOutcome>;
  readonly names: FieldNames;
  /** The item's result subtype and its own fields (volumeId and fault are added for every item). */
  result(item: TaskItem): { readonly typeName: string; readonly fields: Readonly<Record<string, unknown>> };
}

/** `spec.volumeId.id`, as most specs name their volume. */
export function namedVolume(spec: unknown): string {
  const id = (spec as { volumeId?: { id?: unknown } } | null)?.volumeId?.id;
  return typeof id === 'string' ? id : '';
}

/** A spec that is itself a CnsVolumeId (CnsDeleteVolume, CnsQueryVolumeInfo). */
export function bareVolumeId(spec: unknown): string {
  const id = (spec as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : '';
}

export const plainResult = (): { typeName: string; fields: Record<string, unknown> } => ({ typeName: 'CnsVolumeOperationResult', fields: {} });

/** The caller may do `need` to the volume (404 as not found when it cannot even read it). */
export async function mayAct(call: CnsCall, need: Capability, volumeId: string): Promise<void> {
  await authorize(call.volumed, call.req, need, 'volume', volumeId);
}

/** What a spec's `profile` asks for: the first defined profile's id (volumed's volume type); an empty profile asks for none. */
export function profileOf(profile: readonly { _typeName?: string | undefined; profileId?: string | undefined }[] | undefined): string | undefined {
  return profile?.find((p) => p._typeName !== 'VirtualMachineEmptyProfileSpec' && p.profileId)?.profileId;
}
