// Request shapes of the CNS surface, as VI/JSON writes them: every data
// object may carry `_typeName`; polymorphic fields name their subtype there.
// A request's envelope is checked as it arrives (a bad envelope is the whole
// call's fault); each spec inside is checked on its own, so one bad spec
// faults only its item.

import { Ajv, type ErrorObject } from 'ajv';
import { Type, type Static, type TSchema } from 'typebox';
import { ENTITY_TYPES } from '../../domain/types.js';
import { InvalidInputError } from '../../domain/errors.js';

const TypeName = Type.Optional(Type.String({ maxLength: 128 }));
/** A data object: its own fields and `_typeName`; fields of newer releases are let through. */
const Data = <P extends Record<string, TSchema>>(props: P) => Type.Object({ _typeName: TypeName, ...props });
const Str = Type.String({ maxLength: 1024 });
const Id = Type.String({ minLength: 1, maxLength: 255 });
const Lit = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));
/** A polymorphic field: its `_typeName`, when given, must name one of these subtypes. */
const Subtype = <T extends string>(names: readonly T[]) => Type.Optional(Lit(names));

export const BLOCK_BACKINGS = ['CnsBlockBackingDetails'] as const;
export const FILE_BACKINGS = ['CnsFileBackingDetails', 'CnsVsanFileShareBackingDetails'] as const;

export const MoRef = Data({ type: Type.String({ minLength: 1, maxLength: 128 }), value: Id });
export const VolumeIdRef = Data({ id: Id });
export const SnapshotIdRef = Data({ id: Id });
const KeyValue = Data({ key: Type.String({ minLength: 1, maxLength: 255 }), value: Str });

export const ContainerClusterSpec = Data({
  clusterType: Type.String({ minLength: 1, maxLength: 64 }),
  clusterId: Type.String({ minLength: 1, maxLength: 255 }),
  vSphereUser: Type.Optional(Str),
  clusterFlavor: Type.Optional(Type.String({ maxLength: 64 })),
  clusterDistribution: Type.Optional(Type.String({ maxLength: 64 })),
  delete: Type.Optional(Type.Boolean()),
});

const EntityReference = Data({ entityType: Lit(ENTITY_TYPES), entityName: Id, namespace: Type.Optional(Str), clusterId: Type.Optional(Str) });

export const EntityMetadataSpec = Data({
  _typeName: Subtype(['CnsEntityMetadata', 'CnsKubernetesEntityMetadata']),
  entityName: Id,
  labels: Type.Optional(Type.Array(KeyValue, { maxItems: 256 })),
  delete: Type.Optional(Type.Boolean()),
  clusterId: Type.Optional(Str),
  entityType: Type.Optional(Lit(ENTITY_TYPES)),
  namespace: Type.Optional(Str),
  referredEntity: Type.Optional(Type.Array(EntityReference, { maxItems: 64 })),
});

export const VolumeMetadataSpec = Data({
  containerCluster: ContainerClusterSpec,
  entityMetadata: Type.Optional(Type.Array(EntityMetadataSpec, { maxItems: 256 })),
  containerClusterArray: Type.Optional(Type.Array(ContainerClusterSpec, { maxItems: 64 })),
});

const ProfileSpec = Data({
  _typeName: Subtype(['VirtualMachineProfileSpec', 'VirtualMachineDefinedProfileSpec', 'VirtualMachineEmptyProfileSpec']),
  profileId: Type.Optional(Type.String({ maxLength: 255 })),
});
const NetPermission = Data({ ips: Type.String({ minLength: 1, maxLength: 255 }), permissions: Type.Optional(Lit(['READ_WRITE', 'READ_ONLY', 'NO_ACCESS'] as const)), allowRoot: Type.Optional(Type.Boolean()) });

const BackingObjectDetails = Data({
  _typeName: Subtype(['CnsBackingObjectDetails', ...BLOCK_BACKINGS, ...FILE_BACKINGS]),
  capacityInMb: Type.Optional(Type.Integer()),
  backingDiskId: Type.Optional(Str),
  backingDiskUrlPath: Type.Optional(Str),
  backingDiskPath: Type.Optional(Str),
  backingFileId: Type.Optional(Str),
});

export const CreateSpec = Data({
  name: Type.String({ minLength: 1, maxLength: 255 }),
  volumeType: Lit(['BLOCK', 'FILE'] as const),
  volumeId: Type.Optional(VolumeIdRef),
  datastores: Type.Optional(Type.Array(MoRef, { maxItems: 64 })),
  metadata: Type.Optional(VolumeMetadataSpec),
  backingObjectDetails: BackingObjectDetails,
  profile: Type.Optional(Type.Array(ProfileSpec, { maxItems: 8 })),
  createSpec: Type.Optional(Data({ _typeName: Subtype(['CnsBaseCreateSpec', 'CnsFileCreateSpec', 'CnsVSANFileCreateSpec']), permission: Type.Optional(Type.Array(NetPermission, { maxItems: 256 })) })),
  volumeSource: Type.Optional(Data({ _typeName: Subtype(['CnsVolumeSource', 'CnsSnapshotVolumeSource']), volumeId: Type.Optional(VolumeIdRef), snapshotId: Type.Optional(SnapshotIdRef) })),
});

export const AttachDetachSpec = Data({ volumeId: VolumeIdRef, vm: MoRef });
export const ExtendSpec = Data({ volumeId: VolumeIdRef, capacityInMb: Type.Integer() });
export const MetadataUpdateSpec = Data({ volumeId: VolumeIdRef, metadata: VolumeMetadataSpec });
export const AclConfigureSpec = Data({
  volumeId: VolumeIdRef,
  accessControlSpecList: Type.Array(Data({ netPermission: NetPermission, delete: Type.Optional(Type.Boolean()) }), { minItems: 1, maxItems: 256 }),
});
export const SnapshotCreateSpec = Data({ volumeId: VolumeIdRef, description: Type.Optional(Str), snapshotId: Type.Optional(SnapshotIdRef) });
export const SnapshotDeleteSpec = Data({ volumeId: VolumeIdRef, snapshotId: SnapshotIdRef });
export const PolicyReconfigSpec = Data({ volumeId: VolumeIdRef, profile: Type.Array(ProfileSpec, { minItems: 1, maxItems: 8 }) });
export const RelocateSpec = Data({ _typeName: Subtype(['CnsVolumeRelocateSpec', 'CnsBlockVolumeRelocateSpec']), volumeId: VolumeIdRef, datastore: MoRef, profile: Type.Optional(Type.Array(ProfileSpec, { maxItems: 8 })) });

export const QueryFilter = Data({
  volumeIds: Type.Optional(Type.Array(VolumeIdRef, { maxItems: 10_000 })),
  names: Type.Optional(Type.Array(Str, { maxItems: 10_000 })),
  containerClusterIds: Type.Optional(Type.Array(Str, { maxItems: 1000 })),
  storagePolicyId: Type.Optional(Str),
  datastores: Type.Optional(Type.Array(MoRef, { maxItems: 1000 })),
  labels: Type.Optional(Type.Array(KeyValue, { maxItems: 256 })),
  complianceStatus: Type.Optional(Lit(['compliant', 'nonCompliant', 'notApplicable', 'unknown'] as const)),
  datastoreAccessibilityStatus: Type.Optional(Str),
  cursor: Type.Optional(Data({ offset: Type.Integer({ minimum: 0 }), limit: Type.Integer({ minimum: 1, maximum: 10_000 }), totalRecords: Type.Optional(Type.Integer()) })),
  healthStatus: Type.Optional(Lit(['green', 'yellow', 'red', 'unknown'] as const)),
});
export const QuerySelection = Data({ names: Type.Optional(Type.Array(Lit(['VOLUME_NAME', 'VOLUME_TYPE', 'BACKING_OBJECT_DETAILS', 'COMPLIANCE_STATUS', 'DATASTORE_ACCESSIBILITY_STATUS', 'HEALTH_STATUS', 'DATASTORE_URL', 'POLICY_ID'] as const), { maxItems: 8 })) });

// ---- envelopes (each method's ...RequestType) ----
const Specs = Type.Array(Type.Unknown(), { minItems: 1, maxItems: 1000 });
export const Bodies = {
  CnsCreateVolume: Data({ createSpecs: Specs }),
  CnsDeleteVolume: Data({ volumeIds: Specs, deleteDisk: Type.Boolean() }),
  CnsAttachVolume: Data({ attachSpecs: Specs }),
  CnsDetachVolume: Data({ detachSpecs: Specs }),
  CnsExtendVolume: Data({ extendSpecs: Specs }),
  CnsUpdateVolumeMetadata: Data({ updateSpecs: Specs }),
  CnsConfigureVolumeACLs: Data({ ACLConfigSpecs: Specs }),
  CnsCreateSnapshots: Data({ snapshotSpecs: Specs }),
  CnsDeleteSnapshots: Data({ snapshotDeleteSpecs: Specs }),
  CnsReconfigVolumePolicy: Data({ volumePolicyReconfigSpecs: Specs }),
  CnsRelocateVolume: Data({ relocateSpecs: Specs }),
  CnsQueryVolume: Data({ filter: QueryFilter }),
  CnsQueryAllVolume: Data({ filter: QueryFilter, selection: Type.Optional(QuerySelection) }),
  CnsQueryAsync: Data({ filter: QueryFilter, selection: Type.Optional(QuerySelection) }),
  CnsQueryVolumeInfo: Data({ volumes: Specs }),
} as const;
export type CnsMethod = keyof typeof Bodies;

export const LoginBody = Data({ userName: Type.String({ minLength: 1, maxLength: 255 }), password: Type.String({ maxLength: 4096 }), locale: Type.Optional(Type.String({ maxLength: 64 })) });

export type QueryFilterT = Static<typeof QueryFilter>;
export type QuerySelectionT = Static<typeof QuerySelection>;
export type VolumeMetadataT = Static<typeof VolumeMetadataSpec>;

const ajv = new Ajv({ allErrors: false, strict: false, verbose: true });

/** `/createSpecs/1/name` as a VI/JSON path: `createSpecs[1].name`. */
export function vimPath(base: string, instancePath: string): string {
  let out = base;
  for (const part of instancePath.split('/').filter(Boolean)) out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  return out;
}

function describe(path: string, e: ErrorObject): InvalidInputError {
  const at = vimPath(path, e.instancePath);
  if (e.keyword === 'required') return new InvalidInputError('is required', vimPath(at, `/${String(e.params.missingProperty)}`));
  if (e.keyword === 'anyOf' || e.keyword === 'const') {
    const allowed = (e.parentSchema as { anyOf?: { const?: unknown }[] } | undefined)?.anyOf?.map((c) => c.const).filter((c) => typeof c === 'string');
    return new InvalidInputError(allowed?.length ? `must be one of ${allowed.join(', ')}` : 'is not one of the values allowed here', at);
  }
  return new InvalidInputError(e.message ?? 'is invalid', at);
}

/**
 * A checker for one kind of spec: the spec as its type, or an InvalidInputError
 * naming the field within the spec. Compiled on first use: compiling every
 * kind at load was a tenth of the server's start.
 */
export function specChecker<T extends TSchema>(schema: T): (value: unknown) => Static<T> {
  let compiled: ReturnType<typeof ajv.compile> | undefined;
  return (value) => {
    const validate = (compiled ??= ajv.compile(schema));
    if (validate(value)) return value as Static<T>;
    const errors = validate.errors ?? [];
    // A value that matches no branch of a choice: the choice's error says what was allowed.
    const e = errors.find((x) => x.keyword === 'anyOf' && x.instancePath === errors[0]?.instancePath) ?? errors[0];
    throw e ? describe('', e) : new InvalidInputError('is invalid');
  };
}
