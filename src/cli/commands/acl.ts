// `volumed acl bootstrap|policy|token ...` and `volumed quota ...`.

import { Command, InvalidArgumentError } from 'commander';
import { CAPABILITIES, type Capability, type PolicyRule } from '../../domain/acl.js';
import { table } from '../format.js';
import { client, print, record, run, type GlobalOptions } from '../output.js';

type Opts = GlobalOptions & Record<string, unknown>;
const optsOf = (cmd: Command): Opts => cmd.optsWithGlobals<Opts>();
const collect = <T>(value: T, previous: T[] = []): T[] => [...previous, value];

/** `--rule NAMESPACE=CAP[,CAP...]`, checked here so that a typo never reaches the server half-parsed. */
export function parseRule(text: string): PolicyRule {
  const at = text.indexOf('=');
  const namespace = at > 0 ? text.slice(0, at).trim() : '';
  const capabilities = at > 0 ? text.slice(at + 1).split(',').map((c) => c.trim()).filter(Boolean) : [];
  if (!namespace || capabilities.length === 0) throw new InvalidArgumentError(`expected NAMESPACE=CAPABILITY[,CAPABILITY...], got "${text}"`);
  const unknown = capabilities.find((c) => !(CAPABILITIES as readonly string[]).includes(c));
  if (unknown !== undefined) throw new InvalidArgumentError(`unknown capability "${unknown}"; one of ${CAPABILITIES.join(', ')}`);
  return { namespace, capabilities: capabilities as Capability[] };
}

const rulesText = (rules: readonly PolicyRule[]): string => rules.map((r) => `${r.namespace}=${r.capabilities.join(',')}`).join(' ');

export function aclCommand(): Command {
  const cmd = new Command('acl').description('tokens and policies (servers started with --acl)');
  cmd
    .command('bootstrap')
    .description('create the first management token (once per server)')
    .action((_o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const issued = await client(o).bootstrap();
        print(o, issued, () => `${record({ accessor: issued.token.id, secret: issued.secretId })}\nkeep the secret: it is shown only now (use it as --token or VOLUMED_TOKEN)`);
      }),
    );

  const policy = cmd.command('policy').description('capabilities per namespace');
  policy
    .command('apply <name>')
    .description('create or replace a policy')
    .requiredOption('--rule <namespace=capabilities>', `NAMESPACE=CAP[,CAP...] (repeatable; globs like team-* allowed; capabilities: ${CAPABILITIES.join(', ')})`, (v: string, prev: PolicyRule[] | undefined) => collect(parseRule(v), prev))
    .option('--description <text>')
    .action((name: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const saved = await client(o).putPolicy({ name, rules: o.rule as PolicyRule[], ...(typeof o.description === 'string' ? { description: o.description } : {}) });
        print(o, saved, () => `policy ${saved.name}: ${rulesText(saved.rules)}`);
      }),
    );
  policy.command('ls').action((_o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const policies = await client(o).listPolicies();
      print(o, policies, () => table(policies.map((p) => ({ name: p.name, rules: rulesText(p.rules), description: p.description })), ['name', 'rules', 'description']));
    }),
  );
  policy.command('show <name>').action((name: string, _o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const p = await client(o).getPolicy(name);
      print(o, p, () => record({ name: p.name, description: p.description, rules: rulesText(p.rules), created: p.createdAt }));
    }),
  );
  policy.command('rm <name>').action((name: string, _o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      await client(o).deletePolicy(name);
      print(o, { deleted: name }, () => `policy ${name} deleted`);
    }),
  );

  const token = cmd.command('token').description('secrets that carry policies');
  token
    .command('create <name>')
    .option('--policy <name>', 'policy to carry (repeatable)', (v: string, prev: string[] | undefined) => collect(v, prev))
    .option('--management', 'may do everything, including managing tokens and policies')
    .action((name: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const issued = await client(o).createToken({ name, policies: (o.policy as string[] | undefined) ?? [], ...(o.management ? { management: true } : {}) });
        print(o, issued, () => `${record({ accessor: issued.token.id, secret: issued.secretId, policies: issued.token.policies.join(',') })}\nkeep the secret: it is shown only now`);
      }),
    );
  token.command('ls').action((_o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const tokens = await client(o).listTokens();
      print(o, tokens, () => table(tokens.map((t) => ({ accessor: t.id, name: t.name, policies: t.management ? '(management)' : t.policies.join(','), created: t.createdAt })), ['accessor', 'name', 'policies', 'created']));
    }),
  );
  token
    .command('show <accessor>')
    .description('a token by accessor id, or "self" for the one in use')
    .action((id: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const t = await client(o).getToken(id);
        print(o, t, () => record({ accessor: t.id, name: t.name, policies: t.policies.join(','), management: t.management, created: t.createdAt }));
      }),
    );
  token.command('rm <accessor>').action((id: string, _o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      await client(o).deleteToken(id);
      print(o, { deleted: id }, () => `token ${id} deleted`);
    }),
  );
  return cmd;
}

const limit = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < -1) throw new InvalidArgumentError('expected an integer, -1 for unlimited');
  return n;
};

export function quotaCommand(): Command {
  const cmd = new Command('quota').description('limits per namespace');
  cmd.command('show <namespace>').action((ns: string, _o, c: Command) =>
    run(async () => {
      const o = optsOf(c);
      const { quota, usage } = await client(o).getQuota(ns);
      const fmt = (k: 'volumes' | 'gigabytes' | 'snapshots') => `${usage[k]} of ${quota[k] === -1 ? 'unlimited' : quota[k]}`;
      print(o, { quota, usage }, () => record({ namespace: ns, volumes: fmt('volumes'), gigabytes: fmt('gigabytes'), snapshots: fmt('snapshots') }));
    }),
  );
  cmd
    .command('set <namespace>')
    .description('set every limit (management token when ACLs are on)')
    .requiredOption('--volumes <n>', 'volumes, -1 for unlimited', limit)
    .requiredOption('--gigabytes <n>', 'GiB of volumes and snapshots, -1 for unlimited', limit)
    .requiredOption('--snapshots <n>', 'snapshots, -1 for unlimited', limit)
    .action((ns: string, _o, c: Command) =>
      run(async () => {
        const o = optsOf(c);
        const quota = await client(o).setQuota(ns, { volumes: o.volumes as number, gigabytes: o.gigabytes as number, snapshots: o.snapshots as number });
        print(o, quota, () => record(quota as unknown as Record<string, unknown>));
      }),
    );
  return cmd;
}
