#!/usr/bin/env node
// The `volumed` command: `serve` runs the server; every other command talks to
// a server over HTTP (--server, or VOLUMED_ADDR).

import { Command } from 'commander';
import { ConfigError } from '../config/config.js';
import { aclCommand, quotaCommand } from './commands/acl.js';
import { cnsCommand } from './commands/cns.js';
import { adminCommand, imageCommand, poolCommand, snapshotCommand, taskCommand, typeCommand } from './commands/others.js';
import { volumeCommand } from './commands/volume.js';

const program = new Command('volumed')
  .description('volumed: volumes on real storage')
  .option('--server <url>', 'volumed server', process.env.VOLUMED_ADDR ?? 'http://127.0.0.1:8776')
  .option('--token <secret>', 'ACL token secret (default: $VOLUMED_TOKEN)')
  .option('--json', 'machine-readable output', false)
  .showHelpAfterError();

program
  .command('serve')
  .description('run the server (embedded SQLite and a local file pool by default)')
  .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:8776)')
  .option('--data-dir <dir>', 'where state and the default pool live (default ./.volumed)')
  .option('--config <file>', 'YAML config: pools, types, quotas')
  .option('--acl', 'enforce tokens and policies')
  .option('--insecure-no-acl', 'allow a non-loopback listener without ACLs')
  .action(async (o: { listen?: string; dataDir?: string; config?: string; acl?: boolean; insecureNoAcl?: boolean }) => {
    try {
      // Loaded only to serve: the other commands are HTTP clients and start without the server's modules.
      const { serve } = await import('./serve.js');
      await serve({ listen: o.listen, dataDir: o.dataDir, config: o.config, acl: o.acl, insecureNoAcl: o.insecureNoAcl });
    } catch (e) {
      process.stderr.write(`volumed: ${e instanceof ConfigError ? e.message : (e as Error).message}\n`);
      process.exit(1);
    }
  });

program
  .command('csi-plugin')
  .description('serve CSI (Identity, Controller, Node) on a unix socket, for Kubernetes or Nomad')
  .requiredOption('--endpoint <unix:///path.sock>', 'the socket to serve on')
  .requiredOption('--node-id <id>', "this node's id, as NodeGetInfo reports it")
  .option('--also-node <id...>', 'other nodes this controller publishes to (their own plugins serve Node); a publish to a node not named is NOT_FOUND')
  .option('--data-dir <dir>', 'embed the engine, with its state and pools here')
  .option('--config <file>', 'YAML config for the embedded engine (pools, types)')
  .action(async (o: { endpoint: string; nodeId: string; alsoNode?: string[]; dataDir?: string; config?: string }, cmd: Command) => {
    try {
      const globals = cmd.optsWithGlobals<{ server: string; token?: string }>();
      // --server is the global option: the plugin takes it only when named (or set in $VOLUMED_ADDR), and never with --data-dir.
      const serverNamed = program.getOptionValueSource('server') === 'cli' || process.env.VOLUMED_ADDR !== undefined;
      if (o.dataDir !== undefined && program.getOptionValueSource('server') === 'cli') throw new Error('give --data-dir (embedded engine) or --server (a running volumed), not both');
      if (o.dataDir === undefined && !serverNamed) throw new Error('give --data-dir DIR (embed the engine) or --server URL (use a running volumed)');
      const remote = o.dataDir === undefined ? { server: globals.server, ...(globals.token ? { token: globals.token } : {}) } : {};
      const { runCsiPlugin } = await import('./csi-plugin.js');
      await runCsiPlugin({ endpoint: o.endpoint, nodeId: o.nodeId, otherNodes: o.alsoNode ?? [], ...(o.dataDir ? { dataDir: o.dataDir } : {}), ...(o.config ? { config: o.config } : {}), ...remote });
    } catch (e) {
      process.stderr.write(`volumed csi-plugin: ${(e as Error).message}\n`);
      process.exit(1);
    }
  });

program.addCommand(volumeCommand());
program.addCommand(snapshotCommand());
program.addCommand(poolCommand());
program.addCommand(typeCommand());
program.addCommand(taskCommand());
program.addCommand(imageCommand());
program.addCommand(aclCommand());
program.addCommand(quotaCommand());
program.addCommand(cnsCommand());
program.addCommand(adminCommand());

await program.parseAsync(process.argv);
