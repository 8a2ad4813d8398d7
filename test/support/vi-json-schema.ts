// Holds VI/JSON requests and answers to vSphere's published VI/JSON OpenAPI
// (release 9.1.1.0; the CNS Volume Manager, Task, SessionManager and
// ServiceInstance part, copied into test/fixtures/vi-json-cns.schema.json).
// VI/JSON is polymorphic: a value whose declared type is X carries
// `_typeName`, which must name X or a subtype of X in the spec's
// `x-typeHierarchy`, and is then checked against that type's whole schema
// (its own properties and every ancestor's, through allOf). Checked: the
// dispatch, required fields, unknown fields, enums, and JSON types.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Schema {
  readonly type?: string;
  readonly format?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly allOf?: readonly Schema[];
  readonly items?: Schema;
  readonly enum?: readonly unknown[];
  readonly $ref?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly discriminator?: { readonly propertyName: string; readonly mapping: Readonly<Record<string, string>> };
}

interface Operation {
  readonly requestBody?: { readonly content: { readonly 'application/json': { readonly schema: Schema } } };
  readonly responses: Readonly<Record<string, { readonly content?: { readonly 'application/json': { readonly schema: Schema } } }>>;
}

interface Spec {
  readonly servers: readonly { readonly variables: { readonly release: { readonly enum: readonly string[] } } }[];
  readonly paths: Readonly<Record<string, Readonly<Record<string, Operation>>>>;
  readonly components: { readonly schemas: Readonly<Record<string, Schema>> };
  readonly 'x-typeHierarchy': Readonly<Record<string, readonly string[]>>;
}

const FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/vi-json-cns.schema.json');
const published = JSON.parse(readFileSync(FILE, 'utf8')) as Spec;

/**
 * Types vSphere's API has (vim.cns.SnapshotCreateResult and friends, the
 * results of CnsCreateSnapshots and CnsDeleteSnapshots) that the copied
 * part of the document lacks: without them a snapshot batch could name no
 * snapshot. Each is added under the parent vSphere gives it, and nothing else is.
 */
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const EXTENSIONS: Readonly<Record<string, { parent: string; schema: Schema }>> = {
  CnsSnapshotOperationResult: { parent: 'CnsVolumeOperationResult', schema: { type: 'object', allOf: [ref('CnsVolumeOperationResult')] } },
  CnsSnapshotCreateResult: { parent: 'CnsSnapshotOperationResult', schema: { type: 'object', properties: { snapshot: ref('CnsSnapshot') }, allOf: [ref('CnsSnapshotOperationResult')] } },
  CnsSnapshotDeleteResult: { parent: 'CnsSnapshotOperationResult', schema: { type: 'object', properties: { snapshotId: ref('CnsSnapshotId') }, allOf: [ref('CnsSnapshotOperationResult')] } },
  CnsSnapshot: {
    parent: 'DataObject',
    schema: { type: 'object', properties: { snapshotId: ref('CnsSnapshotId'), volumeId: ref('CnsVolumeId'), description: { type: 'string' }, createTime: { type: 'string', format: 'date-time' } }, required: ['snapshotId', 'volumeId', 'createTime'], allOf: [ref('DataObject')] },
  },
};
const hierarchy: Record<string, string[]> = Object.fromEntries(Object.entries(published['x-typeHierarchy']).map(([k, v]) => [k, [...v]]));
for (const [name, { parent }] of Object.entries(EXTENSIONS)) (hierarchy[parent] ??= []).push(name);
const spec: Spec = {
  ...published,
  components: { schemas: { ...published.components.schemas, ...Object.fromEntries(Object.entries(EXTENSIONS).map(([n, e]) => [n, e.schema])) } },
  'x-typeHierarchy': hierarchy,
};
const schemas = spec.components.schemas;
const nameOf = (ref: string): string => ref.slice(ref.lastIndexOf('/') + 1);

/** Every type at or below a type, from the spec's one-level hierarchy. */
const below = new Map<string, Set<string>>();
function subtypes(type: string): Set<string> {
  let all = below.get(type);
  if (all) return all;
  all = new Set([type]);
  below.set(type, all);
  for (const child of spec['x-typeHierarchy'][type] ?? []) for (const t of subtypes(child)) all.add(t);
  return all;
}

/** A _typeName as the schema it names: primitives ("string", "int") go through Any's mapping. */
const PRIMITIVES = schemas.Any?.discriminator?.mapping ?? {};
const schemaNameOf = (typeName: string): string => (PRIMITIVES[typeName] ? nameOf(PRIMITIVES[typeName]) : typeName);

/** A named object type with its ancestors' properties and required fields folded in. */
function flattened(name: string): { properties: Record<string, Schema>; required: Set<string>; polymorphic: boolean } {
  const own = schemas[name];
  if (!own) throw new Error(`no schema ${name}`);
  const out = { properties: {} as Record<string, Schema>, required: new Set<string>(), polymorphic: name === 'Any' };
  for (const parent of own.allOf ?? []) {
    if (!parent.$ref) continue;
    const up = flattened(nameOf(parent.$ref));
    Object.assign(out.properties, up.properties);
    for (const r of up.required) out.required.add(r);
    out.polymorphic ||= up.polymorphic;
  }
  Object.assign(out.properties, own.properties ?? {});
  for (const r of own.required ?? []) out.required.add(r);
  return out;
}

const isObjectType = (name: string): boolean => {
  const s = schemas[name];
  return s !== undefined && s.type === 'object';
};

function checkNamed(value: unknown, declared: string, at: string, errors: string[]): void {
  const schema = schemas[declared];
  if (!schema) return void errors.push(`${at}: the spec has no type ${declared}`);
  if (!isObjectType(declared)) return checkSchema(value, schema, at, errors);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return void errors.push(`${at}: must be a ${declared} object, is ${JSON.stringify(value)}`);
  const record = value as Record<string, unknown>;
  let actual = declared;
  const typeName = record._typeName;
  if (typeName !== undefined) {
    if (typeof typeName !== 'string') return void errors.push(`${at}._typeName: must be a string`);
    const named = schemaNameOf(typeName);
    if (!schemas[named]) return void errors.push(`${at}._typeName: ${typeName} is no type of the spec`);
    if (!subtypes(declared).has(named)) return void errors.push(`${at}._typeName: ${typeName} is not ${declared} nor one of its subtypes`);
    actual = named;
  }
  const { properties, required, polymorphic } = flattened(actual);
  for (const field of required) if (record[field] === undefined) errors.push(`${at}.${field}: is required (${actual})`);
  for (const [field, v] of Object.entries(record)) {
    if (field === '_typeName') {
      // A plain request type (no _typeName of its own) may still name itself.
      if (!polymorphic && v !== actual) errors.push(`${at}._typeName: ${String(v)} on a ${actual}, which carries none`);
      continue;
    }
    const p = properties[field];
    // A field the spec requires but gives no schema (CnsSnapshotCreateSpec.description) is known, of any type.
    if (!p && required.has(field)) continue;
    if (!p) errors.push(`${at}.${field}: ${actual} has no such field`);
    else if (v !== null || p.type !== undefined) checkSchema(v, p, `${at}.${field}`, errors);
  }
}

function checkSchema(value: unknown, schema: Schema, at: string, errors: string[]): void {
  if (schema.$ref) return checkNamed(value, nameOf(schema.$ref), at, errors);
  if (schema.allOf && !schema.type) {
    for (const part of schema.allOf) checkSchema(value, part, at, errors);
    return;
  }
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') return void errors.push(`${at}: must be a string, is ${JSON.stringify(value)}`);
      if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) errors.push(`${at}: must be a date-time, is ${value}`);
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return void errors.push(`${at}: must be an integer, is ${JSON.stringify(value)}`);
      if (schema.format === 'int32' && (value < -(2 ** 31) || value >= 2 ** 31)) errors.push(`${at}: ${value} is out of int32`);
      if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${at}: ${value} is below ${schema.minimum}`);
      if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${at}: ${value} is above ${schema.maximum}`);
      break;
    case 'number':
      if (typeof value !== 'number') errors.push(`${at}: must be a number, is ${JSON.stringify(value)}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') errors.push(`${at}: must be a boolean, is ${JSON.stringify(value)}`);
      break;
    case 'array':
      if (!Array.isArray(value)) return void errors.push(`${at}: must be an array, is ${JSON.stringify(value)}`);
      if (schema.items) value.forEach((item, i) => checkSchema(item, schema.items as Schema, `${at}[${i}]`, errors));
      break;
    case 'object':
      if (typeof value !== 'object' || value === null) errors.push(`${at}: must be an object`);
      break;
    default:
      break;
  }
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${schema.enum.join(', ')}`);
}

/** The spec's operation for a path under /sdk/vim25/{release}, and the template it matched. */
function operationFor(method: string, subPath: string): { template: string; op: Operation } | undefined {
  for (const [template, ops] of Object.entries(spec.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    const op = ops[method.toLowerCase()];
    if (op && pattern.test(subPath)) return { template, op };
  }
  return undefined;
}

/** The releases the document describes (a path under another release is no VI/JSON endpoint of it). */
export const SPEC_RELEASES: readonly string[] = spec.servers[0]?.variables.release.enum ?? [];

/** What a request body breaks of the spec (empty when it holds). */
export function requestErrors(method: string, subPath: string, body: unknown): string[] {
  const found = operationFor(method, subPath);
  if (!found) return [`${method} ${subPath}: no such operation in the VI/JSON spec`];
  const schema = found.op.requestBody?.content['application/json'].schema;
  const errors: string[] = [];
  if (!schema) {
    if (body !== undefined) errors.push(`${found.template}: takes no body`);
    return errors;
  }
  checkSchema(body, schema, `request ${found.template}`, errors);
  return errors;
}

/** What an answer breaks of the spec: its status must be one the operation documents, its body that status's schema. */
export function responseErrors(method: string, subPath: string, status: number, body: unknown): string[] {
  const found = operationFor(method, subPath);
  if (!found) return [`${method} ${subPath}: no such operation in the VI/JSON spec`];
  const documented = found.op.responses[String(status)];
  // Any method may fail with a RuntimeFault (NotAuthenticated, ManagedObjectNotFound), documented or not.
  const typeName = (body as { _typeName?: unknown } | undefined)?._typeName;
  if (status === 500 && typeof typeName === 'string' && subtypes('RuntimeFault').has(typeName)) {
    const errors: string[] = [];
    checkSchema(body, ref('RuntimeFault'), `${status} ${found.template}`, errors);
    return errors;
  }
  if (!documented) return [`${found.template}: answered ${status}; the spec documents ${Object.keys(found.op.responses).join(', ')}`];
  const schema = documented.content?.['application/json'].schema;
  const errors: string[] = [];
  if (!schema) {
    if (body !== undefined) errors.push(`${found.template} ${status}: the spec documents no body, got ${JSON.stringify(body).slice(0, 200)}`);
    return errors;
  }
  checkSchema(body, schema, `${status} ${found.template}`, errors);
  return errors;
}
