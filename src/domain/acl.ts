// Tokens and policies in the style of Nomad: a policy grants capabilities per
// namespace (globs allowed); a management token may do everything. Pure rules,
// no I/O: who may do what where.

export const CAPABILITIES = ['list-volume', 'read-volume', 'write-volume', 'mount-volume', 'admin'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export interface PolicyRule {
  /** A namespace name, or a glob with `*` (e.g. `team-*`, `*`). */
  readonly namespace: string;
  readonly capabilities: readonly Capability[];
}

export interface Policy {
  readonly name: string;
  readonly description: string;
  readonly rules: readonly PolicyRule[];
  readonly createdAt: string;
}

export interface AclToken {
  /** The accessor id: safe to show and log. */
  readonly id: string;
  readonly name: string;
  readonly policies: readonly string[];
  readonly management: boolean;
  readonly createdAt: string;
}

/** Who is asking: a token with its policies resolved, or everyone when ACLs are off. */
export interface Identity {
  readonly token: AclToken | null;
  readonly management: boolean;
  readonly rules: readonly PolicyRule[];
}

export const ANONYMOUS_ALL: Identity = { token: null, management: true, rules: [] };

/** Broader capabilities include narrower ones. */
const IMPLIES: Readonly<Record<Capability, readonly Capability[]>> = {
  'list-volume': ['list-volume'],
  'read-volume': ['read-volume', 'list-volume'],
  'write-volume': ['write-volume', 'read-volume', 'list-volume'],
  'mount-volume': ['mount-volume', 'read-volume', 'list-volume'],
  admin: [...CAPABILITIES],
};

export function globMatches(glob: string, name: string): boolean {
  const pattern = new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return pattern.test(name);
}

/**
 * The rules that apply to a namespace: an exact rule wins over globs, and of
 * globs the longest (most specific) wins, as in Nomad.
 */
function ruleFor(rules: readonly PolicyRule[], namespace: string): PolicyRule[] {
  const exact = rules.filter((r) => r.namespace === namespace);
  if (exact.length) return exact;
  const globs = rules.filter((r) => r.namespace.includes('*') && globMatches(r.namespace, namespace));
  if (!globs.length) return [];
  const longest = Math.max(...globs.map((r) => r.namespace.length));
  return globs.filter((r) => r.namespace.length === longest);
}

export function allows(identity: Identity, capability: Capability, namespace: string): boolean {
  if (identity.management) return true;
  return ruleFor(identity.rules, namespace).some((r) => r.capabilities.some((c) => IMPLIES[c].includes(capability)));
}

/** Whether the identity holds the capability in some namespace (for pool-wide listings). */
export function allowsSomewhere(identity: Identity, capability: Capability): boolean {
  return identity.management || identity.rules.some((r) => r.capabilities.some((c) => IMPLIES[c].includes(capability)));
}

/** Of the given namespaces, those the identity may use with the capability; 'all' for management. */
export function visibleNamespaces(identity: Identity, capability: Capability, known: readonly string[]): readonly string[] | 'all' {
  if (identity.management) return 'all';
  return known.filter((ns) => allows(identity, capability, ns));
}
