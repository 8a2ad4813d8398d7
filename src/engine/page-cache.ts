// List pages as they were at a commit index. Every commit takes a new index,
// so a page read at index N is still the answer while the latest index is N:
// pollers that ask for the same page again (dashboards, automation, the
// blocking queries of every surface) get it without a store read. A page is
// filed under the index read before it, so an entry is never older than its
// key says.

export class PageCache<T> {
  private readonly entries = new Map<string, { readonly index: number; readonly value: T }>();

  constructor(private readonly maxEntries: number) {}

  async get(key: string, index: number, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && hit.index === index) {
      // Most recently used last: Map keeps insertion order.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const value = await load();
    this.entries.delete(key);
    this.entries.set(key, { index, value });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    return value;
  }
}
