// Committed changes and who waits for them. Every transaction's events reach
// the watchers whose filter they match (by key, by topic, or any), so a
// waiter wakes only for what it asked about: the work per commit grows with
// the changes and their interested waiters, not with everyone waiting.

import type { EventTopic, VolumedEvent } from '../domain/types.js';

/** One change a committed transaction made: its event, as watchers get it. */
export type CommittedChange = Omit<VolumedEvent, 'createdAt'>;

/** What a watcher wants: changes to these keys or in these topics; neither means every change. */
export interface ChangeFilter {
  readonly keys?: readonly string[];
  readonly topics?: readonly EventTopic[];
}

/** A subscription that buffers matching changes from the moment it is made. */
export interface Watcher {
  /** The next matching change, or undefined once `timeoutMs` passes or `signal` aborts. */
  next(timeoutMs: number, signal?: AbortSignal): Promise<CommittedChange | undefined>;
  close(): void;
}

class HubWatcher implements Watcher {
  private readonly buffer: CommittedChange[] = [];
  private wakeup: (() => void) | undefined;

  constructor(private readonly detach: (w: HubWatcher) => void) {}

  push(change: CommittedChange): void {
    this.buffer.push(change);
    this.wakeup?.();
  }

  async next(timeoutMs: number, signal?: AbortSignal): Promise<CommittedChange | undefined> {
    const ready = this.buffer.shift();
    if (ready || timeoutMs <= 0 || signal?.aborted) return ready;
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        this.wakeup = undefined;
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      signal?.addEventListener('abort', finish);
      this.wakeup = finish;
    });
    return this.buffer.shift();
  }

  close(): void {
    this.wakeup?.();
    this.detach(this);
  }
}

export class ChangeHub {
  private readonly byKey = new Map<string, Set<HubWatcher>>();
  private readonly byTopic = new Map<string, Set<HubWatcher>>();
  private readonly any = new Set<HubWatcher>();
  private readonly listeners = new Set<(changes: readonly CommittedChange[]) => void>();
  private count = 0;

  /** How many watchers are open (the store polls for other writers only while some are). */
  get watching(): number {
    return this.count;
  }

  watch(filter: ChangeFilter): Watcher {
    const sets: Set<HubWatcher>[] = [];
    let closed = false;
    const w = new HubWatcher(() => {
      if (closed) return;
      closed = true;
      for (const s of sets) s.delete(w);
      this.count--;
    });
    const add = (map: Map<string, Set<HubWatcher>>, k: string): void => {
      let s = map.get(k);
      if (!s) map.set(k, (s = new Set()));
      s.add(w);
      sets.push(s);
    };
    for (const k of filter.keys ?? []) add(this.byKey, k);
    for (const t of filter.topics ?? []) add(this.byTopic, t);
    if (!filter.keys?.length && !filter.topics?.length) {
      this.any.add(w);
      sets.push(this.any);
    }
    this.count++;
    return w;
  }

  get listening(): number {
    return this.listeners.size;
  }

  /** Every committed batch of changes (the task runner listens here). */
  listen(listener: (changes: readonly CommittedChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(changes: readonly CommittedChange[]): void {
    if (!changes.length) return;
    for (const change of changes) {
      const seen = new Set<HubWatcher>();
      const deliver = (set: Set<HubWatcher> | undefined): void => {
        for (const w of set ?? []) {
          if (seen.has(w)) continue;
          seen.add(w);
          w.push(change);
        }
      };
      deliver(this.byKey.get(change.key));
      deliver(this.byTopic.get(change.topic));
      deliver(this.any);
    }
    for (const l of this.listeners) l(changes);
    // Empty sets of keys nobody watches any more are dropped lazily here.
    if (this.byKey.size > 4 * this.count + 64) for (const [k, s] of this.byKey) if (!s.size) this.byKey.delete(k);
  }
}
