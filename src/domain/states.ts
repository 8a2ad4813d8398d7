// The one transition table of docs/architecture.md §2. Every surface reaches the store
// through the engine, and the engine asks this table before any status change;
// the store's compare-and-set then makes the decision race-free.

import { InvalidStateError } from './errors.js';
import type { AttachmentStatus, MigrationStatus, SnapshotStatus, VolumeStatus } from './types.js';

const MIGRATING: readonly MigrationStatus[] = ['starting', 'migrating', 'completing'];

export type VolumeAction =
  | 'create'
  | 'createFromSnapshot'
  | 'createFromVolume'
  | 'createFromImage'
  | 'manage'
  | 'reserve'
  | 'unreserve'
  | 'attach'
  | 'beginDetaching'
  | 'rollDetaching'
  | 'detach'
  | 'extend'
  | 'extendOnline'
  | 'completeExtend'
  | 'revert'
  | 'retype'
  | 'migrate'
  | 'uploadImage'
  | 'reimage'
  | 'unmanage'
  | 'delete'
  | 'forceDelete'
  | 'resetStatus'
  | 'forceDetach';

/** Where a success or failure leads. */
export type Outcome =
  | { readonly to: 'status'; readonly status: VolumeStatus }
  /** Back to the status the volume had when the action began. */
  | { readonly to: 'previous' }
  /** The record goes away. */
  | { readonly to: 'removed' }
  /** in-use while attachments remain, else available. */
  | { readonly to: 'byAttachments' }
  /** Whatever the admin asked for (reset status). */
  | { readonly to: 'requested' };

export interface VolumeTransition {
  /** 'new' for actions that make the record; 'any' for admin actions. */
  readonly from: readonly VolumeStatus[] | 'new' | 'any';
  /** null: the action is synchronous or leaves status alone (migrate uses migrationStatus). */
  readonly working: VolumeStatus | null;
  readonly success: Outcome;
  readonly failure: Outcome;
  /** Admin-only actions (Cinder reserves these to admins). */
  readonly admin: boolean;
}

const status = (s: VolumeStatus): Outcome => ({ to: 'status', status: s });
const previous: Outcome = { to: 'previous' };
const removed: Outcome = { to: 'removed' };

const ERROR_STATUSES: readonly VolumeStatus[] = ['error', 'error_managing', 'error_extending', 'error_deleting'];

export const VOLUME_TRANSITIONS: Readonly<Record<VolumeAction, VolumeTransition>> = {
  create: { from: 'new', working: 'creating', success: status('available'), failure: status('error'), admin: false },
  createFromSnapshot: { from: 'new', working: 'creating', success: status('available'), failure: status('error'), admin: false },
  createFromVolume: { from: 'new', working: 'creating', success: status('available'), failure: status('error'), admin: false },
  createFromImage: { from: 'new', working: 'downloading', success: status('available'), failure: status('error'), admin: false },
  manage: { from: 'new', working: 'managing', success: status('available'), failure: status('error_managing'), admin: true },
  reserve: { from: ['available'], working: null, success: status('reserved'), failure: previous, admin: false },
  unreserve: { from: ['reserved'], working: null, success: status('available'), failure: previous, admin: false },
  attach: { from: ['available', 'reserved', 'in-use'], working: 'attaching', success: status('in-use'), failure: previous, admin: false },
  // Cinder's os-begin_detaching / os-roll_detaching: a host announces a detach
  // (no task; the reconciler rolls it back on start if the detach never came).
  beginDetaching: { from: ['in-use'], working: null, success: status('detaching'), failure: previous, admin: false },
  rollDetaching: { from: ['detaching'], working: null, success: status('in-use'), failure: previous, admin: false },
  // From detaching too: the detach that follows begin-detaching (the engine
  // refuses a second detach while one is running).
  detach: { from: ['in-use', 'detaching'], working: 'detaching', success: { to: 'byAttachments' }, failure: status('in-use'), admin: false },
  extend: { from: ['available'], working: 'extending', success: previous, failure: status('error_extending'), admin: false },
  // Only when the driver extends attached volumes; the engine checks that.
  extendOnline: { from: ['in-use'], working: 'extending', success: previous, failure: status('error_extending'), admin: false },
  completeExtend: { from: ['extending'], working: null, success: status('in-use'), failure: status('error_extending'), admin: true },
  revert: { from: ['available'], working: 'reverting', success: status('available'), failure: status('error'), admin: false },
  retype: { from: ['available', 'in-use'], working: 'retyping', success: previous, failure: previous, admin: false },
  migrate: { from: ['available', 'in-use'], working: null, success: previous, failure: previous, admin: true },
  uploadImage: { from: ['available'], working: 'uploading', success: status('available'), failure: status('error'), admin: false },
  reimage: { from: ['available', 'error'], working: 'downloading', success: status('available'), failure: status('error'), admin: false },
  unmanage: { from: ['available'], working: 'unmanaging', success: removed, failure: status('available'), admin: true },
  delete: { from: ['available', ...ERROR_STATUSES], working: 'deleting', success: removed, failure: status('error_deleting'), admin: false },
  forceDelete: { from: 'any', working: 'deleting', success: removed, failure: status('error_deleting'), admin: true },
  resetStatus: { from: 'any', working: null, success: { to: 'requested' }, failure: previous, admin: true },
  forceDetach: { from: 'any', working: 'detaching', success: { to: 'byAttachments' }, failure: status('in-use'), admin: true },
};

export interface Decision {
  readonly action: VolumeAction;
  /** The status the store must still see for the change to apply (compare-and-set). */
  readonly expected: VolumeStatus | null;
  /** The status written now. */
  readonly next: VolumeStatus | null;
  readonly transition: VolumeTransition;
}

export function isAllowedFrom(action: VolumeAction, current: VolumeStatus | null): boolean {
  const t = VOLUME_TRANSITIONS[action];
  if (t.from === 'new') return current === null;
  if (current === null) return false;
  if (t.from === 'any') return true;
  return t.from.includes(current);
}

/**
 * Decide whether `action` may start on a volume in status `current` (null: no
 * record yet). Throws InvalidStateError naming the volume and status if not.
 */
export function decideVolume(
  action: VolumeAction,
  volumeId: string,
  current: VolumeStatus | null,
  migrationStatus: MigrationStatus = 'none',
): Decision {
  const transition = VOLUME_TRANSITIONS[action];
  // A migrating volume is busy whatever its status says; only admin overrides pass.
  if (MIGRATING.includes(migrationStatus) && transition.from !== 'any') {
    throw new InvalidStateError({ type: 'volume', id: volumeId }, `${actionLabel(action)} volume`, current ?? 'existing', `migration is ${migrationStatus}`);
  }
  if (!isAllowedFrom(action, current)) {
    const allowed = transition.from === 'new' ? 'a new volume' : transition.from === 'any' ? 'any status' : transition.from.join(', ');
    throw new InvalidStateError({ type: 'volume', id: volumeId }, `${actionLabel(action)} volume`, current ?? 'existing', `allowed from ${allowed}`, Array.isArray(transition.from) ? transition.from : undefined);
  }
  let next: VolumeStatus | null = transition.working;
  if (next === null && transition.success.to === 'status') next = transition.success.status;
  return { action, expected: current, next, transition };
}

/** The status a finished action leaves, given where it started. */
export function resolveOutcome(
  outcome: Outcome,
  ctx: { previous: VolumeStatus; attachmentsLeft: number; requested?: VolumeStatus },
): VolumeStatus | 'removed' {
  switch (outcome.to) {
    case 'status':
      return outcome.status;
    case 'previous':
      return ctx.previous;
    case 'removed':
      return 'removed';
    case 'byAttachments':
      return ctx.attachmentsLeft > 0 ? 'in-use' : 'available';
    case 'requested':
      return ctx.requested ?? ctx.previous;
  }
}

/**
 * Where a volume found in working status `status` with no task left goes:
 * the failure outcome of the action that sets that working status.
 */
export function strandedOutcome(status: VolumeStatus, ctx: { previous: VolumeStatus | null; attachmentsLeft: number }): VolumeStatus | undefined {
  const transition = Object.values(VOLUME_TRANSITIONS).find((t) => t.working === status && t.from !== 'any');
  if (!transition) return undefined;
  const to = resolveOutcome(transition.failure, { previous: ctx.previous ?? (ctx.attachmentsLeft ? 'in-use' : 'available'), attachmentsLeft: ctx.attachmentsLeft });
  return to === 'removed' ? undefined : to;
}

/** Whether the table reserves an action to admins (every surface's access rules ask here). */
export function needsAdmin(action: VolumeAction): boolean {
  return VOLUME_TRANSITIONS[action].admin;
}

export function actionLabel(action: VolumeAction): string {
  return action.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
}

/** Statuses with work under way: each must have a live task (docs/architecture.md §2-3). */
export const WORKING_VOLUME_STATUSES: readonly VolumeStatus[] = [
  'creating',
  'downloading',
  'attaching',
  'detaching',
  'extending',
  'reverting',
  'retyping',
  'uploading',
  'managing',
  'unmanaging',
  'deleting',
];

// ---- migration ---------------------------------------------------------------

/**
 * A move between pools has its own small table on `migrationStatus`: each
 * step may follow only the one before it, so a step an admin reset overtook
 * fails its compare-and-set instead of writing over the reset.
 */
export const MIGRATION_STEPS: Readonly<Record<'start' | 'copy' | 'switch' | 'finish', { readonly from: readonly MigrationStatus[]; readonly to: MigrationStatus }>> = {
  start: { from: ['none', 'success', 'error'], to: 'starting' },
  copy: { from: ['starting', 'migrating'], to: 'migrating' },
  switch: { from: ['migrating', 'completing'], to: 'completing' },
  finish: { from: ['completing', 'success'], to: 'success' },
};

/** How a failed move ends: once the record points at the new pool the move stands; before, it failed. */
export function migrationFailure(switched: boolean): MigrationStatus {
  return switched ? 'success' : 'error';
}

// ---- attachments -------------------------------------------------------------

/** An attachment's own table: which statuses an attach or detach may take it from, and where each ends. */
export const ATTACHMENT_TRANSITIONS = {
  attach: { from: 'new', working: 'attaching', success: 'attached', failure: 'removed' },
  // A claim without a host; connecting it (the host is now known) starts the attach.
  reserve: { from: 'new', working: 'reserved', success: 'reserved', failure: 'removed' },
  connect: { from: ['reserved'], working: 'attaching', success: 'attached', failure: 'removed' },
  release: { from: ['reserved'], working: 'reserved', success: 'removed', failure: 'reserved' },
  // A detach that fails leaves the claim in error_detaching: its consumer has gone (what a forced
  // deregister may drop), the volume is still published there, and a detach may be tried again.
  detach: { from: ['attached', 'error_detaching'], working: 'detaching', success: 'removed', failure: 'error_detaching' },
  // A forced detach may overtake an attach still at work; that attach then leaves what it published to it.
  forceDetach: { from: ['attaching', 'attached', 'detaching', 'error_detaching'], working: 'detaching', success: 'removed', failure: 'error_detaching' },
} as const satisfies Readonly<Record<string, { from: 'new' | readonly AttachmentStatus[]; working: AttachmentStatus; success: AttachmentStatus | 'removed'; failure: AttachmentStatus | 'removed' }>>;

// ---- snapshots ---------------------------------------------------------------

export type SnapshotAction = 'create' | 'manage' | 'delete' | 'unmanage' | 'forceDelete' | 'resetStatus';

export interface SnapshotTransition {
  readonly from: readonly SnapshotStatus[] | 'new' | 'any';
  readonly working: SnapshotStatus | null;
  readonly success: SnapshotStatus | 'removed' | 'requested';
  readonly failure: SnapshotStatus;
  readonly admin: boolean;
}

export const SNAPSHOT_TRANSITIONS: Readonly<Record<SnapshotAction, SnapshotTransition>> = {
  create: { from: 'new', working: 'creating', success: 'available', failure: 'error', admin: false },
  manage: { from: 'new', working: 'managing', success: 'available', failure: 'error_managing', admin: true },
  delete: { from: ['available', 'error', 'error_managing', 'error_deleting'], working: 'deleting', success: 'removed', failure: 'error_deleting', admin: false },
  unmanage: { from: ['available'], working: 'unmanaging', success: 'removed', failure: 'available', admin: true },
  forceDelete: { from: 'any', working: 'deleting', success: 'removed', failure: 'error_deleting', admin: true },
  resetStatus: { from: 'any', working: null, success: 'requested', failure: 'error', admin: true },
};

export const WORKING_SNAPSHOT_STATUSES: readonly SnapshotStatus[] = ['creating', 'managing', 'unmanaging', 'deleting'];

export function decideSnapshot(action: SnapshotAction, snapshotId: string, current: SnapshotStatus | null): SnapshotTransition {
  const t = SNAPSHOT_TRANSITIONS[action];
  const ok = t.from === 'new' ? current === null : current !== null && (t.from === 'any' || t.from.includes(current));
  if (!ok) {
    const allowed = t.from === 'new' ? 'a new snapshot' : t.from === 'any' ? 'any status' : t.from.join(', ');
    throw new InvalidStateError({ type: 'snapshot', id: snapshotId }, `${action} snapshot`, current ?? 'existing', `allowed from ${allowed}`, Array.isArray(t.from) ? t.from : undefined);
  }
  return t;
}
