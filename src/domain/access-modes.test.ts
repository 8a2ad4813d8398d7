import { describe, expect, it } from 'vitest';
import { checkAttachmentAllowed, effectiveAccessMode, type AttachmentClaim } from './access-modes.js';
import { ConflictError, InvalidInputError } from './errors.js';
import type { AccessMode } from './types.js';

const vol = { id: 'v1', readonly: false };
const claim = (node: string, mode: 'rw' | 'ro', accessMode: AccessMode, instance = `${node}-${mode}`): AttachmentClaim => ({ node, instance, mode, accessMode });

function allowed(existing: AttachmentClaim[], next: AttachmentClaim, volume = vol): boolean {
  try {
    checkAttachmentAllowed(volume, existing, next);
    return true;
  } catch (e) {
    expect(e).toBeInstanceOf(ConflictError);
    expect((e as Error).message).toContain('volume v1');
    return false;
  }
}

describe('access modes', () => {
  it('single-node-reader-only: readers on one node', () => {
    const m = 'single-node-reader-only';
    expect(allowed([], claim('a', 'ro', m))).toBe(true);
    expect(allowed([], claim('a', 'rw', m))).toBe(false);
    expect(allowed([claim('a', 'ro', m)], claim('a', 'ro', m, 'x'))).toBe(true);
    expect(allowed([claim('a', 'ro', m)], claim('b', 'ro', m))).toBe(false);
  });

  it('single-node-writer: one node, one writer, readers beside it', () => {
    const m = 'single-node-writer';
    expect(allowed([claim('a', 'rw', m)], claim('b', 'rw', m))).toBe(false);
    expect(allowed([claim('a', 'rw', m)], claim('a', 'rw', m, 'x'))).toBe(false);
    expect(allowed([claim('a', 'rw', m)], claim('a', 'ro', m))).toBe(true);
  });

  it('single-node-single-writer: exactly one attachment', () => {
    const m = 'single-node-single-writer';
    expect(allowed([], claim('a', 'rw', m))).toBe(true);
    expect(allowed([claim('a', 'rw', m)], claim('a', 'ro', m))).toBe(false);
  });

  it('single-node-multi-writer: many writers on one node only', () => {
    const m = 'single-node-multi-writer';
    expect(allowed([claim('a', 'rw', m)], claim('a', 'rw', m, 'x'))).toBe(true);
    expect(allowed([claim('a', 'rw', m)], claim('b', 'rw', m))).toBe(false);
  });

  it('multi-node modes', () => {
    expect(allowed([claim('a', 'ro', 'multi-node-reader-only')], claim('b', 'ro', 'multi-node-reader-only'))).toBe(true);
    expect(allowed([], claim('b', 'rw', 'multi-node-reader-only'))).toBe(false);
    expect(allowed([claim('a', 'rw', 'multi-node-single-writer')], claim('b', 'ro', 'multi-node-single-writer'))).toBe(true);
    expect(allowed([claim('a', 'rw', 'multi-node-single-writer')], claim('b', 'rw', 'multi-node-single-writer'))).toBe(false);
    expect(allowed([claim('a', 'rw', 'multi-node-multi-writer')], claim('b', 'rw', 'multi-node-multi-writer'))).toBe(true);
  });

  it('a read-only volume takes only ro attachments', () => {
    expect(allowed([], claim('a', 'rw', 'multi-node-multi-writer'), { id: 'v1', readonly: true })).toBe(false);
    expect(allowed([], claim('a', 'ro', 'multi-node-multi-writer'), { id: 'v1', readonly: true })).toBe(true);
  });

  it('picks the effective mode: requested among offered, or Cinder defaults by multiattach', () => {
    expect(effectiveAccessMode({ id: 'v1', accessModes: [], multiattach: false }).accessMode).toBe('single-node-single-writer');
    expect(effectiveAccessMode({ id: 'v1', accessModes: [], multiattach: true }).accessMode).toBe('multi-node-multi-writer');
    const offered = [
      { accessMode: 'single-node-writer' as const, attachmentMode: 'filesystem' as const },
      { accessMode: 'multi-node-reader-only' as const, attachmentMode: 'block' as const },
    ];
    expect(effectiveAccessMode({ id: 'v1', accessModes: offered, multiattach: false }).accessMode).toBe('single-node-writer');
    expect(effectiveAccessMode({ id: 'v1', accessModes: offered, multiattach: false }, { attachmentMode: 'block' }).accessMode).toBe('multi-node-reader-only');
    expect(() => effectiveAccessMode({ id: 'v1', accessModes: offered, multiattach: false }, { accessMode: 'multi-node-multi-writer' })).toThrow(InvalidInputError);
    expect(() => effectiveAccessMode({ id: 'v1', accessModes: [], multiattach: false }, { accessMode: 'multi-node-multi-writer' })).toThrow(/does not offer/);
  });
});
