// Bundles the `volumed` command (dist/cli/main.js, as tsc built it) into
// dist/bundle/, which bin/volumed.cjs runs. Node resolves, stats and reads
// each of ~900 module files on every start (kysely alone is 260): a server
// listened 1.5 s after it was started, and the bundle saves about half a
// second of that. `serve` and `csi-plugin` stay separate chunks, loaded only
// by their commands.
//
// The outputs sit two folders below the package root, as dist/<dir>/ does, so
// the `new URL('../../…', import.meta.url)` reads (package.json, proto/)
// find the same files.

import { build } from 'esbuild';

await build({
  entryPoints: { main: 'dist/cli/main.js' },
  outdir: 'dist/bundle',
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // Loaded from node_modules as they are: a native addon (and the checkpoint
  // worker requires it by path); gRPC, which only a csi pool or the plugin
  // loads; and packages that find their own files through __dirname.
  external: ['better-sqlite3', '@grpc/grpc-js', '@grpc/proto-loader', '@fastify/swagger', '@fastify/swagger-ui', 'pino'],
  // CommonJS dependencies call require() for Node's built-ins.
  banner: { js: "import { createRequire as __volumedRequire } from 'node:module'; const require = __volumedRequire(import.meta.url);" },
});
