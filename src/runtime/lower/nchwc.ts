// CPU lowering: Convs whose weight is a graph input (a training step's parameters and their flipped copies in the
// backward) run as onnxruntime's blocked-layout `com.microsoft.nchwc` Conv. onnxruntime only rewrites Convs with
// constant weights to it itself, and its plain Conv path (im2col + GEMM) is 1.3-1.6x slower on these shapes.
// The weight is reordered to the blocked OIHWBiBo layout inside the graph (a Reshape and Transpose of a tensor
// with a few thousand elements); activations are reordered in and out around each Conv (onnxruntime's own pass
// then drops ReorderOutput -> ReorderInput pairs between two blocked Convs). Same arithmetic: a test checks the step.
import * as ort from 'onnxruntime-node';
import { Builder } from '../../ir/builder.js';
import { Graph, type Node, type Value } from '../../ir/graph.js';
import { Model, parseModel, serializeModel } from '../../ir/model.js';
import { inferShapes } from '../../ir/passes/shapes.js';
import { topoSort } from '../../ir/passes/toposort.js';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

// Whether one Conv can take the blocked path with block size `block`: 2-D with static shapes (a symbolic batch is
// left alone), one group, explicit pads, a weight that onnxruntime will not reorder itself (not constant), and channel
// counts that are whole blocks.
function lowerable(g: Graph, n: Node, block: number): boolean {
  if (n.opType !== 'Conv' || n.domain !== '') return false;
  const w = n.inputs[1];
  const x = n.inputs[0];
  const fixed = (v: Value | undefined) =>
    !!v?.type?.shape && v.type.shape.length === 4 && v.type.shape.every((d) => typeof d === 'number');
  if (!fixed(x) || !fixed(w) || !fixed(n.outputs[0]) || w!.constant) return false;
  const autoPad = n.hasAttr('auto_pad') ? n.attrString('auto_pad') : 'NOTSET';
  if (autoPad !== 'NOTSET' || n.attrInt('group', 1) !== 1) return false;
  const [o, c] = w!.shape as [number, number];
  return o % block === 0 && c % block === 0 && !g.outputs.includes(n.outputs[0]!);
}

// Rewrite every lowerable Conv of a graph in place; returns how many were rewritten.
export function lowerConvsToNchwc(g: Graph, block: number): number {
  const reordered = new Map<Value, Value>();
  let count = 0;
  for (const n of [...g.nodes]) {
    if (!lowerable(g, n, block)) continue;
    const b = new Builder(g, `${n.name}/nchwc`);
    const [x, w, bias] = [n.input(0), n.input(1), n.inputs[2]];
    const [o, c, kh, kw] = w.shape as [number, number, number, number];
    const y = n.outputs[0]!;
    let xb = reordered.get(x);
    if (!xb) {
      xb = b.node('ReorderInput', [x], {}, { domain: NCHWC_DOMAIN })[0]!;
      xb.type = { dtype: 'float32', shape: [...x.shape] };
      reordered.set(x, xb);
    }
    // OIHW -> [O/B, I/B, kh, kw, Bi, Bo], keeping the logical [O, I, kh, kw] shape the kernel expects.
    const wb = b.reshape(b.transpose(b.reshape(w, [o / block, block, c / block, block, kh, kw]), [0, 2, 4, 5, 3, 1]), [
      o,
      c,
      kh,
      kw,
    ]);
    const attrs: Record<string, number[]> = { kernel_shape: [kh, kw] };
    for (const k of ['pads', 'strides', 'dilations']) if (n.hasAttr(k)) attrs[k] = n.attrInts(k);
    const yb = b.node('Conv', bias ? [xb, wb, bias] : [xb, wb], attrs, { domain: NCHWC_DOMAIN })[0]!;
    yb.type = { dtype: 'float32', shape: [...y.shape] };
    const out = b.node('ReorderOutput', [yb], { channels: o }, { domain: NCHWC_DOMAIN })[0]!;
    out.type = { dtype: 'float32', shape: [...y.shape] };
    g.replaceAllUses(y, out);
    g.removeNode(n);
    count++;
  }
  if (count) topoSort(g);
  return count;
}

// The same on serialized bytes (what the runtime holds), adding the domain's opset import when anything changed.
// A graph whose shapes cannot be inferred (ops without a shape rule) is left as it is: this is an optimisation only.
export function lowerModelToNchwc(bytes: Uint8Array, block: number): { bytes: Uint8Array; lowered: number } {
  let m: Model;
  let lowered: number;
  try {
    m = parseModel(bytes);
    inferShapes(m.graph);
    lowered = lowerConvsToNchwc(m.graph, block);
  } catch {
    return { bytes, lowered: 0 };
  }
  if (!lowered) return { bytes, lowered };
  m.opsets.set(NCHWC_DOMAIN, 1);
  return { bytes: serializeModel(m).onnx, lowered };
}

let probed: Promise<number> | undefined;

// onnxruntime's NCHWc block size on this CPU (8 with AVX2, 16 with AVX-512), read from the channel count a
// ReorderInput pads four channels to (it needs a multiple of 4); 0 when this build has no NCHWc kernels. Probed once per process.
export function nchwcBlockSize(): Promise<number> {
  probed ??= (async () => {
    const g = new Graph('nchwc_probe');
    const x = g.value('x', { dtype: 'float32', shape: [1, 4, 1, 1] });
    g.inputs.push(x);
    const y = new Builder(g).node('ReorderInput', [x], {}, { domain: NCHWC_DOMAIN })[0]!;
    g.outputs = [y];
    try {
      const bytes = serializeModel(
        new Model(
          g,
          new Map([
            ['', 18],
            [NCHWC_DOMAIN, 1],
          ]),
        ),
      ).onnx;
      const s = await ort.InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        intraOpNumThreads: 1,
        logSeverityLevel: 4,
      });
      const r = await s.run({ x: new ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
      await s.release();
      const block = r[s.outputNames[0]!]!.dims[1]!;
      return block > 1 ? block : 0;
    } catch {
      return 0;
    }
  })();
  return probed;
}
