// Server configuration: a YAML file, then environment variables, then flags.
// A bad config stops the start with a message that names the key.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { Type, type Static } from 'typebox';
import { parse as parseYaml } from 'yaml';

const PoolSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' }),
    driver: Type.Unsafe<'file' | 'fake' | 'csi'>({ type: 'string', enum: ['file', 'fake', 'csi'] }),
    root: Type.Optional(Type.String({ minLength: 1 })),
    endpoint: Type.Optional(Type.String({ pattern: '^(unix://)?/' })),
    secrets: Type.Optional(Type.Record(Type.String(), Type.String())),
    parameters: Type.Optional(Type.Record(Type.String(), Type.String())),
    backendName: Type.Optional(Type.String({ minLength: 1 })),
    topology: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);

const TypeSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Type.String()),
    extraSpecs: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);

const QuotaDefaultsSchema = Type.Object(
  {
    volumes: Type.Integer({ minimum: -1 }),
    gigabytes: Type.Integer({ minimum: -1 }),
    snapshots: Type.Integer({ minimum: -1 }),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    listen: Type.Optional(Type.String({ minLength: 1 })),
    dataDir: Type.Optional(Type.String({ minLength: 1 })),
    pools: Type.Optional(Type.Array(PoolSchema, { minItems: 1 })),
    types: Type.Optional(Type.Array(TypeSchema)),
    quotaDefaults: Type.Optional(QuotaDefaultsSchema),
    taskConcurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 })),
    acl: Type.Optional(Type.Boolean()),
    tls: Type.Optional(Type.Object({ cert: Type.String({ minLength: 1 }), key: Type.String({ minLength: 1 }) }, { additionalProperties: false })),
    auditLog: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Literal(false)])),
    rateLimit: Type.Optional(
      Type.Union([Type.Object({ max: Type.Integer({ minimum: 1 }), windowSeconds: Type.Integer({ minimum: 1, maximum: 3600 }) }, { additionalProperties: false }), Type.Literal(false)]),
    ),
    /** The Cinder surface authenticates with Keystone (password of volumed's service user: here or VOLUMED_KEYSTONE_PASSWORD). */
    keystone: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^https?://' }),
          username: Type.String({ minLength: 1 }),
          password: Type.Optional(Type.String({ minLength: 1 })),
          project: Type.String({ minLength: 1 }),
          userDomain: Type.Optional(Type.String({ minLength: 1 })),
          projectDomain: Type.Optional(Type.String({ minLength: 1 })),
          cacheSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
          adminRole: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    logLevel: Type.Optional(
      Type.Unsafe<'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'>({ type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }),
    ),
  },
  { additionalProperties: false },
);

export type FileConfig = Static<typeof ConfigSchema>;

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly pools: NonNullable<FileConfig['pools']>;
  readonly types: NonNullable<FileConfig['types']>;
  readonly quotaDefaults: FileConfig['quotaDefaults'];
  /** Tasks run at once; unset, the runner's default (DEFAULT_CONCURRENCY). */
  readonly taskConcurrency: number | undefined;
  readonly acl: boolean;
  readonly insecureNoAcl: boolean;
  readonly tls: { readonly cert: string; readonly key: string } | undefined;
  readonly auditLog: string | false;
  readonly rateLimit: { readonly max: number; readonly windowSeconds: number } | false;
  readonly logLevel: NonNullable<FileConfig['logLevel']>;
  readonly keystone: (NonNullable<FileConfig['keystone']> & { readonly password: string }) | undefined;
}

export class ConfigError extends Error {}


export const DEFAULT_LISTEN = '127.0.0.1:8776';
export const DEFAULT_DATA_DIR = './.volumed';

const ajv = new Ajv({ allErrors: false, strict: false });
const validate = ajv.compile(ConfigSchema);

function describeError(e: ErrorObject): string {
  const key = e.instancePath.replace(/^\//, '').replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.');
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return `${key ? `${key}.` : ''}${extra}: unknown key`;
  }
  if (e.keyword === 'enum') return `${key}: must be one of ${(e.params as { allowedValues: string[] }).allowedValues.join(', ')}`;
  if (e.keyword === 'required') return `${key ? `${key}.` : ''}${(e.params as { missingProperty: string }).missingProperty}: is required`;
  return `${key || '(top level)'}: ${e.message ?? 'is invalid'}`;
}

export function parseListen(listen: string, key = 'listen'): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${key}: must be HOST:PORT, got ${JSON.stringify(listen)}`);
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port };
}

/** Parses and checks a config document (already read from YAML). */
export function checkConfig(doc: unknown, source: string): FileConfig {
  if (doc === null || doc === undefined) return {};
  if (!validate(doc)) {
    const first = validate.errors?.[0];
    throw new ConfigError(`${source}: ${first ? describeError(first) : 'invalid'}`);
  }
  const cfg = doc as FileConfig;
  const ids = new Set<string>();
  cfg.pools?.forEach((p, i) => {
    if (ids.has(p.id)) throw new ConfigError(`${source}: pools[${i}].id: pool ${p.id} is declared twice`);
    ids.add(p.id);
  });
  cfg.types?.forEach((t, i) => {
    const pool = t.extraSpecs?.pool;
    if (pool !== undefined && cfg.pools && !ids.has(pool)) throw new ConfigError(`${source}: types[${i}].extraSpecs.pool: no pool ${pool} is declared`);
  });
  return cfg;
}

export interface ConfigOverrides {
  readonly config?: string | undefined;
  readonly listen?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly acl?: boolean | undefined;
  readonly insecureNoAcl?: boolean | undefined;
}

/** 127.0.0.0/8, ::1 and localhost: the only addresses served without ACLs by default. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::ffff:127.0.0.1';
}

/**
 * With ACLs on, each token may send this many requests a minute (1,000/s):
 * far above what an orchestrator's controllers send, low enough to stop a
 * runaway script. With ACLs off there is one trust domain (loopback by
 * default) and no limit unless the config sets one.
 */
export const DEFAULT_RATE_LIMIT = { max: 60_000, windowSeconds: 60 };

/** Flags win over environment variables, which win over the file. */
export async function loadConfig(flags: ConfigOverrides, env: NodeJS.ProcessEnv = process.env): Promise<ServerConfig> {
  const configPath = flags.config ?? env.VOLUMED_CONFIG;
  let file: FileConfig = {};
  if (configPath) {
    let text: string;
    try {
      text = await fs.readFile(configPath, 'utf8');
    } catch (e) {
      throw new ConfigError(`config ${configPath}: cannot read it (${(e as Error).message})`);
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (e) {
      throw new ConfigError(`config ${configPath}: not valid YAML (${(e as Error).message})`);
    }
    file = checkConfig(doc, `config ${configPath}`);
  }
  const listen = flags.listen ?? env.VOLUMED_LISTEN ?? file.listen ?? DEFAULT_LISTEN;
  const { host, port } = parseListen(listen, flags.listen ? '--listen' : env.VOLUMED_LISTEN ? 'VOLUMED_LISTEN' : 'listen');
  const dataDir = path.resolve(flags.dataDir ?? env.VOLUMED_DATA_DIR ?? file.dataDir ?? DEFAULT_DATA_DIR);
  const acl = flags.acl ?? (env.VOLUMED_ACL === '1' || env.VOLUMED_ACL === 'true' ? true : undefined) ?? file.acl ?? false;
  const insecureNoAcl = flags.insecureNoAcl ?? false;
  if (!acl && !isLoopback(host) && !insecureNoAcl) {
    throw new ConfigError(
      `refusing to listen on ${host} with ACLs off: anyone who can reach it could create, attach and delete volumes. Start with --acl (and bootstrap a token), or pass --insecure-no-acl if the network is trusted`,
    );
  }
  let keystone: ServerConfig['keystone'];
  if (file.keystone) {
    const password = file.keystone.password ?? env.VOLUMED_KEYSTONE_PASSWORD;
    if (!password) throw new ConfigError('keystone.password: is required (or set VOLUMED_KEYSTONE_PASSWORD)');
    keystone = { ...file.keystone, password };
  }
  return {
    host,
    port,
    dataDir,
    acl,
    keystone,
    insecureNoAcl,
    tls: file.tls,
    auditLog: file.auditLog === false ? false : path.resolve(file.auditLog ?? path.join(dataDir, 'audit.log')),
    rateLimit: file.rateLimit === false ? false : (file.rateLimit ?? (acl ? DEFAULT_RATE_LIMIT : false)),
    pools: file.pools ?? [{ id: 'local', driver: 'file' }],
    types: file.types ?? [],
    quotaDefaults: file.quotaDefaults,
    taskConcurrency: file.taskConcurrency,
    logLevel: file.logLevel ?? (env.VOLUMED_LOG_LEVEL as ServerConfig['logLevel'] | undefined) ?? 'info',
  };
}
