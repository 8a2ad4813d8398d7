// The CSI wire protocol, shared by both directions (the `csi` driver calls
// plugins, `volumed csi-plugin` serves): proto/csi.proto loaded at run time
// with @grpc/proto-loader, socket addresses, and the message shapes volumed
// uses as the loader decodes them (snake_case names, int64 as numbers, enums
// as their names, oneofs named by their case).

import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { InvalidInputError } from '../domain/errors.js';

/** proto/ sits at the package root: two levels above both src/protocols and dist/protocols. */
export const CSI_PROTO_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto/csi.proto');

export interface CsiServices {
  readonly Identity: grpc.ServiceClientConstructor;
  readonly Controller: grpc.ServiceClientConstructor;
  readonly Node: grpc.ServiceClientConstructor;
}

let loaded: CsiServices | undefined;

export function csiServices(): CsiServices {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(CSI_PROTO_FILE, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { csi: { v1: CsiServices } };
  loaded = pkg.csi.v1;
  return loaded;
}

/** `unix:///x.sock` and `/x.sock` as grpc-js addresses. */
export function socketAddress(endpoint: string): string {
  if (endpoint.startsWith('unix://')) return `unix:${endpoint.slice('unix://'.length)}`;
  if (endpoint.startsWith('unix:')) return endpoint;
  if (endpoint.startsWith('/')) return `unix:${endpoint}`;
  throw new InvalidInputError(`must be unix:///path/to/plugin.sock, not ${endpoint}`, 'endpoint');
}

export type StringMap = Record<string, string>;

export type AccessModeName =
  | 'UNKNOWN'
  | 'SINGLE_NODE_WRITER'
  | 'SINGLE_NODE_READER_ONLY'
  | 'MULTI_NODE_READER_ONLY'
  | 'MULTI_NODE_SINGLE_WRITER'
  | 'MULTI_NODE_MULTI_WRITER'
  | 'SINGLE_NODE_SINGLE_WRITER'
  | 'SINGLE_NODE_MULTI_WRITER';

export interface VolumeCapability {
  block?: Record<string, never> | null;
  mount?: { fs_type?: string; mount_flags?: string[]; volume_mount_group?: string } | null;
  access_type?: 'block' | 'mount';
  access_mode?: { mode: AccessModeName } | null;
}

export interface CapacityRange {
  required_bytes?: number;
  limit_bytes?: number;
}

export interface ContentSource {
  snapshot?: { snapshot_id: string } | null;
  volume?: { volume_id: string } | null;
  type?: 'snapshot' | 'volume';
}

export interface Topology {
  segments: StringMap;
}

export interface CsiVolume {
  capacity_bytes: number;
  volume_id: string;
  volume_context: StringMap;
  content_source?: ContentSource | null;
  accessible_topology?: Topology[];
}

export interface CsiSnapshot {
  size_bytes: number;
  snapshot_id: string;
  source_volume_id: string;
  creation_time?: { seconds: number; nanos: number } | null;
  ready_to_use: boolean;
  group_snapshot_id?: string;
}

export interface VolumeCondition {
  abnormal: boolean;
  message: string;
}

export interface VolumeStatus {
  published_node_ids: string[];
  volume_condition?: VolumeCondition | null;
}

export interface CapabilityEntry {
  service?: { type: string } | null;
  volume_expansion?: { type: string } | null;
  rpc?: { type: string } | null;
}

/** A CSI capability list as a set of names (`CONTROLLER_SERVICE`, `CREATE_DELETE_VOLUME`, `ONLINE`, ...). */
export function capabilityNames(entries: readonly CapabilityEntry[] | undefined): Set<string> {
  const names = new Set<string>();
  for (const e of entries ?? []) {
    const name = e.service?.type ?? e.rpc?.type ?? e.volume_expansion?.type;
    if (name) names.add(name);
  }
  return names;
}

export function timestampOf(iso: string): { seconds: number; nanos: number } {
  const ms = Date.parse(iso);
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
