// Request schemas of /api/v1. They validate every body, query and path
// parameter (unknown fields are refused) and are the source of the OpenAPI
// document, so the contract cannot drift from what is checked.

import { Type, type TSchema } from 'typebox';
import { ACCESS_MODES, VOLUME_STATUSES, SNAPSHOT_STATUSES } from '../../domain/types.js';

const strict = { additionalProperties: false } as const;

export const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$' });
export const IdParams = Type.Object({ id: Id }, strict);
export const Labels = Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Type.String({ maxLength: 1024 }), { maxProperties: 64 });
const Namespace = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' });
const Size = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'bytes' });
const Lit = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

/** Every list and read may block until the store passes `index` (`wait` bounds it). */
export const Blocking = {
  index: Type.Optional(Type.Integer({ minimum: 0, description: 'answer once something newer than this index has changed' })),
  wait: Type.Optional(Type.String({ pattern: '^\\d+(\\.\\d+)?(ms|s|m|h)?$', description: 'how long a blocking query may wait, e.g. 30s (at most 5m)' })),
};
export const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
};
export const BlockingQuery = Type.Object(Blocking, strict);

export const AccessModeSchema = Type.Object(
  { accessMode: Lit(ACCESS_MODES), attachmentMode: Type.Optional(Lit(['filesystem', 'block'] as const)) },
  strict,
);

const Source = Type.Union([
  Type.Object({ snapshotId: Id }, strict),
  Type.Object({ volumeId: Id }, strict),
  Type.Object({ imageId: Id }, strict),
]);

const Cluster = Type.Object(
  {
    clusterId: Type.String({ minLength: 1 }),
    clusterType: Type.String({ minLength: 1 }),
    clusterFlavor: Type.String({ minLength: 1 }),
    entities: Type.Array(
      Type.Object(
        {
          entityType: Lit(['PERSISTENT_VOLUME', 'PERSISTENT_VOLUME_CLAIM', 'POD'] as const),
          entityName: Type.String({ minLength: 1 }),
          namespace: Type.Optional(Type.String()),
          labels: Labels,
        },
        strict,
      ),
    ),
  },
  strict,
);

const AclRule = Type.Object(
  { ips: Type.String({ minLength: 1 }), permissions: Lit(['READ_ONLY', 'READ_WRITE', 'NO_ACCESS'] as const), rootSquash: Type.Boolean() },
  strict,
);

export const CreateVolumeBody = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'a chosen id (a retried create with it finds the volume, never a second one)' })),
    name: Type.String({ minLength: 1, maxLength: 255 }),
    sizeBytes: Size,
    namespace: Type.Optional(Namespace),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    type: Type.Optional(Type.String({ minLength: 1 })),
    pool: Type.Optional(Type.String({ minLength: 1 })),
    kind: Type.Optional(Lit(['block', 'file'] as const)),
    accessMode: Type.Optional(AccessModeSchema),
    accessModes: Type.Optional(Type.Array(AccessModeSchema, { maxItems: 7 })),
    mountOptions: Type.Optional(Type.Array(Type.String(), { maxItems: 32 })),
    source: Type.Optional(Source),
    labels: Type.Optional(Labels),
    imageMetadata: Type.Optional(Labels),
    bootable: Type.Optional(Type.Boolean()),
    readonly: Type.Optional(Type.Boolean()),
    multiattach: Type.Optional(Type.Boolean()),
    clusters: Type.Optional(Type.Array(Cluster)),
    aclRules: Type.Optional(Type.Array(AclRule)),
    secrets: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Type.String({ maxLength: 4096 }), { maxProperties: 64, description: 'sealed at rest; never returned' })),
  },
  strict,
);

export const CreateVolumeQuery = Type.Object({ wait: Type.Optional(Type.Boolean()) }, strict);

export const ListVolumesQuery = Type.Object(
  {
    ...Blocking,
    ...Paging,
    namespace: Type.Optional(Namespace),
    status: Type.Optional(Type.Array(Lit(VOLUME_STATUSES))),
    pool: Type.Optional(Type.String({ minLength: 1 })),
    type: Type.Optional(Type.String({ minLength: 1 })),
    namePrefix: Type.Optional(Type.String({ minLength: 1 })),
    label: Type.Optional(Type.Array(Type.String({ pattern: '^[^=]+=.*$' }), { description: 'key=value; repeat to require several' })),
    createdAfter: Type.Optional(Type.String({ format: 'date-time' })),
    createdBefore: Type.Optional(Type.String({ format: 'date-time' })),
    sort: Type.Optional(Lit(['createdAt', 'name', 'sizeBytes'] as const)),
    direction: Type.Optional(Lit(['asc', 'desc'] as const)),
  },
  strict,
);

export const UpdateVolumeBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    labels: Type.Optional(Labels),
    bootable: Type.Optional(Type.Boolean()),
    readonly: Type.Optional(Type.Boolean()),
    imageMetadata: Type.Optional(Labels),
    adminMetadata: Type.Optional(Labels),
    clusters: Type.Optional(Type.Array(Cluster)),
    aclRules: Type.Optional(Type.Array(AclRule)),
    mountOptions: Type.Optional(Type.Array(Type.String(), { maxItems: 32 })),
    modifyIndex: Type.Optional(Type.Integer({ minimum: 0, description: 'refuse the update if the volume changed since this index' })),
  },
  { ...strict, minProperties: 1 },
);

export const DeleteVolumeQuery = Type.Object({ cascade: Type.Optional(Type.Boolean()), force: Type.Optional(Type.Boolean()), wait: Type.Optional(Type.Boolean()) }, strict);

const empty = Type.Object({}, strict);
/** Body schema of each volume action, by path segment. */
export const ACTION_BODIES: Readonly<Record<string, TSchema>> = {
  extend: Type.Object({ newSizeBytes: Size, awaitCompletion: Type.Optional(Type.Boolean()) }, strict),
  revert: Type.Object({ snapshotId: Id }, strict),
  retype: Type.Object({ type: Type.String({ minLength: 1 }), migrationPolicy: Type.Optional(Lit(['never', 'on-demand'] as const)) }, strict),
  migrate: Type.Object({ pool: Type.Optional(Type.String({ minLength: 1 })) }, strict),
  reserve: empty,
  unreserve: empty,
  'begin-detaching': empty,
  'roll-detaching': empty,
  'reset-status': Type.Object(
    {
      status: Type.Optional(Lit(VOLUME_STATUSES)),
      attachStatus: Type.Optional(Lit(['detached', 'attaching', 'attached', 'detaching', 'error_attaching', 'error_detaching'] as const)),
      migrationStatus: Type.Optional(Lit(['none', 'starting', 'migrating', 'completing', 'success', 'error'] as const)),
    },
    { ...strict, minProperties: 1 },
  ),
  unmanage: empty,
  'upload-image': Type.Object({ imageName: Type.String({ minLength: 1, maxLength: 255 }) }, strict),
  reimage: Type.Object({ imageId: Id }, strict),
  'complete-extend': Type.Object({ error: Type.Optional(Type.Boolean()) }, strict),
};

export const ActionQuery = Type.Object({ wait: Type.Optional(Type.Boolean()) }, strict);

export const AttachBody = Type.Object(
  {
    node: Type.String({ minLength: 1, maxLength: 255 }),
    instance: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    mode: Type.Optional(Lit(['rw', 'ro'] as const)),
    mountpoint: Type.Optional(Type.String({ maxLength: 4096 })),
    connector: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    accessMode: Type.Optional(Lit(ACCESS_MODES)),
    attachmentMode: Type.Optional(Lit(['filesystem', 'block'] as const)),
  },
  strict,
);
export const AttachmentParams = Type.Object({ id: Id, attachmentId: Id }, strict);
export const DetachQuery = Type.Object({ force: Type.Optional(Type.Boolean()), wait: Type.Optional(Type.Boolean()) }, strict);

export const CreateSnapshotBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    labels: Type.Optional(Labels),
    force: Type.Optional(Type.Boolean()),
    secrets: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Type.String({ maxLength: 4096 }), { maxProperties: 64 })),
  },
  strict,
);
export const ListSnapshotsQuery = Type.Object(
  { ...Blocking, ...Paging, namespace: Type.Optional(Namespace), volumeId: Type.Optional(Id), status: Type.Optional(Type.Array(Lit(SNAPSHOT_STATUSES))) },
  strict,
);
export const UpdateSnapshotBody = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })), description: Type.Optional(Type.String({ maxLength: 4096 })), labels: Type.Optional(Labels) },
  { ...strict, minProperties: 1 },
);
export const DeleteSnapshotQuery = Type.Object({ force: Type.Optional(Type.Boolean()), wait: Type.Optional(Type.Boolean()) }, strict);

export const ManageVolumeBody = Type.Object(
  {
    pool: Type.String({ minLength: 1 }),
    reference: Type.Record(Type.String(), Type.String(), { minProperties: 1 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    namespace: Type.Optional(Namespace),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    type: Type.Optional(Type.String({ minLength: 1 })),
    kind: Type.Optional(Lit(['block', 'file'] as const)),
    labels: Type.Optional(Labels),
    bootable: Type.Optional(Type.Boolean()),
    roundToGiB: Type.Optional(Type.Boolean()),
  },
  strict,
);
export const ManageSnapshotBody = Type.Object(
  {
    volumeId: Id,
    reference: Type.Record(Type.String(), Type.String(), { minProperties: 1 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    labels: Type.Optional(Labels),
  },
  strict,
);
export const ManageableQuery = Type.Object(
  {
    marker: Type.Optional(Type.String({ minLength: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    offset: Type.Optional(Type.Integer({ minimum: 0 })),
    sort: Type.Optional(Lit(['identifier', 'size'] as const)),
    direction: Type.Optional(Lit(['asc', 'desc'] as const)),
  },
  strict,
);

export const TypeBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    isPublic: Type.Optional(Type.Boolean()),
    extraSpecs: Type.Optional(Labels),
  },
  strict,
);
export const TypePatchBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    isPublic: Type.Optional(Type.Boolean()),
    extraSpecs: Type.Optional(Labels),
  },
  { ...strict, minProperties: 1 },
);

export const ListTasksQuery = Type.Object(
  { ...Blocking, ...Paging, namespace: Type.Optional(Namespace), state: Type.Optional(Type.Array(Lit(['queued', 'running', 'success', 'error'] as const))), resourceId: Type.Optional(Id) },
  strict,
);
export const ListImagesQuery = Type.Object({ ...Blocking, ...Paging, namespace: Type.Optional(Namespace) }, strict);
export const UploadImageQuery = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }), namespace: Type.Optional(Namespace) }, strict);
export const EventsQuery = Type.Object(
  { index: Type.Optional(Type.Integer({ minimum: 0 })), topic: Type.Optional(Type.Array(Lit(['volume', 'snapshot', 'attachment', 'task', 'type', 'pool', 'image', 'quota'] as const))) },
  strict,
);
