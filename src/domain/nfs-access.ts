// NFS access rules of file volumes (CNS netPermissions): which clients may
// reach a file volume and how. Rules are validated when written, changed as
// deltas (add or replace by IP spec, delete by exact IP spec), and the most
// specific rule that matches a client decides what an attach publishes.

import { ConflictError, InvalidInputError } from './errors.js';
import type { AclRule } from './types.js';

export const ACL_PERMISSIONS = ['READ_WRITE', 'READ_ONLY', 'NO_ACCESS'] as const;

/** What CNS leaves when the last rule is deleted. */
export const DENY_ALL: AclRule = { ips: '*', permissions: 'NO_ACCESS', rootSquash: true };

interface IpRange {
  readonly from: number;
  readonly to: number;
}

function ipv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

/** The addresses an IP spec covers: one IPv4 address, a CIDR, `a-b`, or `*`; undefined when malformed. */
export function ipRange(spec: string): IpRange | undefined {
  const s = spec.trim();
  if (s === '*') return { from: 0, to: 2 ** 32 - 1 };
  const cidr = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (cidr) {
    const base = ipv4(cidr[1] ?? '');
    const bits = Number(cidr[2]);
    if (base === undefined || bits > 32) return undefined;
    const size = 2 ** (32 - bits);
    const from = Math.floor(base / size) * size;
    return { from, to: from + size - 1 };
  }
  const dash = s.split('-');
  if (dash.length === 2) {
    const from = ipv4(dash[0] ?? '');
    const to = ipv4(dash[1] ?? '');
    if (from === undefined || to === undefined || from > to) return undefined;
    return { from, to };
  }
  const one = ipv4(s);
  return one === undefined ? undefined : { from: one, to: one };
}

export function checkAclRule(rule: AclRule, field: string): AclRule {
  if (ipRange(rule.ips) === undefined) {
    throw new InvalidInputError(`"${rule.ips}" is not an IPv4 address, a CIDR (10.0.0.0/24), a range (10.0.0.1-10.0.0.9) or *`, `${field}.ips`);
  }
  if (!ACL_PERMISSIONS.includes(rule.permissions)) throw new InvalidInputError(`must be one of ${ACL_PERMISSIONS.join(', ')}`, `${field}.permissions`);
  return { ips: rule.ips.trim(), permissions: rule.permissions, rootSquash: rule.rootSquash };
}

export function checkAclRules(rules: readonly AclRule[], field = 'aclRules'): AclRule[] {
  return rules.map((r, i) => checkAclRule(r, `${field}[${i}]`));
}

export interface AclChange {
  readonly rule: AclRule;
  /** Remove the rule whose IP spec is exactly `rule.ips` (its permissions are ignored). */
  readonly delete: boolean;
}

/** The rules after the changes, in order; a rule for an IP spec already listed replaces it. */
export function applyAclChanges(current: readonly AclRule[], changes: readonly AclChange[], ruleField: (index: number) => string = (i) => `aclRules[${i}]`): AclRule[] {
  let rules = [...current];
  changes.forEach((change, i) => {
    const ips = change.rule.ips.trim();
    if (change.delete) {
      if (ipRange(ips) === undefined) checkAclRule(change.rule, ruleField(i));
      rules = rules.filter((r) => r.ips !== ips);
      return;
    }
    const rule = checkAclRule(change.rule, ruleField(i));
    rules = [...rules.filter((r) => r.ips !== rule.ips), rule];
  });
  return rules.length === 0 && current.length > 0 ? [DENY_ALL] : rules;
}

/** The rule that decides for a client: the narrowest match; `*` decides for a client of unknown address. */
export function ruleFor(rules: readonly AclRule[], clientIp: string | undefined): AclRule | undefined {
  const ip = clientIp === undefined ? undefined : ipv4(clientIp);
  let best: { rule: AclRule; width: number } | undefined;
  for (const rule of rules) {
    const range = ipRange(rule.ips);
    if (!range) continue;
    const matches = ip === undefined ? rule.ips === '*' : ip >= range.from && ip <= range.to;
    const width = range.to - range.from;
    if (matches && (!best || width < best.width)) best = { rule, width };
  }
  return best?.rule;
}

/**
 * What a client may do with a file volume that has rules: refuses a client
 * no rule lets in, and says whether it may write. No rules: anyone, read-write.
 */
export function clientAccess(volumeId: string, rules: readonly AclRule[], clientIp: string | undefined): AclRule | undefined {
  if (rules.length === 0) return undefined;
  const rule = ruleFor(rules, clientIp);
  const who = clientIp ?? 'a client of unknown address';
  if (!rule) throw new ConflictError(`no access rule of volume ${volumeId} lets ${who} in`, { type: 'volume', id: volumeId });
  if (rule.permissions === 'NO_ACCESS') throw new ConflictError(`volume ${volumeId}'s access rule ${rule.ips} gives ${who} NO_ACCESS`, { type: 'volume', id: volumeId });
  return rule;
}
