import { describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError } from './errors.js';
import { applyAclChanges, clientAccess, DENY_ALL, ipRange, ruleFor } from './nfs-access.js';
import type { AclRule } from './types.js';

const rw = (ips: string): AclRule => ({ ips, permissions: 'READ_WRITE', rootSquash: false });
const ro = (ips: string): AclRule => ({ ips, permissions: 'READ_ONLY', rootSquash: true });

describe('NFS access rules', () => {
  it('reads the four IP forms and refuses others', () => {
    expect(ipRange('10.0.0.7')).toEqual({ from: 167772167, to: 167772167 });
    expect(ipRange('10.0.0.0/24')).toEqual({ from: 167772160, to: 167772415 });
    expect(ipRange('10.0.0.1-10.0.0.9')).toEqual({ from: 167772161, to: 167772169 });
    expect(ipRange('*')?.to).toBe(2 ** 32 - 1);
    for (const bad of ['10.0.0.256', '10.0.0.0/33', '10.0.0.9-10.0.0.1', 'host.example', '10.0.0', '']) expect(ipRange(bad)).toBeUndefined();
  });

  it('adds, replaces by IP spec, deletes by exact spec, and denies all when the last goes', () => {
    let rules = applyAclChanges([], [{ rule: rw('10.0.0.0/24'), delete: false }, { rule: ro('*'), delete: false }]);
    expect(rules).toEqual([rw('10.0.0.0/24'), ro('*')]);
    rules = applyAclChanges(rules, [{ rule: ro('10.0.0.0/24'), delete: false }]);
    expect(rules).toEqual([ro('*'), ro('10.0.0.0/24')]);
    rules = applyAclChanges(rules, [{ rule: rw('10.0.0.0/25'), delete: true }]);
    expect(rules).toHaveLength(2);
    rules = applyAclChanges(rules, [{ rule: rw('*'), delete: true }, { rule: rw('10.0.0.0/24'), delete: true }]);
    expect(rules).toEqual([DENY_ALL]);
  });

  it('names the item and field of a bad rule', () => {
    expect(() => applyAclChanges([], [{ rule: rw('1.2.3.4'), delete: false }, { rule: rw('10.1.0.0/40'), delete: false }], (i) => `specs[${i}]`)).toThrow(
      new InvalidInputError('"10.1.0.0/40" is not an IPv4 address, a CIDR (10.0.0.0/24), a range (10.0.0.1-10.0.0.9) or *', 'specs[1].ips'),
    );
  });

  it('lets the narrowest matching rule decide', () => {
    const rules = [ro('*'), rw('10.0.0.0/16'), { ips: '10.0.5.5', permissions: 'NO_ACCESS', rootSquash: true } as AclRule];
    expect(ruleFor(rules, '10.0.9.9')?.permissions).toBe('READ_WRITE');
    expect(ruleFor(rules, '192.168.1.1')?.permissions).toBe('READ_ONLY');
    expect(ruleFor(rules, undefined)?.ips).toBe('*');
    expect(() => clientAccess('v1', rules, '10.0.5.5')).toThrow(ConflictError);
    expect(() => clientAccess('v1', [rw('10.0.0.1')], '10.0.0.2')).toThrow(/no access rule of volume v1 lets 10.0.0.2 in/);
    expect(clientAccess('v1', [], '10.0.0.2')).toBeUndefined();
  });
});
