// vSphere's CNS Volume Manager over VI/JSON, end to end on real file pools,
// driven as a VI/JSON script drives vCenter (test/e2e/cns-client.ts): login,
// batches of specs answered with a Task polled until it ends, per-spec
// results and faults in input order; the same volumes in the native API.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attach, blockSpec, CnsClient, ds, k8sCluster, kv, nfs, snapDelete, vid, VimFaultError, type VolumeResult } from './cns-client.js';
import { MAIN, startServer, type RunningServer } from './harness.js';

type Json = Record<string, unknown>;
const MiB = 1024 * 1024;
const CONFIG = `pools:
  - { id: local, driver: file }
  - { id: fast, driver: file }
types:
  - { name: gold, extraSpecs: { pool: fast } }
`;

async function fails(call: Promise<unknown>): Promise<VimFaultError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof VimFaultError)) throw new Error(`expected a fault, got ${String(err)}`);
  return err;
}

const faultOf = (r: VolumeResult | undefined): Json & { _typeName: string } => {
  if (!r?.fault) throw new Error(`expected a fault in ${JSON.stringify(r)}`);
  return r.fault;
};
const messageOf = (f: Json): string => String((f.faultMessage as { message: string }[])[0]?.message);

describe('CNS over VI/JSON', () => {
  let s: RunningServer;
  let cns: CnsClient;
  const poolFile = (pool: string, rel: string): string => path.join(s.dataDir, 'pools', pool, rel);
  const volumeFile = (pool: string, id: string): string => poolFile(pool, `volumes/${id}.img`);

  beforeAll(async () => {
    s = await startServer({ config: CONFIG });
    cns = new CnsClient(s.url);
    await cns.login();
  });
  afterAll(async () => {
    await s.stop();
  });

  async function createOne(name: string, mb: number, extra: Json = {}): Promise<string> {
    const { info, results } = await cns.run('CnsCreateVolume', { createSpecs: [blockSpec(name, mb, { datastores: [ds('local')], ...extra })] });
    expect(info.state, JSON.stringify(results)).toBe('success');
    expect(results[0]?.fault).toBeUndefined();
    return String(results[0]?.volumeId.id);
  }

  async function query(filter: Json, selection?: Json): Promise<{ volumes: Json[]; cursor: Json }> {
    return (await cns.invoke('CnsQueryVolume', { filter: { _typeName: 'CnsQueryFilter', ...filter }, ...(selection ? { selection } : {}) })) as { volumes: Json[]; cursor: Json };
  }

  it('answers NotAuthenticated without a session, a release it does not speak as not found, and ends sessions at logout', async () => {
    const anonymous = new CnsClient(s.url);
    const refused = await fails(anonymous.invoke('CnsQueryVolume', { filter: { _typeName: 'CnsQueryFilter' } }));
    expect([refused.status, refused.typeName]).toEqual([500, 'NotAuthenticated']);
    const forged = new CnsClient(s.url);
    forged.session = 'f'.repeat(40);
    expect((await fails(forged.taskInfo('x'))).typeName).toBe('NotAuthenticated');
    const old = await new CnsClient(s.url, '6.5').raw('POST', '/SessionManager/SessionManager/Login', { userName: 'a', password: 'b' });
    expect([old.status, old.body._typeName]).toEqual([404, 'InvalidRequest']);
    for (const release of ['7.0.3.1', '8.0.1.0', '9.0.0.0']) expect((await new CnsClient(s.url, release).login())._typeName).toBe('UserSession');

    const mine = new CnsClient(s.url);
    const session = await mine.login('ops@vsphere.local', 'secret');
    expect(session).toMatchObject({ _typeName: 'UserSession', userName: 'ops@vsphere.local', key: mine.session });
    expect((await mine.raw('GET', '/SessionManager/SessionManager/currentSession')).body.userName).toBe('ops@vsphere.local');
    await mine.logout();
    expect((await fails(mine.invoke('CnsQueryVolume', { filter: { _typeName: 'CnsQueryFilter' } }))).typeName).toBe('NotAuthenticated');
  });

  it('runs a batch of five creates where two specs are bad: task success, three volumes on disk, two faults in order', async () => {
    const cluster = { _typeName: 'CnsVolumeMetadata', containerCluster: k8sCluster('batch-1'), entityMetadata: [] };
    const local = [ds('local')];
    const specs = [
      blockSpec('b-0', 8, { metadata: cluster, datastores: local }),
      blockSpec('b-1', 8, { metadata: cluster, profile: [{ _typeName: 'VirtualMachineDefinedProfileSpec', profileId: 'platinum' }] }),
      blockSpec('b-2', 8, { metadata: cluster, datastores: [ds('fast')] }),
      blockSpec('b-3', 0, { metadata: cluster }),
      blockSpec('b-4', 16, { metadata: cluster, datastores: local }),
    ];
    const seen: string[] = [];
    const ref = await cns.invoke('CnsCreateVolume', { _typeName: 'CnsCreateVolumeRequestType', createSpecs: specs });
    expect(ref).toMatchObject({ _typeName: 'ManagedObjectReference', type: 'Task' });
    const info = await cns.waitTask(ref, (i) => seen.push(String(i.state)));
    expect(info).toMatchObject({ _typeName: 'TaskInfo', state: 'success', progress: 100, name: 'CnsCreateVolume', reason: { userName: 'administrator@vsphere.local' } });
    expect(info.error).toBeUndefined();
    expect(typeof info.queueTime).toBe('string');
    expect(typeof info.completeTime).toBe('string');
    const results = (info.result as { _typeName: string; volumeResults: VolumeResult[] }).volumeResults;
    expect((info.result as Json)._typeName).toBe('CnsVolumeOperationBatchResult');
    expect(results.map((r) => r._typeName)).toEqual(Array(5).fill('CnsVolumeCreateResult'));
    expect(results.map((r) => Boolean(r.fault))).toEqual([false, true, false, true, false]);
    expect(faultOf(results[1])).toMatchObject({ _typeName: 'InvalidArgument', invalidProperty: 'createSpecs[1].profile[0].profileId' });
    expect(messageOf(faultOf(results[1]))).toContain('platinum');
    expect(faultOf(results[3])).toMatchObject({ _typeName: 'InvalidArgument', invalidProperty: 'createSpecs[3].backingObjectDetails.capacityInMb' });
    expect(messageOf(faultOf(results[3]))).toBe('createSpecs[3].backingObjectDetails.capacityInMb: must be a whole number of MB, at least 1');
    expect(results[2]?.placementResults).toEqual([{ _typeName: 'CnsPlacementResult', datastore: ds('fast') }]);
    const made = [0, 2, 4].map((i) => ({ id: results[i]?.volumeId.id ?? '', name: results[i]?.name }));
    expect(made.map((m) => m.name)).toEqual(['b-0', 'b-2', 'b-4']);
    expect(statSync(volumeFile('local', made[0]?.id ?? '')).size).toBe(8 * MiB);
    expect(statSync(volumeFile('fast', made[1]?.id ?? '')).size).toBe(8 * MiB);
    expect(statSync(volumeFile('local', made[2]?.id ?? '')).size).toBe(16 * MiB);
    for (const m of made) expect((await s.api<{ volume: Json }>('GET', `/api/v1/volumes/${m.id}`)).body.volume.status).toBe('available');
    // Nothing was written for the bad specs.
    const byCluster = await query({ containerClusterIds: ['batch-1'] });
    expect(byCluster.volumes.map((v) => v.name).sort()).toEqual(['b-0', 'b-2', 'b-4']);
    // The same batch is an engine task with one item per spec.
    const task = await s.api<{ task: { items: { state: string }[] } }>('GET', `/api/v1/tasks/${String(ref.value)}`);
    expect(task.body.task.items.map((i) => i.state)).toEqual(['success', 'error', 'success', 'error', 'success']);
  });

  it('faults the whole task only when no spec could be scheduled, and a bad envelope or method at once', async () => {
    const { info, results } = await cns.run('CnsCreateVolume', { createSpecs: [blockSpec('n-0', -1), { name: 'n-1', volumeType: 'TAPE', backingObjectDetails: {} }] }, { offSpec: true });
    expect(info.state).toBe('error');
    expect((info.error as Json)._typeName).toBe('CnsFault');
    expect(faultOf(results[1])).toMatchObject({ _typeName: 'InvalidArgument', invalidProperty: 'createSpecs[1].volumeType' });
    // Polymorphic fields are read by their _typeName.
    const typed = await cns.run('CnsCreateVolume', {
      createSpecs: [
        { name: 'p-0', volumeType: 'BLOCK', backingObjectDetails: { _typeName: 'CnsVsanFileShareBackingDetails', capacityInMb: 4 } },
        blockSpec('p-1', 4, { profile: [{ _typeName: 'VirtualMachineBogusProfileSpec', profileId: 'gold' }] }),
        blockSpec('p-2', 4, { datastores: [ds('local')], profile: [{ _typeName: 'VirtualMachineEmptyProfileSpec' }] }),
      ],
    }, { offSpec: true });
    expect(faultOf(typed.results[0])).toMatchObject({ _typeName: 'InvalidArgument', invalidProperty: 'createSpecs[0].backingObjectDetails._typeName' });
    expect(messageOf(faultOf(typed.results[0]))).toContain('CnsVsanFileShareBackingDetails describes a file volume, but volumeType is BLOCK');
    expect(faultOf(typed.results[1])).toMatchObject({ invalidProperty: 'createSpecs[1].profile[0]._typeName' });
    expect(messageOf(faultOf(typed.results[1]))).toContain('must be one of VirtualMachineProfileSpec, VirtualMachineDefinedProfileSpec, VirtualMachineEmptyProfileSpec');
    expect(typed.results[2]?.fault).toBeUndefined();
    const empty = await fails(cns.invoke('CnsCreateVolume', { createSpecs: [] }));
    expect([empty.status, empty.typeName]).toEqual([500, 'InvalidArgument']);
    expect(empty.message0).toContain('createSpecs');
    expect((await fails(cns.invoke('CnsFormatVolume', {}, { offSpec: true }))).typeName).toBe('MethodNotFound');
    expect((await fails(cns.taskInfo('no-such-task'))).typeName).toBe('ManagedObjectNotFound');
  });

  it('attaches with a diskUUID, detaches, and faults only the spec that names an unknown volume', async () => {
    const id = await createOne('att', 8);
    const { results } = await cns.run('CnsAttachVolume', { attachSpecs: [attach(id), attach('nope-1')] });
    expect(results[0]?._typeName).toBe('CnsVolumeAttachResult');
    const native = await s.api<{ volume: Json; attachments: Json[] }>('GET', `/api/v1/volumes/${id}`);
    expect(native.body.volume.status).toBe('in-use');
    const attachments = (await s.api<{ attachments: Json[] }>('GET', `/api/v1/volumes/${id}/attachments`)).body.attachments;
    expect(attachments.map((a) => [a.node, a.id])).toEqual([['vm-42', results[0]?.diskUUID]]);
    expect(faultOf(results[1])).toMatchObject({ _typeName: 'CnsVolumeNotFoundFault', volumeId: { id: 'nope-1' } });
    expect(results[1]?.volumeId.id).toBe('nope-1');

    const detached = await cns.run('CnsDetachVolume', { detachSpecs: [attach(id)] });
    expect(detached.results[0]?.fault).toBeUndefined();
    expect((await s.api<{ volume: Json }>('GET', `/api/v1/volumes/${id}`)).body.volume.status).toBe('available');
    const again = await cns.run('CnsDetachVolume', { detachSpecs: [attach(id)] });
    expect(again.info.state).toBe('error');
    expect(faultOf(again.results[0])._typeName).toBe('CnsFault');
    expect(messageOf(faultOf(again.results[0]))).toContain('not attached to that vm');
  });

  it('extends a volume with its bytes kept', async () => {
    const id = await createOne('ext', 8);
    const bytes = randomBytes(64 * 1024);
    await fs.writeFile(volumeFile('local', id), bytes, { flag: 'r+' });
    const { results } = await cns.run('CnsExtendVolume', { extendSpecs: [{ _typeName: 'CnsVolumeExtendSpec', volumeId: vid(id), capacityInMb: 24 }, { _typeName: 'CnsVolumeExtendSpec', volumeId: vid(id), capacityInMb: 0 }] });
    expect(results[0]?.fault).toBeUndefined();
    expect(faultOf(results[1])).toMatchObject({ _typeName: 'InvalidArgument', invalidProperty: 'extendSpecs[1].capacityInMb' });
    expect(statSync(volumeFile('local', id)).size).toBe(24 * MiB);
    expect(readFileSync(volumeFile('local', id)).subarray(0, bytes.length).equals(bytes)).toBe(true);
    const [v] = (await query({ volumeIds: [vid(id)] })).volumes;
    expect(v?.backingObjectDetails).toMatchObject({ _typeName: 'CnsBlockBackingDetails', capacityInMb: 24 });
  });

  it('replaces cluster and entity metadata, and removes an entity or a cluster by their delete flags', async () => {
    const pvc = (labels: Json[], extra: Json = {}): Json => ({ _typeName: 'CnsKubernetesEntityMetadata', entityName: 'data-pvc', entityType: 'PERSISTENT_VOLUME_CLAIM', namespace: 'shop', labels, ...extra });
    const id = await createOne('meta', 8, { metadata: { _typeName: 'CnsVolumeMetadata', containerCluster: k8sCluster('meta-k1'), entityMetadata: [pvc([kv('tier', 'db')])] } });
    const entities = async (): Promise<Json[]> => ((await query({ volumeIds: [vid(id)] })).volumes[0]?.metadata as { entityMetadata: Json[] }).entityMetadata;
    expect(await entities()).toEqual([expect.objectContaining({ entityName: 'data-pvc', clusterId: 'meta-k1', labels: [{ _typeName: 'KeyValue', key: 'tier', value: 'db' }] })]);
    expect((await query({ labels: [kv('tier', 'db')] })).volumes.map((v) => v.name)).toContain('meta');

    const pv = { _typeName: 'CnsKubernetesEntityMetadata', entityName: 'pv-1', entityType: 'PERSISTENT_VOLUME', labels: [], referredEntity: [{ _typeName: 'CnsKubernetesEntityReference', entityType: 'PERSISTENT_VOLUME_CLAIM', entityName: 'data-pvc', namespace: 'shop', clusterId: 'meta-k1' }] };
    const update = (entityMetadata: Json[], cluster = k8sCluster('meta-k1'), extra: Json = {}) => ({ updateSpecs: [{ _typeName: 'CnsVolumeMetadataUpdateSpec', volumeId: vid(id), metadata: { _typeName: 'CnsVolumeMetadata', containerCluster: cluster, entityMetadata, ...extra } }] });
    expect((await cns.run('CnsUpdateVolumeMetadata', update([pvc([kv('tier', 'cache')]), pv]))).info.state).toBe('success');
    const replaced = await entities();
    expect(replaced.map((e) => [e.entityName, e.labels])).toEqual([
      ['data-pvc', [{ _typeName: 'KeyValue', key: 'tier', value: 'cache' }]],
      ['pv-1', []],
    ]);
    expect(replaced[1]?.referredEntity).toEqual([expect.objectContaining({ entityName: 'data-pvc', clusterId: 'meta-k1' })]);
    await cns.run('CnsUpdateVolumeMetadata', update([pvc([], { delete: true })]));
    expect((await entities()).map((e) => e.entityName)).toEqual(['pv-1']);
    // A second cluster shares the volume; deleting the first leaves the second.
    await cns.run('CnsUpdateVolumeMetadata', update([{ ...pv, entityName: 'pv-k2', clusterId: 'meta-k2' }], k8sCluster('meta-k1'), { containerClusterArray: [k8sCluster('meta-k2')] }));
    await cns.run('CnsUpdateVolumeMetadata', update([], k8sCluster('meta-k1', { delete: true })));
    const [v] = (await query({ volumeIds: [vid(id)] })).volumes;
    expect(((v?.metadata as Json).containerClusterArray as Json[]).map((c) => c.clusterId)).toEqual(['meta-k2']);
    expect((await query({ containerClusterIds: ['meta-k1'] })).volumes).toEqual([]);
    const bad = await cns.run('CnsUpdateVolumeMetadata', update([{ ...pv, entityType: undefined }]), { offSpec: true });
    expect(faultOf(bad.results[0])).toMatchObject({ _typeName: 'InvalidArgument', invalidProperty: 'updateSpecs[0].metadata.entityMetadata[0].entityType' });
  });

  it('configures NFS access rules of a file volume: validated per item, stored, queried, and enforced on attach', async () => {
    const fileSpec = { _typeName: 'CnsVolumeCreateSpec', name: 'share', volumeType: 'FILE', datastores: [ds('local')], backingObjectDetails: { _typeName: 'CnsVsanFileShareBackingDetails', capacityInMb: 4 } };
    const { results } = await cns.run('CnsCreateVolume', { createSpecs: [fileSpec] });
    const id = String(results[0]?.volumeId.id);
    const blockId = await createOne('not-a-share', 4);
    const perm = (ips: string, permissions: string, allowRoot = false): Json => ({ _typeName: 'VsanFileShareNetPermission', ips, permissions, allowRoot });
    const acl = await cns.run('CnsConfigureVolumeACLs', {
      ACLConfigSpecs: [
        { _typeName: 'CnsVolumeACLConfigureSpec', volumeId: vid(id), accessControlSpecList: [{ _typeName: 'CnsNFSAccessControlSpec', netPermission: perm('10.0.0.0/24', 'READ_WRITE', true) }, nfs(perm('192.168.1.0/24', 'READ_ONLY')), nfs(perm('10.0.0.66', 'NO_ACCESS'))] },
        { _typeName: 'CnsVolumeACLConfigureSpec', volumeId: vid(id), accessControlSpecList: [nfs(perm('10.9.0.0/40', 'READ_WRITE'))] },
        { _typeName: 'CnsVolumeACLConfigureSpec', volumeId: vid(blockId), accessControlSpecList: [nfs(perm('*', 'READ_WRITE'))] },
      ],
    });
    expect(acl.info.state).toBe('success');
    expect(acl.results[0]?.fault).toBeUndefined();
    expect(faultOf(acl.results[1])).toMatchObject({ _typeName: 'InvalidArgument', invalidProperty: 'ACLConfigSpecs[1].accessControlSpecList[0].netPermission.ips' });
    expect(faultOf(acl.results[2])._typeName).toBe('NotSupported');
    const shown = async (): Promise<Json[]> => ((await query({ volumeIds: [vid(id)] })).volumes[0]?.backingObjectDetails as { permission: Json[] }).permission;
    expect((await shown()).map((p) => [p.ips, p.permissions, p.allowRoot])).toEqual([
      ['10.0.0.0/24', 'READ_WRITE', true],
      ['192.168.1.0/24', 'READ_ONLY', false],
      ['10.0.0.66', 'NO_ACCESS', false],
    ]);

    // Enforced where the volume is published: a refused client, a read-only one, a read-write one.
    const attach = (ip: string) => s.api<{ attachment: Json; task: Json; error?: Json }>('POST', `/api/v1/volumes/${id}/attachments?wait=true`, { node: `node-${ip}`, connector: { ip } });
    const refused = await attach('10.0.0.66');
    expect(refused.status).toBe(409);
    expect(JSON.stringify(refused.body)).toContain('NO_ACCESS');
    expect((await attach('172.16.0.1')).status).toBe(409);
    const ro = await attach('192.168.1.20');
    expect(ro.status, JSON.stringify(ro.body)).toBe(200);
    expect(ro.body.attachment).toMatchObject({ mode: 'ro', connectionInfo: { readonly: true, export: { clients: '192.168.1.0/24', permissions: 'READ_ONLY', rootSquash: true } } });
    const rw = await attach('10.0.0.7');
    expect(rw.body.attachment).toMatchObject({ mode: 'rw', connectionInfo: { export: { clients: '10.0.0.0/24', permissions: 'READ_WRITE', rootSquash: false } } });

    // Deleting by exact IP spec; deleting the last leaves CNS's deny-all rule.
    await cns.run('CnsConfigureVolumeACLs', { ACLConfigSpecs: [{ _typeName: 'CnsVolumeACLConfigureSpec', volumeId: vid(id), accessControlSpecList: [nfs(perm('192.168.1.0/24', 'READ_ONLY'), true), nfs(perm('10.0.0.66', 'READ_ONLY'), true)] }] });
    expect((await shown()).map((p) => p.ips)).toEqual(['10.0.0.0/24']);
    await cns.run('CnsConfigureVolumeACLs', { ACLConfigSpecs: [{ _typeName: 'CnsVolumeACLConfigureSpec', volumeId: vid(id), accessControlSpecList: [nfs(perm('10.0.0.0/24', 'READ_WRITE'), true)] }] });
    expect((await shown()).map((p) => [p.ips, p.permissions])).toEqual([['*', 'NO_ACCESS']]);
  });

  it('follows a policy change with compliance, and relocates with the bytes verified and a new policy', async () => {
    const id = await createOne('pol', 8);
    const describe1 = async (): Promise<Json | undefined> => (await query({ volumeIds: [vid(id)] })).volumes[0];
    expect(await describe1()).toMatchObject({ complianceStatus: 'notApplicable', healthStatus: 'green', datastoreUrl: 'ds:///volumed/pools/local/' });
    const types = (await s.api<{ types: Json[] }>('GET', '/api/v1/types')).body.types;
    const gold = String(types.find((t) => t.name === 'gold')?.id);
    const profile = [{ _typeName: 'VirtualMachineDefinedProfileSpec', profileId: gold }];
    const reconf = await cns.run('CnsReconfigVolumePolicy', { volumePolicyReconfigSpecs: [{ _typeName: 'CnsVolumePolicyReconfigSpec', volumeId: vid(id), profile }, { _typeName: 'CnsVolumePolicyReconfigSpec', volumeId: vid(id), profile: [{ _typeName: 'VirtualMachineDefinedProfileSpec', profileId: 'tin' }] }] });
    expect(reconf.results[0]?.fault).toBeUndefined();
    expect(faultOf(reconf.results[1])).toMatchObject({ _typeName: 'InvalidArgument', invalidProperty: 'volumePolicyReconfigSpecs[1].profile[0].profileId' });
    expect(await describe1()).toMatchObject({ storagePolicyId: gold, complianceStatus: 'nonCompliant' });
    expect((await query({ complianceStatus: 'nonCompliant' })).volumes.map((v) => (v.volumeId as Json).id)).toContain(id);

    const bytes = randomBytes(512 * 1024);
    await fs.writeFile(volumeFile('local', id), bytes, { flag: 'r+' });
    const progress: number[] = [];
    const ref = await cns.invoke('CnsRelocateVolume', { relocateSpecs: [{ _typeName: 'CnsBlockVolumeRelocateSpec', volumeId: vid(id), datastore: ds('fast'), profile }, { _typeName: 'CnsBlockVolumeRelocateSpec', volumeId: vid(id), datastore: ds('nowhere') }] });
    const info = await cns.waitTask(ref, (i) => progress.push(Number(i.progress ?? 0)));
    const results = (info.result as { volumeResults: VolumeResult[] }).volumeResults;
    expect(results[0]?.fault).toBeUndefined();
    expect(faultOf(results[1])).toMatchObject({ _typeName: 'InvalidArgument', invalidProperty: 'relocateSpecs[1].datastore' });
    expect(progress.at(-1)).toBe(100);
    expect(existsSync(volumeFile('local', id))).toBe(false);
    const moved = readFileSync(volumeFile('fast', id));
    expect(moved.length).toBe(8 * MiB);
    expect(moved.subarray(0, bytes.length).equals(bytes)).toBe(true);
    expect(await describe1()).toMatchObject({ complianceStatus: 'compliant', datastoreUrl: 'ds:///volumed/pools/fast/' });
    expect((await query({ datastores: [ds('fast')], storagePolicyId: gold })).volumes.map((v) => (v.volumeId as Json).id)).toContain(id);
  });

  it('pages queries with a cursor and totals, selects fields, and runs the same query as a task', async () => {
    const specs = Array.from({ length: 5 }, (_, i) => blockSpec(`pg-${i}`, 4, { metadata: { _typeName: 'CnsVolumeMetadata', containerCluster: k8sCluster('paging') } }));
    await cns.run('CnsCreateVolume', { createSpecs: specs });
    const names: string[] = [];
    let offset = 0;
    for (let page = 0; page < 3; page++) {
      const r = await query({ containerClusterIds: ['paging'], cursor: { _typeName: 'CnsCursor', offset, limit: 2 } });
      expect(r.cursor).toMatchObject({ _typeName: 'CnsCursor', totalRecords: 5, limit: 2 });
      names.push(...r.volumes.map((v) => String(v.name)));
      offset = Number(r.cursor.offset);
    }
    expect(names).toEqual(['pg-0', 'pg-1', 'pg-2', 'pg-3', 'pg-4']);
    expect(offset).toBe(5);
    const selected = await cns.invoke('CnsQueryAllVolume', { filter: { _typeName: 'CnsQueryFilter', names: ['pg-3'] }, selection: { _typeName: 'CnsQuerySelection', names: ['VOLUME_NAME', 'HEALTH_STATUS'] } }, { offSpec: true });
    const [only] = selected.volumes as Json[];
    expect(Object.keys(only ?? {}).sort()).toEqual(['_typeName', 'healthStatus', 'name', 'volumeId']);
    expect(only).toMatchObject({ _typeName: 'CnsVolume', name: 'pg-3', healthStatus: 'green' });
    const { info, results } = await cns.run('CnsQueryAsync', { filter: { _typeName: 'CnsQueryFilter', containerClusterIds: ['paging'], cursor: { _typeName: 'CnsCursor', offset: 4, limit: 10 } } });
    expect(info.state).toBe('success');
    expect(results[0]?._typeName).toBe('CnsAsyncQueryResult');
    const qr = results[0]?.queryResult as { volumes: Json[]; cursor: Json };
    expect(qr.volumes.map((v) => v.name)).toEqual(['pg-4']);
    expect(qr.cursor).toMatchObject({ offset: 5, totalRecords: 5 });
    const badCursor = await fails(query({ cursor: { _typeName: 'CnsCursor', offset: -1, limit: 2 } }));
    expect(badCursor.typeName).toBe('InvalidArgument');
  });

  it('snapshots: create with results, a volume with snapshots cannot be deleted, deleteDisk false keeps the file', async () => {
    const id = await createOne('snappy', 8);
    const created = await cns.run('CnsCreateSnapshots', { snapshotSpecs: [{ _typeName: 'CnsSnapshotCreateSpec', volumeId: vid(id), description: 'nightly' }, { _typeName: 'CnsSnapshotCreateSpec', volumeId: vid('ghost'), description: 'x' }] });
    expect(created.results[0]).toMatchObject({ _typeName: 'CnsSnapshotCreateResult', snapshot: { _typeName: 'CnsSnapshot', volumeId: { id }, description: 'nightly' } });
    expect(faultOf(created.results[1])._typeName).toBe('CnsVolumeNotFoundFault');
    const snapId = String(((created.results[0]?.snapshot as Json).snapshotId as Json).id);

    const blocked = await cns.run('CnsDeleteVolume', { volumeIds: [vid(id)], deleteDisk: true });
    expect(blocked.info.state).toBe('error');
    expect(messageOf(faultOf(blocked.results[0]))).toContain(snapId);
    expect(existsSync(volumeFile('local', id))).toBe(true);

    const other = await createOne('other', 4);
    const wrong = await cns.run('CnsDeleteSnapshots', { snapshotDeleteSpecs: [snapDelete(other, snapId), snapDelete(id, 'no-snap')] });
    expect(faultOf(wrong.results[0])).toMatchObject({ _typeName: 'CnsSnapshotNotFoundFault', SnapshotId: { id: snapId } });
    expect(faultOf(wrong.results[1])._typeName).toBe('CnsSnapshotNotFoundFault');
    const deleted = await cns.run('CnsDeleteSnapshots', { snapshotDeleteSpecs: [{ _typeName: 'CnsSnapshotDeleteSpec', volumeId: vid(id), snapshotId: { _typeName: 'CnsSnapshotId', id: snapId } }] });
    expect(deleted.results[0]).toMatchObject({ _typeName: 'CnsSnapshotDeleteResult', snapshotId: { id: snapId } });

    const kept = await cns.run('CnsDeleteVolume', { volumeIds: [vid(id), vid(other)], deleteDisk: false });
    expect(kept.results.map((r) => r.fault)).toEqual([undefined, undefined]);
    expect(existsSync(volumeFile('local', id))).toBe(true);
    expect((await s.api('GET', `/api/v1/volumes/${id}`)).status).toBe(404);
    // Adopted again by its path (static provisioning), then removed with its disk.
    const adopted = await cns.run('CnsCreateVolume', { createSpecs: [{ _typeName: 'CnsVolumeCreateSpec', name: 'back', volumeType: 'BLOCK', datastores: [ds('local')], backingObjectDetails: { _typeName: 'CnsBlockBackingDetails', backingDiskUrlPath: `volumes/${id}.img` } }] });
    expect(adopted.results[0]?.fault).toBeUndefined();
    const again = await cns.run('CnsCreateVolume', { createSpecs: [{ _typeName: 'CnsVolumeCreateSpec', name: 'twice', volumeType: 'BLOCK', datastores: [ds('local')], backingObjectDetails: { _typeName: 'CnsBlockBackingDetails', backingDiskUrlPath: `volumes/${id}.img` } }] });
    expect(faultOf(again.results[0])).toMatchObject({ _typeName: 'CnsAlreadyRegisteredFault', volumeId: { id: adopted.results[0]?.volumeId.id } });
    const adoptedId = String(adopted.results[0]?.volumeId.id);
    const infoTask = await cns.run('CnsQueryVolumeInfo', { volumes: [vid(adoptedId)] }, { offSpec: true });
    expect(infoTask.results[0]).toMatchObject({ _typeName: 'CnsQueryVolumeInfoResult', volumeInfo: { _typeName: 'CnsBlockVolumeInfo', vStorageObject: { config: { capacityInMB: 8, backing: { filePath: `volumes/${id}.img` } } } } });
    const gone = await cns.run('CnsDeleteVolume', { volumeIds: [vid(adoptedId), vid('never-was')], deleteDisk: true });
    expect(gone.results[0]?.fault).toBeUndefined();
    expect(faultOf(gone.results[1])._typeName).toBe('CnsVolumeNotFoundFault');
    expect(existsSync(volumeFile('local', id))).toBe(false);
  });
});

describe('volumed cns (the CLI)', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ config: CONFIG });
  });
  afterAll(async () => {
    await s.stop();
  });
  const cli = (...args: string[]) => spawnSync(process.execPath, [MAIN, '--server', s.url, 'cns', ...args], { encoding: 'utf8', env: { ...process.env, VOLUMED_TOKEN: '' } });

  it('submits a batch from YAML with a progress bar and a per-item table, and queries from JSON', async () => {
    const yamlFile = path.join(s.dataDir, 'create.yaml');
    await fs.writeFile(
      yamlFile,
      `createSpecs:
  - name: cli-a
    volumeType: BLOCK
    datastores: [{ type: Datastore, value: local }]
    metadata: { containerCluster: { clusterType: KUBERNETES, clusterId: cli-k8s, vSphereUser: admin } }
    backingObjectDetails: { _typeName: CnsBlockBackingDetails, capacityInMb: 4 }
  - name: cli-b
    volumeType: BLOCK
    backingObjectDetails: { capacityInMb: 0 }
`,
    );
    const created = cli('create', yamlFile, '--progress');
    expect(created.status, created.stderr).toBe(1);
    expect(created.stderr).toMatch(/CnsCreateVolume \[.*\] 100% success/);
    const lines = created.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^#\s+VOLUME\s+RESULT\s+DETAIL/);
    expect(lines[1]).toMatch(/^0\s+\S{36}\s+ok\s+name=cli-a datastore=local$/);
    expect(lines[2]).toMatch(/^1\s+-\s+InvalidArgument\s+createSpecs\[1\]\.backingObjectDetails\.capacityInMb: must be a whole number of MB/);
    expect(lines.at(-1)).toMatch(/^task \S+ success: 1 ok, 1 failed$/);

    const queryFile = path.join(s.dataDir, 'query.json');
    await fs.writeFile(queryFile, JSON.stringify({ filter: { containerClusterIds: ['cli-k8s'] } }));
    const listed = cli('query', queryFile);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/cli-a\s+BLOCK\s+4\s+local\s+-\s+notApplicable\s+green/);
    expect(listed.stdout).toContain('1 of 1 (next offset 1)');
    const json = cli('query', queryFile, '--json');
    expect((JSON.parse(json.stdout) as { cursor: { totalRecords: number } }).cursor.totalRecords).toBe(1);

    const bad = cli('explode', queryFile);
    expect([bad.status, bad.stderr]).toEqual([1, expect.stringContaining('unknown CNS method explode')]);
  });
});

describe('CNS with ACLs on', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer({ config: CONFIG, args: ['--acl'] });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('logs in with a token secret as the password, and that token\'s policies decide each spec', async () => {
    const root = { authorization: `Bearer ${(await s.api<{ secretId: string }>('POST', '/api/v1/acl/bootstrap')).body.secretId}` };
    await s.api('POST', '/api/v1/acl/policies', { name: 'readers', rules: [{ namespace: 'default', capabilities: ['list-volume', 'read-volume'] }] }, root);
    const reader = (await s.api<{ secretId: string }>('POST', '/api/v1/acl/tokens', { name: 'r', policies: ['readers'] }, root)).body.secretId;

    const stranger = new CnsClient(s.url);
    expect((await fails(stranger.login('someone', 'not-a-token'))).typeName).toBe('InvalidLogin');
    const admin = new CnsClient(s.url);
    await admin.login('root', root.authorization.slice(7));
    const made = await admin.run('CnsCreateVolume', { createSpecs: [blockSpec('acl-1', 4)] });
    expect(made.results[0]?.fault).toBeUndefined();

    const ro = new CnsClient(s.url);
    await ro.login('reader', reader);
    expect(((await ro.invoke('CnsQueryVolume', { filter: { _typeName: 'CnsQueryFilter' } })).volumes as Json[]).map((v) => v.name)).toEqual(['acl-1']);
    const refused = await ro.run('CnsCreateVolume', { createSpecs: [blockSpec('acl-2', 4)] });
    expect(faultOf(refused.results[0])._typeName).toBe('NoPermission');
    const del = await ro.run('CnsDeleteVolume', { volumeIds: [made.results[0]?.volumeId], deleteDisk: true });
    expect(faultOf(del.results[0])._typeName).toBe('NoPermission');
  });
});
