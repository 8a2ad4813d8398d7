import { describe, expect, it } from 'vitest';
import { InvalidStateError } from './errors.js';
import { decideSnapshot, decideVolume, resolveOutcome, SNAPSHOT_TRANSITIONS, VOLUME_TRANSITIONS, type VolumeAction } from './states.js';
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
