import { describe, expect, it } from 'vitest';
import { ChangeHub, type CommittedChange } from './changes.js';

const change = (key: string, topic: CommittedChange['topic'] = 'volume'): CommittedChange => ({ index: 1, topic, type: 'updated', key, namespace: 'default', payload: { id: key } });

describe('ChangeHub', () => {
  it('wakes a watcher for its key or topic only', async () => {
    const hub = new ChangeHub();
    const byKey = hub.watch({ keys: ['a'] });
    const byTopic = hub.watch({ topics: ['snapshot'] });
    hub.publish([change('b'), change('a')]);
    expect((await byKey.next(10))?.key).toBe('a');
    expect(await byTopic.next(10)).toBeUndefined();
    hub.publish([change('s1', 'snapshot')]);
    expect((await byTopic.next(10))?.key).toBe('s1');
    byKey.close();
    byTopic.close();
    expect(hub.watching).toBe(0);
  });

  it('counts a watcher closed twice once (the store stops polling only when nobody watches)', () => {
    const hub = new ChangeHub();
    const first = hub.watch({ keys: ['a'] });
    const second = hub.watch({ keys: ['b'] });
    first.close();
    first.close();
    expect(hub.watching).toBe(1);
    second.close();
    expect(hub.watching).toBe(0);
  });
});
