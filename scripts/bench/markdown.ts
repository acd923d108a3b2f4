import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../src/util/fs.js';

// Replace (or append) one benchmark's section of BENCHMARKS.md between `<!-- bench:NAME -->` markers, so each
// `npm run bench…` rewrites only its own numbers.
export function replaceSection(path: string, name: string, heading: string, lines: string[]): void {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = [start, heading, '', ...lines, end].join('\n');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  const next = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileAtomic(path, next);
}
