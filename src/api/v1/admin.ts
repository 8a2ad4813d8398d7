// Operators' checks on a live server: the engine's invariants (every record
// in a status its tasks explain, usage that adds up, storage that matches the
// records), the same checker the crash campaign runs, kept to management.

import type { Volumed } from '../../app/open.js';
import type { App } from './context.js';

export function adminRoutes(app: App, volumed: Volumed): void {
  app.get('/admin/check', { config: { access: { need: 'management' } }, schema: { tags: ['admin'], summary: "Check the engine's invariants against the store and the pools (management only)" } }, async () => {
    const startedAt = new Date().toISOString();
    const violations = await volumed.engine.checkInvariants();
    return { ok: violations.length === 0, checkedAt: startedAt, violations };
  });
}
