// Which methods a path has, so that a wrong method on a known path is
// answered 405 with `Allow` (as HTTP asks) instead of a 404 "no route".

import type { FastifyInstance } from 'fastify';

export class RouteMethods {
  private readonly routes: { readonly pattern: RegExp; readonly methods: readonly string[] }[] = [];

  /** Records every route registered from now on, in this instance and the ones inside it. */
  watch(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      const methods = (Array.isArray(route.method) ? route.method : [route.method]).map(String);
      const source = route.url
        .split('/')
        .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/');
      this.routes.push({ pattern: new RegExp(`^${source}/?$`), methods });
    });
  }

  /** The methods some route serves at this path (its query string ignored), sorted; empty when none. */
  allowed(url: string): string[] {
    const path = url.split('?')[0] ?? '';
    const methods = new Set<string>();
    for (const r of this.routes) if (r.pattern.test(path)) for (const m of r.methods) methods.add(m);
    return [...methods].sort();
  }
}
