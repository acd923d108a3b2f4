#!/usr/bin/env node
// Checks the layer order of src/ (the table in .dependency-cruiser.cjs) with dependency-cruiser and prints each
// violation as file:line, the import, the rule and why, so a new upward import or cycle fails `npm test` readably.
// Usage: node scripts/check-layers.mjs [project-root]   (default: this repository; tests pass a temp copy)
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { cruise } from 'dependency-cruiser';
import extractDepcruiseConfig from 'dependency-cruiser/config-utl/extract-depcruise-config';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const root = resolve(process.argv[2] ?? new URL('..', import.meta.url).pathname);
process.chdir(root);
const config = await extractDepcruiseConfig('./.dependency-cruiser.cjs');
const tsConfig = extractTSConfig('tsconfig.json');
const { output } = await cruise(['src'], { ...config.options, validate: true, ruleSet: config }, undefined, {
  tsConfig,
});

// The line of the import statement that names `specifier` in `file` (dependency-cruiser reports files, not lines).
function importLine(file, specifier) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(`'${specifier}'`) || l.includes(`"${specifier}"`));
  return i + 1;
}

const specifiers = new Map();
for (const m of output.modules) for (const d of m.dependencies) specifiers.set(`${m.source}\0${d.resolved}`, d.module);
const rules = new Map(config.forbidden.map((r) => [r.name, r.comment]));

const violations = output.summary.violations.filter((v) => v.rule.severity === 'error');
for (const v of violations) {
  const pairs = v.cycle ? [v.from, ...v.cycle.map((c) => c.name ?? c)] : [v.from, v.to];
  const spec = specifiers.get(`${pairs[0]}\0${pairs[1]}`) ?? pairs[1];
  console.error(`${pairs[0]}:${importLine(pairs[0], spec)}: import '${spec}' breaks ${v.rule.name}`);
  if (v.cycle) console.error(`  cycle: ${pairs.join(' -> ')}`);
  console.error(`  ${rules.get(v.rule.name) ?? ''}`);
}
if (violations.length > 0) {
  console.error(`check:layers: ${violations.length} import(s) against the layer order (.dependency-cruiser.cjs)`);
  process.exit(1);
}
console.log(`check:layers: ${output.summary.totalCruised} files of src/, no import against the layer order, no cycle`);
