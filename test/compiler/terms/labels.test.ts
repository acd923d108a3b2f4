// needsLabels is the truth about each term: a term reads the labels input exactly when it declares so (unlabeled data
// leaves such terms out, and pseudo-labels feed them; an undeclared reader would get no labels there).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { TERMS } from '../../../src/compiler/terms/index.js';
import { buildTermGraph } from './harness.js';

interface Case {
  term: string;
  options: Record<string, number>;
  inputs: Record<string, { shape: number[] }>;
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/loss_terms.json', import.meta.url), 'utf8')) as {
  cases: Case[];
};

// Terms without a PyTorch case: [N, C] logits and [N, D] embeddings/codes for every slot.
const FLAT = ['ce', 'gkd', 'kdavg'];

for (const term of TERMS.values()) {
  test(`${term.name}: reads the labels exactly when it declares needsLabels (${term.needsLabels ? 'yes' : 'no'})`, () => {
    // A term with per-batch host inputs (CRD) reads labels only on the host, to draw negatives, and falls back to any
    // other sample without them: it must not declare needsLabels (it runs on unlabeled data).
    if (term.batchInputs) return assert.equal(!!term.needsLabels, false);
    const c = fixture.cases.find((x) => x.term === term.name);
    assert.ok(
      c || FLAT.includes(term.name),
      `no case of term '${term.name}' in test/fixtures/loss_terms.json to build it from`,
    );
    const shapes = c
      ? Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, t.shape]))
      : Object.fromEntries(term.slots.map((s) => [s.name, [4, 5]]));
    const built = buildTermGraph({ term, options: c?.options ?? {}, shapes });
    const labels = built.graph.inputs.find((v) => v.name === 'labels')!;
    assert.equal(labels.uses.length > 0, !!term.needsLabels);
  });
}
