import { describe, expect, it } from 'vitest';
import { allows, allowsSomewhere, globMatches, visibleNamespaces, type Identity } from './acl.js';

const who = (rules: Identity['rules']): Identity => ({ token: null, management: false, rules });

describe('ACL rules', () => {
  it('matches globs', () => {
    expect(globMatches('team-*', 'team-a')).toBe(true);
    expect(globMatches('team-*', 'teams')).toBe(false);
    expect(globMatches('*', 'anything')).toBe(true);
    expect(globMatches('a.b', 'axb')).toBe(false);
  });

  it('grants per namespace, with broader capabilities including narrower ones', () => {
    const id = who([
      { namespace: 'dev', capabilities: ['write-volume'] },
      { namespace: 'prod', capabilities: ['read-volume'] },
      { namespace: 'ops', capabilities: ['admin'] },
    ]);
    expect(allows(id, 'write-volume', 'dev')).toBe(true);
    expect(allows(id, 'list-volume', 'dev')).toBe(true);
    expect(allows(id, 'mount-volume', 'dev')).toBe(false);
    expect(allows(id, 'read-volume', 'prod')).toBe(true);
    expect(allows(id, 'write-volume', 'prod')).toBe(false);
    expect(allows(id, 'mount-volume', 'ops')).toBe(true);
    expect(allows(id, 'list-volume', 'other')).toBe(false);
    expect(allowsSomewhere(id, 'admin')).toBe(true);
  });

  it('lets an exact rule override a glob, and the longest glob win', () => {
    const id = who([
      { namespace: '*', capabilities: ['read-volume'] },
      { namespace: 'team-*', capabilities: ['write-volume'] },
      { namespace: 'team-locked', capabilities: ['list-volume'] },
    ]);
    expect(allows(id, 'write-volume', 'team-a')).toBe(true);
    expect(allows(id, 'write-volume', 'team-locked')).toBe(false);
    expect(allows(id, 'read-volume', 'team-locked')).toBe(false);
    expect(allows(id, 'read-volume', 'elsewhere')).toBe(true);
    expect(visibleNamespaces(id, 'read-volume', ['team-a', 'team-locked', 'x'])).toEqual(['team-a', 'x']);
  });

  it('management may do anything', () => {
    const m: Identity = { token: null, management: true, rules: [] };
    expect(allows(m, 'admin', 'any')).toBe(true);
    expect(visibleNamespaces(m, 'list-volume', [])).toBe('all');
  });
});
