// Property tests (fast-check, seeded) that throw generated bodies at the
// Cinder, Nomad and VI/JSON write routes: whatever arrives, the answer is
// never a 5xx, it is in that surface's documented shape, and a refused
// request changes nothing (the event index stays where it was).

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './harness.js';

type Json = Record<string, unknown>;
const SEED = 20261208;
const RUNS = 60;

/** JSON values shaped like what each route reads, with the wrong types, sizes and characters mixed in. */
const scalar = fc.oneof(fc.string({ maxLength: 12, unit: 'binary' }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(-1), fc.constant(2 ** 60), fc.constant(''));
const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('any'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), tie('any'), { maxKeys: 4 })),
})).any;
const fields = (keys: readonly string[]) => fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: keys.length });

const cinderBody = fc.oneof(
  fc.record({ volume: fields(['size', 'name', 'description', 'volume_type', 'metadata', 'snapshot_id', 'source_volid', 'multiattach', 'availability_zone']) }),
  fields(['volume', 'snapshot', 'size']),
  value,
);
const nomadBody = fc.oneof(
  fc.record({ Volumes: fc.array(fields(['ID', 'Name', 'PluginID', 'RequestedCapacityMin', 'RequestedCapacityMax', 'RequestedCapabilities', 'Parameters', 'SnapshotID', 'CloneID', 'MountOptions', 'Secrets']), { maxLength: 2 }) }),
  value,
);
const cnsBody = fc.oneof(
  fc.record({ createSpecs: fc.array(fields(['_typeName', 'name', 'volumeType', 'backingObjectDetails', 'datastores', 'profile', 'metadata']), { maxLength: 2 }) }),
  value,
);

describe('generated bodies against the Cinder, Nomad and VI/JSON routes', () => {
  let s: RunningServer;
  let session = '';
  const index = async (): Promise<string> => (await fetch(`${s.url}/v1/volumes?type=csi`)).headers.get('x-nomad-index') ?? '';

  beforeAll(async () => {
    s = await startServer({ config: 'pools:\n  - { id: local, driver: file }\n' });
    const login = await fetch(`${s.url}/sdk/vim25/8.0.3.0/SessionManager/SessionManager/Login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"userName":"a","password":"b"}' });
    session = login.headers.get('vmware-api-session-id') ?? '';
  });
  afterAll(async () => {
    await s.stop();
  });

  /** Sends one body; checks the answer's status and shape; tells whether the request was refused. */
  async function send(method: string, path: string, body: unknown, headers: Record<string, string>, shape: (status: number, text: string) => void): Promise<boolean> {
    const res = await fetch(`${s.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const text = await res.text();
    expect(res.status, `${method} ${path} ${JSON.stringify(body)} → ${text}`).toBeLessThan(500);
    shape(res.status, text);
    return res.status >= 400;
  }

  const refusedChangesNothing = async (attempt: () => Promise<boolean>): Promise<void> => {
    const before = await index();
    if (await attempt()) expect(await index()).toBe(before);
  };

  it('Cinder: POST /v3/{project}/volumes answers a Cinder fault or a volume, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(cinderBody, async (body) =>
        refusedChangesNothing(() =>
          send('POST', '/v3/prop/volumes', body, {}, (status, text) => {
            const parsed = JSON.parse(text) as Json;
            if (status >= 400) expect(Object.values(parsed)[0]).toMatchObject({ code: status, message: expect.any(String) as unknown });
            else expect(parsed.volume).toMatchObject({ id: expect.any(String) as unknown });
          }),
        ),
      ),
      { seed: SEED, numRuns: RUNS },
    );
  }, 120_000);

  it('Nomad: PUT /v1/volume/csi/{id}/create answers plain text or a create response, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(nomadBody, async (body) =>
        refusedChangesNothing(() =>
          send('PUT', '/v1/volume/csi/prop/create', body, {}, (status, text) => {
            if (status >= 400) expect(text.length).toBeGreaterThan(0);
            else expect((JSON.parse(text) as Json).Volumes).toBeInstanceOf(Array);
          }),
        ),
      ),
      { seed: SEED, numRuns: RUNS },
    );
  }, 120_000);

  it('VI/JSON: CnsCreateVolume answers a fault with _typeName or a Task reference, never a 5xx but its own faults', async () => {
    await fc.assert(
      fc.asyncProperty(cnsBody, async (body) => {
        const res = await fetch(`${s.url}/sdk/vim25/8.0.3.0/vsan/CnsVolumeManager/cns-volume-manager/CnsCreateVolume`, { method: 'POST', headers: { 'content-type': 'application/json', 'vmware-api-session-id': session }, body: JSON.stringify(body) });
        const parsed = (await res.json()) as Json;
        // VI/JSON answers a method's fault with HTTP 500 and the fault object; a refused envelope is InvalidArgument or InvalidRequest.
        if (res.status === 500) expect(['InvalidArgument', 'InvalidRequest', 'InvalidType']).toContain(parsed._typeName);
        else expect([res.status, parsed.type]).toEqual([200, 'Task']);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  }, 120_000);
});
