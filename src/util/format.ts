// Human-readable numbers and small text tables for terminal and Markdown reports (JSON output keeps the raw values).
// A leaf module so that both the CLI and the report layer, which sits below it, can use them.

// 11689512 -> "11,689,512".
export function grouped(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

// 1814073344 -> "1.81 G" (SI prefixes, as MAC and FLOP counts are quoted in papers).
export function si(n: number, digits = 3): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [f, u] of units) if (Math.abs(n) >= f) return `${(n / f).toPrecision(digits)} ${u}`;
  return String(n);
}

// 46758048 -> "44.6 MiB".
export function bytes(n: number): string {
  const units: [number, string][] = [
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
    [2 ** 10, 'KiB'],
  ];
  for (const [f, u] of units) if (n >= f) return `${(n / f).toFixed(1)} ${u}`;
  return `${n} B`;
}

// Left-aligned columns separated by two spaces, for small tables.
export function table(rows: string[][], indent = '  '): string[] {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
  );
}
