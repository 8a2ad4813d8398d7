// Request shapes of the Nomad surface: the JSON Nomad's Go client sends
// (api.CSIVolume and friends, every field, nulls included) and the query
// parameters Nomad's agent reads. Keys match as Go's JSON decoder matches
// them (any letter case); an unknown key is refused unless it holds a zero
// value (what a newer client sends for a field it added and left unset).

import { Type, type TSchema } from 'typebox';
import { ACCESS_MODES } from '../../domain/types.js';

const strict = { additionalProperties: false } as const;
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Str = Type.String({ maxLength: 1024 });
const StrMap = Nullable(Type.Record(Type.String({ maxLength: 255 }), Type.String({ maxLength: 4096 })));
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Bytes = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** api.CSITopology; the page's samples write the segments without the `Segments` key, which is taken as the same. */
const Topology = Nullable(Type.Union([Type.Object({ Segments: StrMap }, strict), Type.Record(Type.String({ maxLength: 255, pattern: '^(?!Segments$)' }), Type.String({ maxLength: 1024 }))]));
const Lit = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));
const AccessMode = Lit(ACCESS_MODES);
const AttachmentMode = Lit(['file-system', 'block-device']);
/** The volume-level modes of a request: Nomad's client sends them empty. */
const Unset = Type.Literal('');
const Capability = Type.Object({ AccessMode, AttachmentMode }, strict);

const MountOptions = Type.Object({ FSType: Type.Optional(Str), MountFlags: Type.Optional(Nullable(Type.Array(Str))) }, strict);

/** api.CSIVolume as a create or register request carries it. */
export const VolumeSpec = Type.Object(
  {
    ID: Type.Optional(Str),
    Name: Type.Optional(Str),
    ExternalID: Type.Optional(Str),
    Namespace: Type.Optional(Str),
    RequestedTopologies: Type.Optional(Nullable(Type.Object({ Required: Type.Optional(Nullable(Type.Array(Topology))), Preferred: Type.Optional(Nullable(Type.Array(Topology))) }, strict))),
    Topologies: Type.Optional(Nullable(Type.Array(Topology))),
    AccessMode: Type.Optional(Type.Union([AccessMode, Unset])),
    AttachmentMode: Type.Optional(Type.Union([AttachmentMode, Unset])),
    MountOptions: Type.Optional(Nullable(MountOptions)),
    Secrets: Type.Optional(StrMap),
    Parameters: Type.Optional(StrMap),
    Context: Type.Optional(StrMap),
    Capacity: Type.Optional(Bytes),
    RequestedCapacityMin: Type.Optional(Bytes),
    RequestedCapacityMax: Type.Optional(Bytes),
    RequestedCapabilities: Type.Optional(Nullable(Type.Array(Capability))),
    CloneID: Type.Optional(Str),
    SnapshotID: Type.Optional(Str),
    // What reads answer; a client that sends a volume back as it read it is not refused for them.
    ReadAllocs: Type.Optional(Type.Unknown()),
    WriteAllocs: Type.Optional(Type.Unknown()),
    Allocations: Type.Optional(Type.Unknown()),
    Schedulable: Type.Optional(Type.Boolean()),
    PluginID: Type.Optional(Str),
    Provider: Type.Optional(Str),
    ProviderVersion: Type.Optional(Str),
    Version: Type.Optional(Str),
    ControllerRequired: Type.Optional(Type.Boolean()),
    ControllersHealthy: Type.Optional(Count),
    ControllersExpected: Type.Optional(Count),
    NodesHealthy: Type.Optional(Count),
    NodesExpected: Type.Optional(Count),
    ResourceExhausted: Type.Optional(Type.Unknown()),
    CreateIndex: Type.Optional(Count),
    ModifyIndex: Type.Optional(Count),
    CreateTime: Type.Optional(Type.Integer()),
    ModifyTime: Type.Optional(Type.Integer()),
  },
  strict,
);

/** WriteRequest fields Nomad's client embeds in every write body. */
const WriteRequest = {
  Region: Type.Optional(Str),
  Namespace: Type.Optional(Str),
  SecretID: Type.Optional(Str),
  AuthToken: Type.Optional(Str),
  IdempotencyToken: Type.Optional(Str),
};

export const VolumesBody = Type.Object({ Volumes: Type.Array(VolumeSpec, { minItems: 1, maxItems: 100 }), ...WriteRequest }, strict);

export const SnapshotSpec = Type.Object(
  {
    ID: Type.Optional(Str),
    ExternalSourceVolumeID: Type.Optional(Str),
    SizeBytes: Type.Optional(Bytes),
    CreateTime: Type.Optional(Type.Integer()),
    IsReady: Type.Optional(Type.Boolean()),
    SourceVolumeID: Type.Optional(Str),
    PluginID: Type.Optional(Str),
    Name: Type.Optional(Str),
    Secrets: Type.Optional(StrMap),
    Parameters: Type.Optional(StrMap),
  },
  strict,
);
export const SnapshotsBody = Type.Object({ Snapshots: Type.Array(SnapshotSpec, { minItems: 1, maxItems: 100 }), ...WriteRequest }, strict);

/** A claim (volumed's extension: Nomad's clients claim over RPC). */
export const ClaimBody = Type.Object(
  {
    AllocationID: Type.String({ minLength: 1, maxLength: 255 }),
    NodeID: Type.String({ minLength: 1, maxLength: 255 }),
    ExternalNodeID: Type.Optional(Str),
    Claim: Lit(['read', 'write', 'release']),
    AccessMode: Type.Optional(AccessMode),
    AttachmentMode: Type.Optional(AttachmentMode),
    ...WriteRequest,
  },
  strict,
);

/** Query parameters Nomad's client may send on any request. */
const Common = {
  namespace: Type.Optional(Type.String({ maxLength: 128 })),
  region: Type.Optional(Str),
  stale: Type.Optional(Str),
  index: Type.Optional(Count),
  wait: Type.Optional(Type.String({ pattern: '^\\d+(\\.\\d+)?(ms|s|m|h)?$' })),
  prefix: Type.Optional(Str),
  filter: Type.Optional(Type.String({ maxLength: 4096 })),
  per_page: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
  next_token: Type.Optional(Str),
  idempotency_token: Type.Optional(Str),
};

export const ListVolumesQuery = Type.Object({ ...Common, type: Type.Optional(Str), node_id: Type.Optional(Str), plugin_id: Type.Optional(Str) }, strict);
export const ReadQuery = Type.Object(Common, strict);
export const DeregisterQuery = Type.Object({ ...Common, force: Type.Optional(Type.Boolean()) }, strict);
export const DetachQuery = Type.Object({ ...Common, node: Type.Optional(Str) }, strict);
export const PluginQuery = Type.Object({ ...Common, type: Type.Optional(Str) }, strict);
export const ExternalQuery = Type.Object({ ...Common, plugin_id: Type.Optional(Str) }, strict);
export const SnapshotListQuery = Type.Object({ ...Common, plugin_id: Type.Optional(Str), secrets: Type.Optional(Str) }, strict);
export const SnapshotDeleteQuery = Type.Object({ ...Common, plugin_id: Type.Optional(Str), snapshot_id: Type.Optional(Str) }, strict);
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, strict);

/** The field names of each body shape, for case-insensitive matching. */
/** Fields whose value is an object, or a list of objects, of a known shape: their keys are matched too. */
const NESTED: Readonly<Record<string, TSchema>> = { Volumes: VolumeSpec, Snapshots: SnapshotSpec, MountOptions };

function isZero(value: unknown): boolean {
  if (value === null || value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}

function canonicalObject(value: unknown, schema: TSchema): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const known = Object.keys((schema as { properties?: Record<string, unknown> }).properties ?? {});
  const byLower = new Map(known.map((k) => [k.toLowerCase(), k]));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const name = byLower.get(key.toLowerCase());
    if (name === undefined && isZero(v)) continue;
    const target = name ?? key;
    const shape = NESTED[target];
    out[target] = !shape ? v : Array.isArray(v) ? v.map((item) => canonicalObject(item, shape)) : canonicalObject(v, shape);
  }
  return out;
}

/** A body with its keys as the schema names them (Go's JSON decoder ignores case). */
export function canonicalBody(body: unknown, schema: TSchema): unknown {
  return canonicalObject(body, schema);
}
