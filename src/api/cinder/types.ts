// /v3/{project}/types: volume types with extra specs; the access list of
// private types is not kept by volumed (answered as not implemented).

import type { Volumed } from '../../app/open.js';
import { InvalidInputError, NotFoundError, UnsupportedError } from '../../domain/errors.js';
import type { VolumeType } from '../../domain/types.js';
import type { App } from '../app.js';
import { callerOf, parseBool } from './context.js';
import { CreateTypeBody, ExtraSpecsBody, IdParams, KeyParams, ListQuery, MetaItemBody, ProjectParams, UpdateTypeBody } from './schemas.js';
import { typeView } from './views.js';

function flag(value: boolean | string | null | undefined, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'boolean' ? value : parseBool(value, field);
}

export function typeRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;
  // Private types are visible to admins only (volumed keeps no per-project access list).
  const visibleType = async (admin: boolean, id: string): Promise<VolumeType> => {
    const type = await engine.getType(id);
    if (!type.isPublic && !admin) throw new NotFoundError('type', id);
    return type;
  };

  app.get('/types', { config: { access: { need: 'list-volume', namespaceFrom: 'params', namespaceParam: 'project_id' } }, schema: { params: ProjectParams, querystring: ListQuery } }, async (req) => {
    const caller = callerOf(volumed, req);
    // Cinder: admins see every type unless they ask; others see public types only.
    const asked = req.query.is_public === undefined ? undefined : req.query.is_public.toLowerCase() === 'none' ? 'all' : parseBool(req.query.is_public, 'is_public');
    const wanted = !caller.admin ? true : (asked ?? 'all');
    const types = (await engine.listTypes()).filter((t) => wanted === 'all' || t.isPublic === wanted);
    return { volume_types: types.map((t) => typeView(t, caller.admin)) };
  });
  app.get('/types/:id', { config: { access: { need: 'list-volume', namespaceFrom: 'params', namespaceParam: 'project_id' } }, schema: { params: IdParams } }, async (req) => {
    const caller = callerOf(volumed, req);
    return { volume_type: typeView(await visibleType(caller.admin, req.params.id), caller.admin) };
  });
  app.post('/types', { config: { access: { need: 'admin', namespaceFrom: 'params', namespaceParam: 'project_id' } }, schema: { params: ProjectParams, body: CreateTypeBody } }, async (req) => {
    const t = req.body.volume_type;
    const isPublic = flag(t['os-volume-type-access:is_public'], 'os-volume-type-access:is_public');
    const created = await engine.createType({ name: t.name, ...(t.description ? { description: t.description } : {}), ...(isPublic !== undefined ? { isPublic } : {}), ...(t.extra_specs ? { extraSpecs: t.extra_specs } : {}) });
    return { volume_type: typeView(created, true) };
  });
  app.put('/types/:id', { config: { access: { need: 'admin', namespaceFrom: 'params', namespaceParam: 'project_id' } }, schema: { params: IdParams, body: UpdateTypeBody } }, async (req) => {
    const t = req.body.volume_type;
    const isPublic = flag(t.is_public, 'is_public');
    if (t.name == null && t.description == null && isPublic === undefined) throw new InvalidInputError('Specify volume type name, description, is_public or a combination thereof.', 'volume_type');
    const updated = await engine.updateType(req.params.id, { ...(t.name ? { name: t.name } : {}), ...(t.description != null ? { description: t.description } : {}), ...(isPublic !== undefined ? { isPublic } : {}) });
    return { volume_type: typeView(updated, true) };
  });
  app.delete('/types/:id', { config: { access: { need: 'admin', namespaceFrom: 'params', namespaceParam: 'project_id' } }, schema: { params: IdParams } }, async (req, reply) => {
    await engine.deleteType(req.params.id);
    return reply.status(202).send();
  });

  // Extra specs: admin-only, as in Cinder's default policy.
  const specs = { config: { access: { need: 'admin' as const, namespaceFrom: 'params' as const, namespaceParam: 'project_id' } } };
  app.get('/types/:id/extra_specs', { ...specs, schema: { params: IdParams } }, async (req) => ({ extra_specs: { ...(await engine.getType(req.params.id)).extraSpecs } }));
  app.post('/types/:id/extra_specs', { ...specs, schema: { params: IdParams, body: ExtraSpecsBody } }, async (req) => {
    const type = await engine.getType(req.params.id);
    await engine.updateType(type.id, { extraSpecs: { ...type.extraSpecs, ...req.body.extra_specs } });
    return { extra_specs: { ...req.body.extra_specs } };
  });
  app.get('/types/:id/extra_specs/:key', { ...specs, schema: { params: KeyParams } }, async (req) => {
    const type = await engine.getType(req.params.id);
    const value = type.extraSpecs[req.params.key];
    if (value === undefined) throw new NotFoundError('extra spec', `${req.params.key} of volume type ${type.id}`);
    return { [req.params.key]: value };
  });
  app.put('/types/:id/extra_specs/:key', { ...specs, schema: { params: KeyParams, body: MetaItemBody.properties.meta } }, async (req) => {
    const entries = Object.entries(req.body);
    const [key, value] = entries[0] ?? [];
    if (entries.length !== 1 || key !== req.params.key || value === undefined) throw new InvalidInputError('Request body and URI mismatch', req.params.key);
    const type = await engine.getType(req.params.id);
    await engine.updateType(type.id, { extraSpecs: { ...type.extraSpecs, [key]: value } });
    return { [key]: value };
  });
  app.delete('/types/:id/extra_specs/:key', { ...specs, schema: { params: KeyParams } }, async (req, reply) => {
    const type = await engine.getType(req.params.id);
    if (!(req.params.key in type.extraSpecs)) throw new NotFoundError('extra spec', `${req.params.key} of volume type ${type.id}`);
    const { [req.params.key]: _gone, ...rest } = type.extraSpecs;
    await engine.updateType(type.id, { extraSpecs: rest });
    return reply.status(202).send();
  });

  app.get('/types/:id/os-volume-type-access', { ...specs, schema: { params: IdParams } }, async (req) => {
    const type = await engine.getType(req.params.id);
    if (type.isPublic) throw new NotFoundError('type access', `of public volume type ${type.id}: access list not available for public volume types`);
    throw new UnsupportedError('per-project access lists of private volume types are not implemented; private types are visible to admins only');
  });
  app.post('/types/:id/action', { ...specs, schema: { params: IdParams } }, async () => {
    throw new UnsupportedError('addProjectAccess and removeProjectAccess are not implemented; private types are visible to admins only');
  });
}
