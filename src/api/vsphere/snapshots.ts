// CnsCreateSnapshots and CnsDeleteSnapshots. CNS snapshots attached volumes
// as a matter of course (the snapshot is crash-consistent), so creates pass
// force. A volume with snapshots is in use: deleting it is refused, naming them.

import { NotFoundError, UnsupportedError } from '../../domain/errors.js';
import { mayAct, namedVolume, type SpecMethod } from './methods.js';
import { SnapshotCreateSpec, SnapshotDeleteSpec, specChecker } from './schemas.js';
import { snapshotIdOf, snapshotView } from './views.js';

const checkCreate = specChecker(SnapshotCreateSpec);
const checkDelete = specChecker(SnapshotDeleteSpec);

const createSnapshots: SpecMethod = {
  specsKey: 'snapshotSpecs',
  volumeIdOf: namedVolume,
  names: { name: 'description' },
  async run(call, raw) {
    const spec = checkCreate(raw);
    if (spec.snapshotId) throw new UnsupportedError('volumed chooses snapshot ids; leave snapshotId unset');
    await mayAct(call, 'write-volume', spec.volumeId.id);
    const description = spec.description ?? '';
    const { resource, task } = await call.volumed.engine.createSnapshot(spec.volumeId.id, { name: description || `snapshot of ${spec.volumeId.id}`, description, force: true });
    return { resourceId: resource.volumeId, task, result: { snapshot: { id: resource.id, volumeId: resource.volumeId, description: resource.description, createdAt: resource.createdAt } } };
  },
  result: (item) => {
    const s = item.result?.snapshot as { id: string; volumeId: string; description: string; createdAt: string } | undefined;
    return { typeName: 'CnsSnapshotCreateResult', fields: s && item.fault === null ? { snapshot: snapshotView(s) } : {} };
  },
};

const deleteSnapshots: SpecMethod = {
  specsKey: 'snapshotDeleteSpecs',
  volumeIdOf: namedVolume,
  names: {},
  async run(call, raw) {
    const spec = checkDelete(raw);
    const id = spec.snapshotId.id;
    await mayAct(call, 'write-volume', spec.volumeId.id);
    const snapshot = await call.volumed.engine.getSnapshot(id);
    // A snapshot of another volume is not this volume's snapshot.
    if (snapshot.volumeId !== spec.volumeId.id) throw new NotFoundError('snapshot', id);
    const { task } = await call.volumed.engine.deleteSnapshot(id);
    return { resourceId: spec.volumeId.id, task, result: { snapshotId: id } };
  },
  result: (item) => ({ typeName: 'CnsSnapshotDeleteResult', fields: typeof item.result?.snapshotId === 'string' ? { snapshotId: snapshotIdOf(item.result.snapshotId) } : {} }),
};

export const snapshotMethods = {
  CnsCreateSnapshots: createSnapshots,
  CnsDeleteSnapshots: deleteSnapshots,
} as const;
