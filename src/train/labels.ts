// One-hot float labels [N, C] for the loss subgraph; throws naming the label when out of range.
export function oneHot(y: Int32Array, n: number, classes: number): Float32Array {
  const out = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    const c = y[i]!;
    if (c < 0 || c >= classes) throw new RangeError(`label ${c} is outside the model's ${classes} classes`);
    out[i * classes + c] = 1;
  }
  return out;
}

// The targets of a batch: one-hot, or λ·onehot(y) + (1 - λ)·onehot(y2) for a mixed batch (Mixup / CutMix), so the
// CE term (linear in its target) is λ·CE(y) + (1 - λ)·CE(y2).
export function targets(
  y: Int32Array,
  n: number,
  classes: number,
  mix?: { y2: Int32Array; lam: number },
): Float32Array {
  const out = oneHot(y, n, classes);
  if (!mix) return out;
  const other = oneHot(mix.y2, n, classes);
  for (let i = 0; i < out.length; i++) out[i] = mix.lam * out[i]! + (1 - mix.lam) * other[i]!;
  return out;
}

// Count rows whose argmax equals the label.
export function countCorrect(logits: Float32Array, y: Int32Array, n: number, classes: number): number {
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c]! > logits[i * classes + best]!) best = c;
    if (best === y[i]) correct++;
  }
  return correct;
}
