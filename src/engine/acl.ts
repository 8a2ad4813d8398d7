// Tokens and policies: bootstrap, management, and turning a secret into an
// Identity. Secrets are random (256 bits), shown once, and stored as sha256.

import { createHash, randomBytes } from 'node:crypto';
import { newId } from './ids.js';
import { ANONYMOUS_ALL, CAPABILITIES, type AclToken, type Capability, type Identity, type Policy, type PolicyRule } from '../domain/acl.js';
import { InvalidInputError, UnauthenticatedError } from '../domain/errors.js';
import { checkName } from '../domain/validation.js';
import type { Store } from '../store/store.js';

export interface IssuedToken {
  readonly token: AclToken;
  /** Shown once, here; volumed keeps only its hash. */
  readonly secretId: string;
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

const NAMESPACE_GLOB = /^[A-Za-z0-9*][A-Za-z0-9_.*-]{0,127}$/;

function checkRules(rules: unknown): PolicyRule[] {
  if (!Array.isArray(rules) || rules.length === 0) throw new InvalidInputError('must be a non-empty list', 'rules');
  return rules.map((r: unknown, i) => {
    const rule = (r ?? {}) as { namespace?: unknown; capabilities?: unknown };
    if (typeof rule.namespace !== 'string' || !NAMESPACE_GLOB.test(rule.namespace)) throw new InvalidInputError('must be a namespace or a glob such as team-*', `rules[${i}].namespace`);
    if (!Array.isArray(rule.capabilities) || rule.capabilities.length === 0) throw new InvalidInputError('must be a non-empty list', `rules[${i}].capabilities`);
    for (const c of rule.capabilities as unknown[]) {
      if (!CAPABILITIES.includes(c as Capability)) throw new InvalidInputError(`must be among ${CAPABILITIES.join(', ')}; got ${JSON.stringify(c)}`, `rules[${i}].capabilities`);
    }
    return { namespace: rule.namespace, capabilities: [...new Set(rule.capabilities as Capability[])] };
  });
}

export class AclService {
  constructor(
    private readonly store: Store,
    readonly enabled: boolean,
  ) {}

  listPolicies = (): Promise<readonly Policy[]> => this.store.listPolicies();
  getPolicy = (name: string): Promise<Policy | undefined> => this.store.getPolicy(name);
  listTokens = (): Promise<readonly AclToken[]> => this.store.listTokens();
  getToken = (id: string): Promise<AclToken | undefined> => this.store.getToken(id);

  /** Who holds this secret. With ACLs off everyone may do everything. */
  async identify(secret: string | undefined): Promise<Identity> {
    if (!this.enabled) return ANONYMOUS_ALL;
    if (!secret) throw new UnauthenticatedError('a token is required: send Authorization: Bearer <secret>');
    const token = await this.store.findTokenBySecretHash(hashSecret(secret));
    if (!token) throw new UnauthenticatedError('token not found');
    if (token.management) return { token, management: true, rules: [] };
    const policies = await Promise.all(token.policies.map((name) => this.store.getPolicy(name)));
    return { token, management: false, rules: policies.flatMap((p) => p?.rules ?? []) };
  }

  private async issue(tx: Parameters<Parameters<Store['transact']>[0]>[0], fields: { name: string; policies: readonly string[]; management: boolean }): Promise<IssuedToken> {
    const secretId = randomBytes(32).toString('base64url');
    const token: AclToken = { id: newId(), name: fields.name, policies: [...fields.policies], management: fields.management, createdAt: new Date().toISOString() };
    await tx.insertToken(token, hashSecret(secretId));
    return { token, secretId };
  }

  /** Once per data dir: the first management token. */
  bootstrap(): Promise<IssuedToken> {
    return this.store.transact(async (tx) => {
      await tx.markAclBootstrapped();
      return this.issue(tx, { name: 'bootstrap', policies: [], management: true });
    });
  }

  createToken(input: { name: string; policies?: readonly string[]; management?: boolean }): Promise<IssuedToken> {
    const name = checkName(input.name);
    const policies = input.policies ?? [];
    if (!input.management && policies.length === 0) throw new InvalidInputError('a client token needs at least one policy', 'policies');
    return this.store.transact(async (tx) => {
      for (const [i, p] of policies.entries()) if (!(await tx.getPolicy(p))) throw new InvalidInputError(`no such policy: ${p}`, `policies[${i}]`);
      return this.issue(tx, { name, policies, management: input.management ?? false });
    });
  }

  deleteToken(id: string): Promise<void> {
    return this.store.transact((tx) => tx.deleteToken(id));
  }

  putPolicy(input: { name: string; description?: string; rules: unknown }): Promise<Policy> {
    const name = checkName(input.name);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new InvalidInputError('letters, digits, ".", "_" and "-" only', 'name');
    const rules = checkRules(input.rules);
    return this.store.transact(async (tx) => {
      const existing = await tx.getPolicy(name);
      return tx.upsertPolicy({ name, description: input.description ?? '', rules, createdAt: existing?.createdAt ?? new Date().toISOString() });
    });
  }

  deletePolicy(name: string): Promise<void> {
    return this.store.transact((tx) => tx.deletePolicy(name));
  }
}
