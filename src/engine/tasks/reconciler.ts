// After a crash: every task that was running is resumed (its handler is
// idempotent and checkpointed) or, when it has used its attempts, failed with
// its failure status. Then no volume or snapshot may remain in a working
// status without a live task, and storage objects without a record are
// reported as orphans (never deleted: they may be someone's data).

import { strandedOutcome, WORKING_SNAPSHOT_STATUSES, WORKING_VOLUME_STATUSES } from '../../domain/states.js';
import type { Task } from '../../domain/types.js';
import type { Store } from '../../store/store.js';
import type { PoolRegistry } from '../pools.js';
import type { TaskRunner } from './runner.js';

export interface Orphan {
  readonly poolId: string;
  readonly externalId: string;
  readonly sizeBytes: number;
}

export interface RecoveryReport {
  readonly resumed: readonly string[];
  readonly failed: readonly string[];
  readonly rolledBack: readonly string[];
}

export class Reconciler {
  constructor(
    private readonly store: Store,
    private readonly pools: PoolRegistry,
    private readonly runner: TaskRunner,
  ) {}

  /** Tasks whose runner is gone: all running ones when this process owns the store, else those with lapsed leases. */
  private async abandonedTasks(takeOverAll: boolean): Promise<Task[]> {
    const now = Date.now();
    return (await this.store.listRunningTasks()).filter(
      (t) => (takeOverAll && t.leaseOwner !== this.runner.owner) || (t.leaseExpiresAt !== null && Date.parse(t.leaseExpiresAt) < now),
    );
  }

  async recoverTasks(takeOverAll: boolean): Promise<{ resumed: string[]; failed: string[] }> {
    const abandoned = await this.abandonedTasks(takeOverAll);
    const failed = abandoned.filter((t) => t.attempts >= this.runner.maxInterruptions);
    const resumed = abandoned.filter((t) => t.attempts < this.runner.maxInterruptions);
    // All at once: each is its own transaction, and they commit together instead of one commit each.
    await Promise.all([
      ...failed.map((task) => this.runner.finishWithError(task, `interrupted ${task.attempts} times; giving up`)),
      ...resumed.map((task) =>
        this.store.transact((tx) =>
          tx.updateTask(task.id, { state: 'queued', leaseOwner: null, leaseExpiresAt: null, error: 'interrupted; resumed', notBefore: new Date().toISOString() }, ['running']),
        ),
      ),
    ]);
    return { resumed: resumed.map((t) => t.id), failed: failed.map((t) => t.id) };
  }

  /** Rolls records in a working status with no live task to their failure status. */
  async rollBackStranded(): Promise<string[]> {
    const rolled: string[] = [];
    // Only the records no queued or running task works on: one query a page, however much work is queued.
    let after: string | null = null;
    for (;;) {
      const page = await this.store.listVolumesWithoutTask(WORKING_VOLUME_STATUSES, after, 500);
      if (page.length === 0) break;
      after = page.at(-1)?.id ?? null;
      for (const v of page) {
        if (v.status === 'extending' && v.extendAwaiting) continue;
        const to = strandedOutcome(v.status, { previous: v.previousStatus, attachmentsLeft: (await this.store.listAttachments(v.id)).filter((a) => a.status === 'attached').length });
        if (!to) continue;
        await this.store.transact(async (tx) => {
          const current = await tx.getVolume(v.id);
          if (current?.status !== v.status) return;
          await tx.updateVolume(v.id, { status: to, lastError: `no task was working on this ${v.status} volume (interrupted); set to ${to}` });
        });
        rolled.push(v.id);
      }
    }
    // Attachments half-made or half-removed with no task on their volume.
    for (const a of await this.store.listStrandedAttachments()) {
      if (await this.store.activeTaskFor(a.volumeId)) continue;
      await this.store.transact(async (tx) => {
        const current = await tx.getAttachment(a.id);
        if (!current || (current.status !== 'attaching' && current.status !== 'detaching')) return;
        // An attach never confirmed is dropped; a detach never finished leaves the attachment as it was.
        if (current.status === 'attaching' && !current.connectionInfo) await tx.deleteAttachment(a.id);
        else await tx.updateAttachment(a.id, { status: 'attached' }, [current.status]);
      });
      rolled.push(a.id);
    }
    let afterSnapshot: string | null = null;
    for (;;) {
      const page = await this.store.listSnapshotsWithoutTask(WORKING_SNAPSHOT_STATUSES, afterSnapshot, 500);
      if (page.length === 0) break;
      afterSnapshot = page.at(-1)?.id ?? null;
      for (const s of page) {
        const to = s.status === 'creating' ? 'error' : s.status === 'deleting' ? 'error_deleting' : s.status === 'managing' ? 'error_managing' : 'available';
        await this.store.transact((tx) => tx.updateSnapshot(s.id, { status: to, lastError: `interrupted while ${s.status}` }, { status: [s.status] }));
        rolled.push(s.id);
      }
    }
    return rolled;
  }

  /** Objects a pool holds that no volume record knows. */
  async findOrphans(): Promise<Orphan[]> {
    const orphans: Orphan[] = [];
    for (const poolId of this.pools.ids()) {
      const driver = this.pools.driver(poolId);
      if (!driver.capabilities().listVolumes) continue;
      let token: string | undefined;
      do {
        const page = await driver.listVolumes(token, 500);
        const known = await this.store.findVolumesByExternalId(poolId, page.items.map((i) => i.externalId));
        for (const item of page.items) {
          if (!known.has(item.externalId)) orphans.push({ poolId, externalId: item.externalId, sizeBytes: item.sizeBytes });
        }
        token = page.nextToken ?? undefined;
      } while (token);
    }
    return orphans;
  }

  /** Run before the runner starts: resumes or fails abandoned tasks, then rolls back stranded records. */
  async recover(): Promise<RecoveryReport> {
    const { resumed, failed } = await this.recoverTasks(this.store.exclusive);
    const rolledBack = await this.rollBackStranded();
    return { resumed, failed, rolledBack };
  }

  /** Run once resumed work has ended (an object a resumed create is making has no externalId yet). */
  async reportOrphans(): Promise<Orphan[]> {
    const orphans = await this.findOrphans();
    if (orphans.length) await this.store.transact((tx) => tx.emit('pool', 'orphans', 'reconcile', null, { orphans }));
    return orphans;
  }
}
