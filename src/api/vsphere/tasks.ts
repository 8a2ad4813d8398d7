// TaskInfo of an engine task. A batch that a CNS method made answers its
// CnsVolumeOperationBatchResult: one result subtype per spec, in input
// order, each with its volume and, when it failed, its fault naming the spec.

import type { Task } from '../../domain/types.js';
import type { ItemError } from '../../engine/batches.js';
import { fault, itemFault } from './faults.js';
import type { SpecMethod } from './methods.js';
import { taskInfoView, volumeIdOf, type VimObject } from './views.js';

function batchResult(task: Task, def: SpecMethod): VimObject {
  const named = Array.isArray(task.params.volumeIds) ? (task.params.volumeIds as unknown[]) : [];
  const volumeResults = task.items.map((item, i) => {
    const { typeName, fields } = def.result(item);
    const id = item.resourceId || (typeof named[i] === 'string' ? named[i] : '');
    const path = def.whole ? def.specsKey : `${def.specsKey}[${item.index}]`;
    const failed = item.fault !== null && item.state === 'error';
    return {
      _typeName: typeName,
      volumeId: volumeIdOf(id),
      ...(failed ? { fault: itemFault(item.fault ?? 'failed', item.result?.error as ItemError | undefined, path, def.names) } : {}),
      ...fields,
    };
  });
  return { _typeName: 'CnsVolumeOperationBatchResult', volumeResults };
}

export function taskInfo(task: Task, methods: Readonly<Record<string, SpecMethod>>): VimObject {
  const method = typeof task.params.method === 'string' ? task.params.method : task.operation;
  const userName = typeof task.params.userName === 'string' ? task.params.userName : 'volumed';
  const def = Object.hasOwn(methods, method) ? methods[method] : undefined;
  const result = def ? batchResult(task, def) : undefined;
  const message = task.error ?? 'the task failed';
  // A whole-task error only when no spec could be scheduled (or a task of another surface failed).
  const error = task.state === 'error' ? fault('CnsFault', message, { reason: message }) : undefined;
  return taskInfoView(task, method, userName, { ...(result ? { result } : {}), ...(error ? { error } : {}) });
}
