import { describe, expect, it } from 'vitest';
import { InvalidStateError } from './errors.js';
import {
  ATTACHMENT_TRANSITIONS,
  decideSnapshot,
  decideVolume,
  MIGRATION_STEPS,
  migrationFailure,
  needsAdmin,
  resolveOutcome,
  SNAPSHOT_TRANSITIONS,
  strandedOutcome,
  VOLUME_TRANSITIONS,
  type VolumeAction,
} from './states.js';
import { SNAPSHOT_STATUSES, VOLUME_STATUSES, type SnapshotStatus, type VolumeStatus } from './types.js';

const ERRORS: VolumeStatus[] = ['error', 'error_managing', 'error_extending', 'error_deleting'];

// docs/architecture.md §2, written out independently of the table under test.
const EXPECTED: Record<VolumeAction, { from: VolumeStatus[] | 'new' | 'any'; working: VolumeStatus | null }> = {
  create: { from: 'new', working: 'creating' },
  createFromSnapshot: { from: 'new', working: 'creating' },
  createFromVolume: { from: 'new', working: 'creating' },
  createFromImage: { from: 'new', working: 'downloading' },
  manage: { from: 'new', working: 'managing' },
  reserve: { from: ['available'], working: null },
  unreserve: { from: ['reserved'], working: null },
  attach: { from: ['available', 'reserved', 'in-use'], working: 'attaching' },
  beginDetaching: { from: ['in-use'], working: null },
  rollDetaching: { from: ['detaching'], working: null },
  detach: { from: ['in-use', 'detaching'], working: 'detaching' },
  extend: { from: ['available'], working: 'extending' },
  extendOnline: { from: ['in-use'], working: 'extending' },
  completeExtend: { from: ['extending'], working: null },
  revert: { from: ['available'], working: 'reverting' },
  retype: { from: ['available', 'in-use'], working: 'retyping' },
  migrate: { from: ['available', 'in-use'], working: null },
  uploadImage: { from: ['available'], working: 'uploading' },
  reimage: { from: ['available', 'error'], working: 'downloading' },
  unmanage: { from: ['available'], working: 'unmanaging' },
  delete: { from: ['available', ...ERRORS], working: 'deleting' },
  forceDelete: { from: 'any', working: 'deleting' },
  resetStatus: { from: 'any', working: null },
  forceDetach: { from: 'any', working: 'detaching' },
};

describe('volume state machine', () => {
  it('covers every action', () => {
    expect(Object.keys(VOLUME_TRANSITIONS).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [action, expected] of Object.entries(EXPECTED) as [VolumeAction, (typeof EXPECTED)[VolumeAction]][]) {
    describe(action, () => {
      for (const status of [null, ...VOLUME_STATUSES]) {
        const allowed = expected.from === 'new' ? status === null : status !== null && (expected.from === 'any' || expected.from.includes(status));
        it(`${allowed ? 'allows' : 'refuses'} from ${status ?? '(no record)'}`, () => {
          if (allowed) {
            const d = decideVolume(action, 'v1', status);
            expect(d.expected).toBe(status);
            if (expected.working) expect(d.next).toBe(expected.working);
          } else {
            let err: unknown;
            try {
              decideVolume(action, 'v1', status);
            } catch (e) {
              err = e;
            }
            expect(err).toBeInstanceOf(InvalidStateError);
            expect((err as Error).message).toContain('volume v1');
            expect((err as Error).message).toContain(`has status ${status ?? 'existing'}`);
          }
        });
      }
    });
  }

  it('refuses everything but admin overrides while a migration runs', () => {
    expect(() => decideVolume('attach', 'v1', 'available', 'migrating')).toThrow(/migration is migrating/);
    expect(() => decideVolume('delete', 'v1', 'available', 'starting')).toThrow(InvalidStateError);
    expect(decideVolume('forceDelete', 'v1', 'available', 'migrating').next).toBe('deleting');
    expect(decideVolume('attach', 'v1', 'available', 'success').next).toBe('attaching');
  });

  it('resolves outcomes: previous, by attachments, removed, requested', () => {
    expect(resolveOutcome(VOLUME_TRANSITIONS.extend.success, { previous: 'available', attachmentsLeft: 0 })).toBe('available');
    expect(resolveOutcome(VOLUME_TRANSITIONS.extendOnline.success, { previous: 'in-use', attachmentsLeft: 1 })).toBe('in-use');
    expect(resolveOutcome(VOLUME_TRANSITIONS.detach.success, { previous: 'in-use', attachmentsLeft: 1 })).toBe('in-use');
    expect(resolveOutcome(VOLUME_TRANSITIONS.detach.success, { previous: 'in-use', attachmentsLeft: 0 })).toBe('available');
    expect(resolveOutcome(VOLUME_TRANSITIONS.delete.success, { previous: 'available', attachmentsLeft: 0 })).toBe('removed');
    expect(resolveOutcome(VOLUME_TRANSITIONS.delete.failure, { previous: 'available', attachmentsLeft: 0 })).toBe('error_deleting');
    expect(resolveOutcome(VOLUME_TRANSITIONS.attach.failure, { previous: 'reserved', attachmentsLeft: 0 })).toBe('reserved');
    expect(resolveOutcome(VOLUME_TRANSITIONS.resetStatus.success, { previous: 'error', attachmentsLeft: 0, requested: 'available' })).toBe('available');
    expect(resolveOutcome(VOLUME_TRANSITIONS.unmanage.failure, { previous: 'available', attachmentsLeft: 0 })).toBe('available');
  });
});

const SNAP_EXPECTED: Record<keyof typeof SNAPSHOT_TRANSITIONS, SnapshotStatus[] | 'new' | 'any'> = {
  create: 'new',
  manage: 'new',
  delete: ['available', 'error', 'error_managing', 'error_deleting'],
  unmanage: ['available'],
  forceDelete: 'any',
  resetStatus: 'any',
};

describe('snapshot state machine', () => {
  for (const [action, from] of Object.entries(SNAP_EXPECTED) as [keyof typeof SNAPSHOT_TRANSITIONS, SnapshotStatus[] | 'new' | 'any'][]) {
    for (const status of [null, ...SNAPSHOT_STATUSES]) {
      const allowed = from === 'new' ? status === null : status !== null && (from === 'any' || from.includes(status));
      it(`${action} ${allowed ? 'allowed' : 'refused'} from ${status ?? '(no record)'}`, () => {
        if (allowed) expect(decideSnapshot(action, 's1', status)).toBe(SNAPSHOT_TRANSITIONS[action]);
        else expect(() => decideSnapshot(action, 's1', status)).toThrow(InvalidStateError);
      });
    }
  }
});

describe('the small tables and the admin flag', () => {
  it('reserves to admins exactly what Cinder does', () => {
    const admin = (Object.keys(VOLUME_TRANSITIONS) as VolumeAction[]).filter(needsAdmin).sort();
    expect(admin).toEqual(['completeExtend', 'forceDelete', 'forceDetach', 'manage', 'migrate', 'resetStatus', 'unmanage']);
    expect(Object.entries(SNAPSHOT_TRANSITIONS).filter(([, t]) => t.admin).map(([a]) => a).sort()).toEqual(['forceDelete', 'manage', 'resetStatus', 'unmanage']);
  });

  it('chains the migration steps: each may follow the one before it, and a finished move may start again', () => {
    expect(MIGRATION_STEPS.copy.from).toContain(MIGRATION_STEPS.start.to);
    expect(MIGRATION_STEPS.switch.from).toContain(MIGRATION_STEPS.copy.to);
    expect(MIGRATION_STEPS.finish.from).toContain(MIGRATION_STEPS.switch.to);
    expect(MIGRATION_STEPS.start.from).toEqual(expect.arrayContaining([MIGRATION_STEPS.finish.to, migrationFailure(false), 'none']));
    expect(MIGRATION_STEPS.start.from).not.toContain(MIGRATION_STEPS.copy.to);
  });

  it('lets only a forced detach take an attachment that is still attaching', () => {
    expect(ATTACHMENT_TRANSITIONS.detach.from).toEqual(['attached', 'error_detaching']);
    expect(ATTACHMENT_TRANSITIONS.detach.failure).toBe('error_detaching');
    expect(ATTACHMENT_TRANSITIONS.forceDetach.from).toContain('attaching');
  });

  it('rolls a stranded record to the failure outcome of the action that set its working status', () => {
    expect(strandedOutcome('creating', { previous: null, attachmentsLeft: 0 })).toBe('error');
    expect(strandedOutcome('extending', { previous: 'in-use', attachmentsLeft: 1 })).toBe('error_extending');
    expect(strandedOutcome('attaching', { previous: 'reserved', attachmentsLeft: 0 })).toBe('reserved');
    expect(strandedOutcome('detaching', { previous: 'in-use', attachmentsLeft: 1 })).toBe('in-use');
    expect(strandedOutcome('unmanaging', { previous: 'available', attachmentsLeft: 0 })).toBe('available');
    expect(strandedOutcome('available', { previous: null, attachmentsLeft: 0 })).toBeUndefined();
  });
});
