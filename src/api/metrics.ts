// Prometheus metrics: requests and latencies by route, tasks by state, volumes
// by status, pool capacity. Gauges are read through the engine at scrape time.

import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Volumed } from '../app/open.js';

export function installMetrics(app: FastifyInstance, volumed: Volumed): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'volumed_process_' });
  const requests = new Counter({ name: 'volumed_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'volumed_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // One read of the engine's counts per scrape, shared by the gauges below. A
  // scrape reads; it never refreshes pools or writes anything.
  let scrape: ReturnType<Volumed['engine']['stats']> | undefined;
  const stats = (): ReturnType<Volumed['engine']['stats']> => (scrape ??= volumed.engine.stats().finally(() => setImmediate(() => (scrape = undefined))));
  new Gauge({
    name: 'volumed_tasks',
    help: 'Tasks by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [state, n] of Object.entries((await stats()).tasksByState)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'volumed_volumes',
    help: 'Volumes by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [status, n] of Object.entries((await stats()).volumesByStatus)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'volumed_pool_capacity_bytes',
    help: 'Pool capacity (as last measured by the pool refresh) and bytes provisioned',
    labelNames: ['pool', 'kind'],
    registers: [registry],
    async collect() {
      this.reset();
      const { provisionedBytes } = await stats();
      for (const pool of await volumed.engine.listPools()) {
        this.set({ pool: pool.id, kind: 'total' }, pool.capacity.totalBytes);
        this.set({ pool: pool.id, kind: 'free' }, pool.capacity.freeBytes);
        this.set({ pool: pool.id, kind: 'provisioned' }, provisionedBytes[pool.id] ?? 0);
      }
    },
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.get('/metrics', { config: { access: { public: true } } }, async (_req, reply) => {
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });
}
