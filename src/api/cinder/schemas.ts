// Request schemas of the Cinder surface. Cinder's clients send nulls for
// fields they leave out and sizes as numbers or numeric strings; unknown
// fields are refused with the field named.

import { Type, type TSchema } from 'typebox';

const strict = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Opt = <T extends TSchema>(t: T) => Type.Optional(Nullable(t));

export const Metadata = Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Type.String({ maxLength: 1024 }));
/** Whole GiB, as a number or a numeric string. */
export const GiBSize = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[0-9]+$' })]);
export const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' });

export const ProjectParams = Type.Object({ project_id: Type.Optional(Id) }, strict);
export const IdParams = Type.Object({ project_id: Type.Optional(Id), id: Id }, strict);
export const KeyParams = Type.Object({ project_id: Type.Optional(Id), id: Id, key: Type.String({ minLength: 1, maxLength: 255 }) }, strict);

export const CreateVolumeBody = Type.Object(
  {
    volume: Type.Object(
      {
        size: Opt(GiBSize),
        name: Opt(Type.String({ maxLength: 255 })),
        display_name: Opt(Type.String({ maxLength: 255 })),
        description: Opt(Type.String({ maxLength: 255 })),
        display_description: Opt(Type.String({ maxLength: 255 })),
        volume_type: Opt(Type.String({ maxLength: 255 })),
        metadata: Opt(Metadata),
        availability_zone: Opt(Type.String({ maxLength: 255 })),
        snapshot_id: Opt(Id),
        source_volid: Opt(Id),
        imageRef: Opt(Id),
        multiattach: Opt(Type.Boolean()),
        consistencygroup_id: Type.Optional(Type.Null()),
        group_id: Type.Optional(Type.Null()),
        backup_id: Type.Optional(Type.Null()),
        source_replica: Type.Optional(Type.Null()),
      },
      strict,
    ),
    'OS-SCH-HNT:scheduler_hints': Opt(Type.Record(Type.String(), Type.Unknown())),
  },
  strict,
);

export const UpdateVolumeBody = Type.Object(
  {
    volume: Type.Object(
      {
        name: Opt(Type.String({ maxLength: 255 })),
        display_name: Opt(Type.String({ maxLength: 255 })),
        description: Opt(Type.String({ maxLength: 255 })),
        display_description: Opt(Type.String({ maxLength: 255 })),
        metadata: Opt(Metadata),
      },
      strict,
    ),
  },
  strict,
);

export const MetadataBody = Type.Object({ metadata: Metadata }, strict);
export const MetaItemBody = Type.Object({ meta: Metadata }, strict);

/** Lists: Cinder's paging, sorting and filters; other filters are refused by name. */
export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 0 })),
    marker: Type.Optional(Id),
    offset: Type.Optional(Type.Integer({ minimum: 0 })),
    sort: Type.Optional(Type.String({ maxLength: 255 })),
    sort_key: Type.Optional(Type.String({ maxLength: 64 })),
    sort_dir: Type.Optional(Type.String({ maxLength: 8 })),
    name: Type.Optional(Type.String({ maxLength: 255 })),
    status: Type.Optional(Type.String({ maxLength: 64 })),
    metadata: Type.Optional(Type.String({ maxLength: 4096 })),
    all_tenants: Type.Optional(Type.String()),
    project_id: Type.Optional(Type.String()),
    with_count: Type.Optional(Type.String()),
    created_at: Type.Optional(Type.String()),
    updated_at: Type.Optional(Type.String()),
    bootable: Type.Optional(Type.String()),
    volume_id: Type.Optional(Id),
    volume_type: Type.Optional(Type.String()),
    is_public: Type.Optional(Type.String()),
  },
  strict,
);

export const DeleteVolumeQuery = Type.Object({ cascade: Type.Optional(Type.String()), force: Type.Optional(Type.String()) }, strict);

export const CreateSnapshotBody = Type.Object(
  {
    snapshot: Type.Object(
      {
        volume_id: Id,
        name: Opt(Type.String({ maxLength: 255 })),
        display_name: Opt(Type.String({ maxLength: 255 })),
        description: Opt(Type.String({ maxLength: 255 })),
        display_description: Opt(Type.String({ maxLength: 255 })),
        force: Opt(Type.Union([Type.Boolean(), Type.String()])),
        metadata: Opt(Metadata),
      },
      strict,
    ),
  },
  strict,
);

export const UpdateSnapshotBody = Type.Object(
  {
    snapshot: Type.Object(
      {
        name: Opt(Type.String({ maxLength: 255 })),
        display_name: Opt(Type.String({ maxLength: 255 })),
        description: Opt(Type.String({ maxLength: 255 })),
        display_description: Opt(Type.String({ maxLength: 255 })),
      },
      strict,
    ),
  },
  strict,
);

/** Action bodies are checked per action (each names one action key). */
export const ActionBody = Type.Record(Type.String(), Type.Unknown(), { minProperties: 1, maxProperties: 1 });

export const CreateTypeBody = Type.Object(
  {
    volume_type: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 255 }),
        description: Opt(Type.String({ maxLength: 255 })),
        'os-volume-type-access:is_public': Opt(Type.Union([Type.Boolean(), Type.String()])),
        extra_specs: Opt(Metadata),
      },
      strict,
    ),
  },
  strict,
);

export const UpdateTypeBody = Type.Object(
  {
    volume_type: Type.Object(
      {
        name: Opt(Type.String({ minLength: 1, maxLength: 255 })),
        description: Opt(Type.String({ maxLength: 255 })),
        is_public: Opt(Type.Union([Type.Boolean(), Type.String()])),
      },
      strict,
    ),
  },
  strict,
);

export const ExtraSpecsBody = Type.Object({ extra_specs: Metadata }, strict);

export const QuotaSetBody = Type.Object(
  {
    // Values are checked per key (tenant_id is a string, limits are integers).
    quota_set: Type.Record(Type.String(), Type.Union([Type.Integer(), Type.String(), Type.Boolean(), Type.Null()])),
  },
  strict,
);
