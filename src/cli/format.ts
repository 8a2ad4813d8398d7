// Human sizes in and out, and plain tables for the terminal.

const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  k: 1000,
  kb: 1000,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  t: 1000 ** 4,
  tb: 1000 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** "10GiB", "512 MiB", "1.5G", "4096" (bytes) → bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = UNITS[(m?.[2] ?? '').toLowerCase() || 'b'];
  if (!m || unit === undefined) throw new Error(`not a size: ${JSON.stringify(text)} (try 10GiB, 512MiB or a number of bytes)`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (bytes > Number.MAX_SAFE_INTEGER) throw new Error(`size ${JSON.stringify(text)} is too large: at most ${Number.MAX_SAFE_INTEGER} bytes (${formatSize(Number.MAX_SAFE_INTEGER)})`);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`not a positive size: ${JSON.stringify(text)}`);
  return bytes;
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  const text = i === 0 ? String(value) : value >= 100 || Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1);
  return `${text} ${units[i] ?? 'B'}`;
}

/**
 * Text fit for a terminal: control characters (a newline, ESC, NUL) and the
 * bidi overrides are shown escaped, never sent raw, so a value cannot break
 * a table's lines, colour the terminal or reorder what it shows.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu, (ch) => {
    const code = ch.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

export function table(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  const text = (v: unknown): string => {
    if (v === null || v === undefined) return '-';
    if (typeof v === 'string') return printable(v);
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return JSON.stringify(v);
  };
  const cells = rows.map((r) => columns.map((c) => text(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (values: readonly string[]): string => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}
