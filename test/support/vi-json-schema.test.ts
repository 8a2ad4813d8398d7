// The VI/JSON schema check itself: it must refuse what vSphere's document
// refuses, or the CNS tests that lean on it prove nothing.

import { describe, expect, it } from 'vitest';
import { requestErrors, responseErrors } from './vi-json-schema.js';

const TASK = '/Task/task-1/info';
const fault = { _typeName: 'CnsFault', reason: 'no room', faultMessage: [{ _typeName: 'LocalizableMessage', key: 'k', message: 'no room' }] };
const taskInfo = (result: unknown): Record<string, unknown> => ({
  _typeName: 'TaskInfo',
  key: 'task-1',
  task: { _typeName: 'ManagedObjectReference', type: 'Task', value: 'task-1' },
  descriptionId: 'com.vmware.cns.tasks.createvolume',
  state: 'success',
  cancelled: false,
  cancelable: false,
  reason: { _typeName: 'TaskReasonUser', userName: 'admin' },
  queueTime: '2026-12-08T00:00:00.000Z',
  eventChainId: 1,
  result,
});
const batch = (item: unknown) => taskInfo({ _typeName: 'CnsVolumeOperationBatchResult', volumeResults: [item] });

describe('VI/JSON schema check', () => {
  it('accepts a batch result whose fault is a MethodFault subtype', () => {
    expect(responseErrors('GET', TASK, 200, batch({ _typeName: 'CnsVolumeCreateResult', volumeId: { _typeName: 'CnsVolumeId', id: 'v' }, name: 'a', fault }))).toEqual([]);
  });

  it('refuses the SOAP LocalizedMethodFault wrapper where VI/JSON has a MethodFault', () => {
    const wrapped = { _typeName: 'LocalizedMethodFault', fault, localizedMessage: 'no room' };
    expect(responseErrors('GET', TASK, 200, batch({ _typeName: 'CnsVolumeOperationResult', fault: wrapped })).join('\n')).toContain('LocalizedMethodFault is not MethodFault nor one of its subtypes');
  });

  it('refuses a missing required field, an unknown field, a bad enum and a wrong JSON type', () => {
    const { queueTime: _dropped, ...noQueueTime } = taskInfo(null);
    expect(responseErrors('GET', TASK, 200, noQueueTime).join('\n')).toContain('queueTime: is required (TaskInfo)');
    expect(responseErrors('GET', TASK, 200, { ...taskInfo(undefined), colour: 'red' }).join('\n')).toContain('colour: TaskInfo has no such field');
    expect(responseErrors('GET', TASK, 200, { ...taskInfo(undefined), state: 'done' }).join('\n')).toContain('"done" is not one of queued, running, success, error');
    expect(responseErrors('GET', TASK, 200, { ...taskInfo(undefined), progress: '50' }).join('\n')).toContain('progress: must be an integer');
  });

  it('dispatches on _typeName through the hierarchy, and refuses an unknown type', () => {
    const spec = (details: unknown) => ({ createSpecs: [{ _typeName: 'CnsVolumeCreateSpec', name: 'a', volumeType: 'BLOCK', backingObjectDetails: details }] });
    expect(requestErrors('POST', '/vsan/CnsVolumeManager/cns-volume-manager/CnsCreateVolume', spec({ _typeName: 'CnsBlockBackingDetails', capacityInMb: 4 }))).toEqual([]);
    expect(requestErrors('POST', '/vsan/CnsVolumeManager/cns-volume-manager/CnsCreateVolume', spec({ _typeName: 'CnsBlockBackingDetails', capacityInMb: 4, ips: 'x' })).join('\n')).toContain('ips: CnsBlockBackingDetails has no such field');
    expect(requestErrors('POST', '/vsan/CnsVolumeManager/cns-volume-manager/CnsCreateVolume', spec({ _typeName: 'TapeBackingDetails' })).join('\n')).toContain('TapeBackingDetails is no type of the spec');
    expect(requestErrors('POST', '/vsan/CnsVolumeManager/cns-volume-manager/CnsCreateVolume', spec({ _typeName: 'CnsVolumeId', id: 'x' })).join('\n')).toContain('CnsVolumeId is not CnsBackingObjectDetails nor one of its subtypes');
  });

  it('lets any method fail with a RuntimeFault at 500, and refuses statuses the document does not give', () => {
    const notAuthenticated = { _typeName: 'NotAuthenticated', faultMessage: [], privilegeId: 'System.View', object: { _typeName: 'ManagedObjectReference', type: 'SessionManager', value: 'SessionManager' } };
    expect(responseErrors('GET', TASK, 500, notAuthenticated)).toEqual([]);
    expect(responseErrors('GET', TASK, 404, notAuthenticated).join('\n')).toContain('answered 404');
    expect(requestErrors('POST', '/vsan/CnsVolumeManager/cns-volume-manager/CnsFormatVolume', {}).join('\n')).toContain('no such operation');
  });
});
