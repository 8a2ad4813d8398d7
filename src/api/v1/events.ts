// GET /api/v1/events: a server-sent event stream of the event log, from a
// given index on (`?index=N`), optionally limited to topics.

import type { Volumed } from '../../app/open.js';
import { allows } from '../../domain/acl.js';
import type { EventTopic } from '../../domain/types.js';
import { clientGone } from '../blocking.js';
import type { App } from './context.js';
import { EventsQuery } from './schemas.js';

const HEARTBEAT_MS = 15_000;
const BATCH = 500;

export function eventRoutes(app: App, volumed: Volumed): void {
  const { engine } = volumed;

  app.get('/events', { config: { access: { need: 'list-volume' } }, schema: { tags: ['events'], summary: 'Server-sent events from index N on', querystring: EventsQuery } }, async (req, reply) => {
    const topics = req.query.topic as EventTopic[] | undefined;
    let after = req.query.index ?? (await engine.latestIndex());
    const gone = clientGone(req);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-volumed-index': String(after) });
    res.write(': volumed event stream\n\n');
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    try {
      while (!gone.aborted) {
        // Read the index first: anything committed after it wakes the wait below.
        const seen = await engine.latestIndex();
        const events = await engine.listEvents(after, BATCH, topics);
        for (const e of events) {
          // Only what the caller may read: namespaced events by namespace, ACL events to management.
          if (e.topic === 'acl' ? !req.identity.management : e.namespace !== null && !allows(req.identity, 'read-volume', e.namespace)) continue;
          res.write(`id: ${e.index}\nevent: ${e.topic}.${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
        }
        const last = events.at(-1);
        if (last) after = last.index;
        if (events.length === BATCH) continue;
        await engine.waitForChange(seen, topics?.length ? { topics } : {}, HEARTBEAT_MS, gone);
      }
    } catch (err) {
      req.log.warn({ err }, 'event stream ended');
    } finally {
      clearInterval(heartbeat);
      res.end();
    }
  });
}
