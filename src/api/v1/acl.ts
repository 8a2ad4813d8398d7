// /api/v1/acl (bootstrap, policies, tokens) and /api/v1/quotas.

import { Type } from 'typebox';
import type { Volumed } from '../../app/open.js';
import { CAPABILITIES } from '../../domain/acl.js';
import { NotFoundError } from '../../domain/errors.js';
import type { App } from './context.js';
import { IdParams } from './schemas.js';

const strict = { additionalProperties: false } as const;
const PolicyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    rules: Type.Array(
      Type.Object(
        { namespace: Type.String({ minLength: 1, maxLength: 128 }), capabilities: Type.Array(Type.Unsafe<string>({ type: 'string', enum: [...CAPABILITIES] }), { minItems: 1 }) },
        strict,
      ),
      { minItems: 1 },
    ),
  },
  strict,
);
const TokenBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 255 }), policies: Type.Optional(Type.Array(Type.String({ minLength: 1 }))), management: Type.Optional(Type.Boolean()) },
  strict,
);
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) }, strict);
const NamespaceParams = Type.Object({ namespace: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' }) }, strict);
const QuotaBody = Type.Object(
  { volumes: Type.Integer({ minimum: -1 }), gigabytes: Type.Integer({ minimum: -1 }), snapshots: Type.Integer({ minimum: -1 }) },
  strict,
);

export function aclRoutes(app: App, volumed: Volumed): void {
  const { acl, engine } = volumed;

  app.post('/acl/bootstrap', { config: { access: { public: true } }, schema: { tags: ['acl'], summary: 'Once: the first management token' } }, async (_req, reply) => {
    const issued = await acl.bootstrap();
    return reply.status(201).send({ token: issued.token, secretId: issued.secretId });
  });

  app.get('/acl/policies', { schema: { tags: ['acl'] } }, async () => ({ policies: await acl.listPolicies() }));
  app.post('/acl/policies', { schema: { tags: ['acl'], body: PolicyBody } }, async (req, reply) => reply.status(201).send({ policy: await acl.putPolicy(req.body) }));
  app.get('/acl/policies/:name', { schema: { tags: ['acl'], params: NameParams } }, async (req) => {
    const policy = await acl.getPolicy(req.params.name);
    if (!policy) throw new NotFoundError('policy', req.params.name);
    return { policy };
  });
  app.delete('/acl/policies/:name', { schema: { tags: ['acl'], params: NameParams } }, async (req, reply) => {
    await acl.deletePolicy(req.params.name);
    return reply.status(204).send();
  });

  app.get('/acl/tokens', { schema: { tags: ['acl'] } }, async () => ({ tokens: await acl.listTokens() }));
  app.post('/acl/tokens', { schema: { tags: ['acl'], summary: 'Create a token; the secretId is shown only in this answer', body: TokenBody } }, async (req, reply) => {
    const issued = await acl.createToken(req.body);
    return reply.status(201).send({ token: issued.token, secretId: issued.secretId });
  });
  app.get('/acl/token/self', { config: { access: { need: 'authenticated' } }, schema: { tags: ['acl'] } }, async (req) => ({ token: req.identity.token }));
  app.get('/acl/tokens/:id', { schema: { tags: ['acl'], params: IdParams } }, async (req) => {
    const token = await acl.getToken(req.params.id);
    if (!token) throw new NotFoundError('token', req.params.id);
    return { token };
  });
  app.delete('/acl/tokens/:id', { schema: { tags: ['acl'], params: IdParams } }, async (req, reply) => {
    await acl.deleteToken(req.params.id);
    return reply.status(204).send();
  });

  app.get('/quotas/:namespace', { config: { access: { need: 'read-volume', namespaceFrom: 'params' } }, schema: { tags: ['quotas'], params: NamespaceParams } }, async (req) => {
    const ns = req.params.namespace;
    return { quota: await engine.getQuota(ns), usage: await engine.usage(ns) };
  });
  app.put('/quotas/:namespace', { schema: { tags: ['quotas'], summary: 'Set a namespace quota (management); -1 is unlimited', params: NamespaceParams, body: QuotaBody } }, async (req) => {
    return { quota: await engine.setQuota({ namespace: req.params.namespace, ...req.body }) };
  });
}
