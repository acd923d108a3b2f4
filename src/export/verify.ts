import type { DType } from '../ir/dtype.js';
import { openRunner, type Engine, type InferenceRunner } from '../runtime/inference.js';
import { UserError } from '../util/errors.js';

// How far one model's logits are from another's on the same images.
export interface Agreement {
  // max |Δlogit| over every image and class.
  maxAbsDelta: number;
  // maxAbsDelta over the largest |logit| of the reference: the scale-free number tolerances apply to.
  maxRelDelta: number;
  // Share of images whose top-1 class is the same.
  top1Agreement: number;
}

// What verification measured: each engine against the fp32 model, the engines against each other, and accuracy.
export interface Verification {
  images: number;
  // The device onnxruntime-node ran the candidate on (cpu unless --device said otherwise).
  nodeDevice: string;
  node: Agreement;
  web: Agreement;
  nodeVsWeb: Agreement;
  top1: { fp32: number; node: number; web: number };
  passed: boolean;
  failures: string[];
}

// Pass criteria: logits within `tolerance` (relative), or, when `minAgreement` is set (int8), top-1 agreement.
export interface VerifyCriteria {
  tolerance?: number;
  minAgreement?: number;
}

// An export that failed verification: a user error (exit 2), since nothing was written and options can change it.
export class VerificationError extends UserError {}

class Compare {
  private maxAbs = 0;
  private maxRef = 0;
  private same = 0;
  n = 0;

  add(ref: Float32Array, got: Float32Array, classes: number): void {
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(ref[i]! - got[i]!);
      this.maxAbs = Number.isNaN(d) ? Infinity : Math.max(this.maxAbs, d);
      this.maxRef = Math.max(this.maxRef, Math.abs(ref[i]!));
    }
    for (let r = 0; r * classes < ref.length; r++) {
      if (argmax(ref, r, classes) === argmax(got, r, classes)) this.same++;
      this.n++;
    }
  }

  result(): Agreement {
    return {
      maxAbsDelta: this.maxAbs,
      maxRelDelta: this.maxAbs / (this.maxRef || 1),
      top1Agreement: this.same / (this.n || 1),
    };
  }
}

// Index of the largest of row r.
export function argmax(a: Float32Array, r: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (a[r * k + j]! > a[r * k + best]!) best = j;
  return best;
}

// Labelled images to verify on.
export type VerifyImages = () => AsyncIterable<{ x: Float32Array; y: Int32Array; dims: number[]; n: number }>;

// Run the fp32 reference (onnxruntime-node) and the candidate in onnxruntime-node and onnxruntime-web (wasm) on the
// same images, and judge the candidate by `criteria`. Never throws for a failed check: `passed` and `failures` say.
export async function verifyExport(
  reference: Uint8Array,
  candidate: Uint8Array,
  images: VerifyImages,
  o: VerifyCriteria & { inputType?: DType; threads?: number; device?: string; progress?: (done: number) => void },
): Promise<Verification> {
  const open = (e: Engine, b: Uint8Array, t?: DType, device?: string) =>
    openRunner(e, b, {
      ...(o.threads ? { threads: o.threads } : {}),
      ...(t ? { inputType: t } : {}),
      ...(device ? { device } : {}),
    });
  const runners: InferenceRunner[] = [];
  try {
    const ref = await open('node', reference);
    runners.push(ref);
    const node = await open('node', candidate, o.inputType, o.device);
    runners.push(node);
    const web = await open('web', candidate, o.inputType);
    runners.push(web);
    const cmp = { node: new Compare(), web: new Compare(), nodeVsWeb: new Compare() };
    const correct = { fp32: 0, node: 0, web: 0 };
    let seen = 0;
    for await (const b of images()) {
      const [r, a, w] = await Promise.all(
        [ref, node, web].map(async (s) => (await s.run(b.x, b.dims))[s.outputNames[0]!]!),
      );
      const k = r!.dims[1]!;
      cmp.node.add(r!.data, a!.data, k);
      cmp.web.add(r!.data, w!.data, k);
      cmp.nodeVsWeb.add(a!.data, w!.data, k);
      for (let i = 0; i < b.n; i++) {
        const label = b.y[i]!;
        if (argmax(r!.data, i, k) === label) correct.fp32++;
        if (argmax(a!.data, i, k) === label) correct.node++;
        if (argmax(w!.data, i, k) === label) correct.web++;
      }
      seen += b.n;
      o.progress?.(seen);
    }
    const res = { node: cmp.node.result(), web: cmp.web.result(), nodeVsWeb: cmp.nodeVsWeb.result() };
    const failures = judge(res, o, node.device);
    const acc = (c: number) => c / (seen || 1);
    return {
      images: seen,
      nodeDevice: node.device,
      ...res,
      top1: { fp32: acc(correct.fp32), node: acc(correct.node), web: acc(correct.web) },
      passed: failures.length === 0,
      failures,
    };
  } finally {
    for (const r of runners) await r.close();
  }
}

function judge(res: Record<'node' | 'web' | 'nodeVsWeb', Agreement>, c: VerifyCriteria, device: string): string[] {
  const out: string[] = [];
  const node = device === 'cpu' ? 'onnxruntime-node' : `onnxruntime-node (${device})`;
  const label = {
    node: `${node} vs fp32`,
    web: 'onnxruntime-web (wasm) vs fp32',
    nodeVsWeb: `${node} vs onnxruntime-web`,
  } as const;
  for (const k of ['node', 'web', 'nodeVsWeb'] as const) {
    const a = res[k];
    if (!Number.isFinite(a.maxAbsDelta)) out.push(`${label[k]}: logits are not finite (NaN or Infinity)`);
    else if (c.minAgreement !== undefined && a.top1Agreement < c.minAgreement) {
      out.push(
        `${label[k]}: top-1 agreement ${(a.top1Agreement * 100).toFixed(2)}% is below ${(c.minAgreement * 100).toFixed(2)}%`,
      );
    } else if (c.tolerance !== undefined && a.maxRelDelta > c.tolerance) {
      out.push(
        `${label[k]}: max |Δlogit| ${a.maxAbsDelta.toExponential(3)} is ${a.maxRelDelta.toExponential(2)} of the largest logit, above the tolerance ${c.tolerance}`,
      );
    }
  }
  return out;
}
