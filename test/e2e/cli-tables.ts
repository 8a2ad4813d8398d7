// Reading the tables the OpenStack CLIs print (prettytable), as a user reads them.

/** `| key | value |` lines of a `show` table; a dict value goes on over lines with an empty key. */
export function props(out: string): Record<string, string> {
  const result: Record<string, string> = {};
  let last = '';
  for (const line of out.split('\n')) {
    const m = /^\|\s*([^|]*?)\s*\|\s*(.*?)\s*\|$/.exec(line);
    if (!m) continue;
    const [, key = '', value = ''] = m;
    if (key === '' && last) result[last] += `\n${value}`;
    else if (key !== 'Property') result[(last = key)] = value;
  }
  return result;
}

/** The rows of a list table, keyed by its header. */
export function rows(out: string): Record<string, string>[] {
  const lines = out.split('\n').filter((l) => l.startsWith('|'));
  const cells = (l: string): string[] => l.slice(1, -1).split('|').map((c) => c.trim());
  const [header, ...body] = lines;
  if (!header) return [];
  const keys = cells(header);
  return body.map((l) => Object.fromEntries(cells(l).map((c, i) => [keys[i] ?? String(i), c])));
}
