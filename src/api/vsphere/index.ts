// vSphere's CNS Volume Manager over VI/JSON, under /sdk/vim25/{release}:
// SessionManager Login/Logout, the CnsVolumeManager methods (batches of
// specs answered with a Task), Task info, and a minimal ServiceInstance
// content for clients that look the managers up first. Routes call only the
// engine; errors become VI/JSON faults in faults.ts.

import type { FastifyRequest } from 'fastify';
import type { Volumed } from '../../app/open.js';
import type { App } from '../app.js';
import { authorize, identifyWith } from '../guard.js';
import { fault, faultOfError, vimErrorHandler, VimFault } from './faults.js';
import type { CnsCall, SpecMethod } from './methods.js';
import { CNS_NAMESPACE, provisioningMethods } from './provisioning.js';
import { queryMethods, runQuery } from './queries.js';
import { Bodies, LoginBody, specChecker, type CnsMethod, type QueryFilterT, type QuerySelectionT } from './schemas.js';
import { SESSION_HEADER, Sessions, userSessionView, type Session } from './sessions.js';
import { snapshotMethods } from './snapshots.js';
import { taskInfo } from './tasks.js';
import { configMethods } from './volume-config.js';
import { moRef } from './views.js';

export const CNS_MANAGER = 'cns-volume-manager';

/** The releases of the VI/JSON reference: 7.0.x to 9.x. */
const RELEASE = /^(7\.0(\.\d+){0,2}|8\.0\.\d+\.\d+|9\.\d+\.\d+\.\d+)$/;

export const BATCH_METHODS: Readonly<Record<string, SpecMethod>> = { ...provisioningMethods, ...configMethods, ...snapshotMethods, ...queryMethods };

declare module 'fastify' {
  interface FastifyRequest {
    vimSession: Session | undefined;
  }
}

function session(req: FastifyRequest): Session {
  if (!req.vimSession) throw new VimFault(fault('NotAuthenticated', 'The session is not authenticated.'));
  return req.vimSession;
}

export async function vsphereRoutes(app: App, volumed: Volumed, options: { version: string }): Promise<void> {
  const sessions = new Sessions(volumed);
  app.decorateRequest('vimSession', undefined);
  await app.register(
    async (scope) => {
      const vim = scope as unknown as App;
      vim.setErrorHandler(vimErrorHandler);
      vim.setNotFoundHandler(async (req, reply) => {
        await reply.status(404).type('application/json').send(fault('InvalidRequest', `no VI/JSON operation at ${req.method} ${req.url.split('?')[0] ?? ''}`));
      });
      vim.addHook('onRoute', (route) => {
        route.schema = { ...(route.schema ?? {}), hide: true };
      });
      vim.addHook('onRequest', async (req) => {
        const release = (req.params as { release?: string }).release ?? '';
        if (!RELEASE.test(release)) throw new VimFault(fault('InvalidRequest', `unsupported API release ${release}: this server speaks releases 7.0 to 9.x (e.g. 8.0.3.0)`), 404);
        if (req.routeOptions.config.access?.public) return;
        req.vimSession = sessions.use(req);
        // The session's token decides what its calls may do (ACLs on); otherwise anyone may.
        try {
          await identifyWith(volumed, req, req.vimSession.secret);
        } catch {
          sessions.logout(req.vimSession);
          throw new VimFault(fault('NotAuthenticated', 'The session\'s token is no longer valid; log in again.'));
        }
      });

      const open = { config: { access: { public: true } } } as const;
      const signedIn = { config: { access: { need: 'authenticated' as const } } } as const;

      vim.get('/ServiceInstance/ServiceInstance/content', open, async () => ({
        _typeName: 'ServiceContent',
        rootFolder: moRef('Folder', 'group-d1'),
        about: { _typeName: 'AboutInfo', name: 'volumed', fullName: `volumed ${options.version} (CNS over VI/JSON)`, vendor: 'volumed', version: options.version, build: '0', apiType: 'VirtualCenter', apiVersion: '8.0.3.0', productLineId: 'volumed', instanceUuid: volumed.dataDir },
        sessionManager: moRef('SessionManager', 'SessionManager'),
        taskManager: moRef('TaskManager', 'TaskManager'),
      }));

      vim.post('/SessionManager/SessionManager/Login', { ...open, schema: { body: LoginBody } }, async (req, reply) => {
        const s = await sessions.login(req, req.body.userName, req.body.password);
        void reply.header(SESSION_HEADER, s.key);
        return userSessionView(s);
      });
      vim.post('/SessionManager/SessionManager/Logout', signedIn, async (req, reply) => {
        sessions.logout(session(req));
        return reply.status(204).send();
      });
      vim.get('/SessionManager/SessionManager/currentSession', signedIn, async (req) => userSessionView(session(req)));

      vim.get('/Task/:moId/info', signedIn, async (req) => {
        const { moId } = req.params as { moId: string };
        try {
          await authorize(volumed, req, 'read-volume', 'task', moId);
          return taskInfo(await volumed.engine.getTask(moId), BATCH_METHODS);
        } catch (e) {
          const f = faultOfError(e);
          throw new VimFault(f._typeName === 'NotFound' ? fault('ManagedObjectNotFound', `The object 'vim.Task:${moId}' has already been deleted or has not been completely created`, { obj: moRef('Task', moId) }) : f);
        }
      });

      vim.post('/vsan/CnsVolumeManager/:moId/:method', signedIn, async (req) => {
        const { moId, method } = req.params as { moId: string; method: string };
        if (moId !== CNS_MANAGER) throw new VimFault(fault('ManagedObjectNotFound', `The object 'vim.cns.VolumeManager:${moId}' has already been deleted or has not been completely created`, { obj: moRef('CnsVolumeManager', moId) }));
        if (!Object.hasOwn(Bodies, method)) throw new VimFault(fault('MethodNotFound', `CnsVolumeManager has no method ${method}`, { receiver: moRef('CnsVolumeManager', moId), method }));
        const body = checkBody(method as CnsMethod, req.body);
        const call: CnsCall = { volumed, req };
        if (method === 'CnsQueryVolume' || method === 'CnsQueryAllVolume') {
          return runQuery(call, body.filter as QueryFilterT, body.selection as QuerySelectionT | undefined);
        }
        const def = BATCH_METHODS[method];
        if (!def) throw new VimFault(fault('MethodNotFound', `CnsVolumeManager has no method ${method}`, { receiver: moRef('CnsVolumeManager', moId), method }));
        const specs: unknown[] = def.whole ? [body] : (body[def.specsKey] as unknown[]);
        const volumeIds = specs.map((s) => def.volumeIdOf(s));
        const task = await volumed.engine.submitBatch({
          operation: `cns.${method}`,
          namespace: CNS_NAMESPACE,
          steps: specs.map((spec) => () => def.run(call, spec, body)),
          params: { method, userName: session(req).userName, volumeIds },
        });
        return moRef('Task', task.id);
      });
    },
    { prefix: '/sdk/vim25/:release' },
  );
}

// Compiled once per method; a bad envelope is the whole call's InvalidArgument.
const checkers: Readonly<Record<string, (value: unknown) => Record<string, unknown>>> = Object.fromEntries(Object.entries(Bodies).map(([name, schema]) => [name, specChecker(schema)]));

function checkBody(method: CnsMethod, body: unknown): Record<string, unknown> {
  const check = checkers[method];
  if (!check) throw new VimFault(fault('MethodNotFound', `no method ${method}`));
  return check(body ?? {});
}

