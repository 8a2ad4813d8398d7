// `volumed csi-plugin`: Identity, Controller and Node on one unix socket, so
// Kubernetes or Nomad provision from volumed. Handlers are async functions
// of the request; errors become gRPC statuses in errors.ts. Requests are
// never logged: they carry secrets.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { csiServices, socketAddress } from '../../protocols/csi.js';
import type { CsiBackend } from './backend.js';
import { controllerService } from './controller.js';
import { toServiceError } from './errors.js';
import { nodeService } from './node.js';

export const PLUGIN_NAME = 'csi.volumed.io';

export interface CsiPluginOptions {
  readonly endpoint: string;
  readonly nodeId: string;
  /** Other nodes whose Node service this controller publishes to (a controller-only deployment names them). */
  readonly otherNodes?: readonly string[];
  readonly backend: CsiBackend;
  readonly version: string;
  readonly log?: (message: string) => void;
}

export interface RunningPlugin {
  readonly address: string;
  close(): Promise<void>;
}

type Handlers = Record<string, (req: never) => Promise<unknown>>;

function bind(handlers: Handlers, log: ((m: string) => void) | undefined): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, fn] of Object.entries(handlers)) {
    const handle: grpc.handleUnaryCall<unknown, unknown> = (call, callback) => {
      fn(call.request as never).then(
        (res) => callback(null, res),
        (e: unknown) => {
          const err = toServiceError(e);
          if (err.code === grpc.status.INTERNAL) log?.(`${name} failed: ${err.details ?? ''}`);
          callback(err);
        },
      );
    };
    impl[name] = handle;
  }
  return impl;
}

export async function startCsiPlugin(options: CsiPluginOptions): Promise<RunningPlugin> {
  const address = socketAddress(options.endpoint);
  const socketPath = address.slice('unix:'.length);
  await fs.mkdir(path.dirname(socketPath), { recursive: true });
  // A socket left by a plugin that died would refuse the bind.
  await fs.rm(socketPath, { force: true });
  const services = csiServices();
  const server = new grpc.Server();
  const identity: Handlers = {
    GetPluginInfo: async () => ({ name: PLUGIN_NAME, vendor_version: options.version, manifest: { url: 'https://github.com/volumed' } }),
    GetPluginCapabilities: async () => ({ capabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }, { volume_expansion: { type: 'ONLINE' } }] }),
    Probe: async () => ({ ready: { value: true } }),
  };
  server.addService(services.Identity.service, bind(identity, options.log));
  server.addService(services.Controller.service, bind(controllerService(options.backend, new Set([options.nodeId, ...(options.otherNodes ?? [])])), options.log));
  server.addService(services.Node.service, bind(nodeService(options.nodeId), options.log));
  await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  return {
    address,
    async close() {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await options.backend.close();
      await fs.rm(socketPath, { force: true });
    },
  };
}
