// Prometheus metrics: requests and latencies by route, tasks by state, volumes
// by status, pool capacity. Gauges are read from the store at scrape time.

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
  new Gauge({
    name: 'volumed_tasks',
    help: 'Tasks by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [state, n] of Object.entries(await volumed.store.countTasksByState())) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'volumed_volumes',
    help: 'Volumes by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [status, n] of Object.entries(await volumed.store.countVolumesByStatus())) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'volumed_pool_capacity_bytes',
    help: 'Pool capacity',
    labelNames: ['pool', 'kind'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const id of volumed.pools.ids()) {
        const pool = await volumed.pools.refresh(id);
        this.set({ pool: id, kind: 'total' }, pool.capacity.totalBytes);
        this.set({ pool: id, kind: 'free' }, pool.capacity.freeBytes);
        this.set({ pool: id, kind: 'provisioned' }, await volumed.store.provisionedBytes(id));
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
