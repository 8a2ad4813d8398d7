import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../domain/errors.js';
import { atLeast, format, negotiate, VersionNotAcceptableError } from './microversions.js';

describe('Cinder microversions', () => {
  it('defaults to 3.0 and reads the volume service out of a list', () => {
    expect(format(negotiate(undefined))).toBe('3.0');
    expect(format(negotiate('compute 2.90, volume 3.44'))).toBe('3.44');
    expect(format(negotiate(['volume 3.7']))).toBe('3.7');
    expect(format(negotiate('volume latest'))).toBe('3.71');
    expect(format(negotiate('compute 2.1'))).toBe('3.0');
  });

  it('refuses versions out of range (406) and malformed ones (400)', () => {
    expect(() => negotiate('volume 3.72')).toThrow(VersionNotAcceptableError);
    expect(() => negotiate('volume 2.0')).toThrow(VersionNotAcceptableError);
    expect(() => negotiate('volume 3')).toThrow(InvalidInputError);
    expect(() => negotiate('volume 3.x')).toThrow(InvalidInputError);
  });

  it('compares minor versions as numbers', () => {
    expect(atLeast(negotiate('volume 3.10'), '3.9')).toBe(true);
    expect(atLeast(negotiate('volume 3.9'), '3.10')).toBe(false);
    expect(atLeast(negotiate('volume 3.42'), '3.42')).toBe(true);
  });
});
