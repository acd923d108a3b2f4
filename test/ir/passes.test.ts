import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { addInput, newGraph } from '../../src/ir/builder.js';
import { Node } from '../../src/ir/graph.js';
import { loadModel } from '../../src/ir/model.js';
import { eliminateDeadCode } from '../../src/ir/passes/dce.js';
import { inferShapes } from '../../src/ir/passes/shapes.js';
import { topoSort } from '../../src/ir/passes/toposort.js';
import { Tensor } from '../../src/ir/tensor.js';
import { FIXTURES } from './helpers.js';

describe('shape inference on PyTorch exports', () => {
  const cases: [string, number[], number[]][] = [
    ['resnet18.onnx', [1, 3, 224, 224], [1, 1000]],
    ['resnet18.onnx', [4, 3, 160, 128], [4, 1000]],
    ['mobilenetv2_folded.onnx', [2, 3, 64, 64], [2, 10]],
    ['small_resnet_train.onnx', [8, 1, 28, 28], [8, 10]],
    ['small_ext/model.onnx', [3, 1, 28, 28], [3, 10]],
  ];
  for (const [file, input, logits] of cases) {
    test(`${file} at ${input.join('x')} gives logits ${logits.join('x')}`, () => {
      const m = loadModel(join(FIXTURES, file));
      inferShapes(m.graph, { inputShapes: { input } });
      assert.deepEqual(m.graph.outputs[0]!.shape, logits);
      for (const n of m.graph.nodes)
        for (const o of n.outputs) if (o.uses.length) assert.ok(o.hasStaticShape(), `${o.name} has a static shape`);
    });
  }

  test('ResNet-18 stage shapes follow the torchvision layout', () => {
    const m = loadModel(join(FIXTURES, 'resnet18.onnx'));
    inferShapes(m.graph, { inputShapes: { input: [1, 3, 224, 224] } });
    const shapeOf = (name: string) => m.graph.values.get(name)!.shape;
    assert.deepEqual(shapeOf('/relu/Relu_output_0'), [1, 64, 112, 112]);
    assert.deepEqual(shapeOf('/layer4/layer4.1/relu_1/Relu_output_0'), [1, 512, 7, 7]);
  });

  test('folding removes shape arithmetic (Shape → Gather → Concat → Reshape) on a small graph', () => {
    const { graph, b } = newGraph('fold');
    const x = addInput(graph, 'x', 'float32', ['N', 4, 2, 2]);
    const shape = b.op.Shape!([x]);
    const n = b.op.Gather!([shape, b.constant(Tensor.int64([1], [0]))], { axis: 0 });
    const target = b.op.Concat!([n, b.constant(Tensor.int64([1], [-1]))], { axis: 0 });
    graph.outputs = [b.node('Reshape', [x, target], {}, { outputNames: ['y'] })[0]!];
    inferShapes(graph, { inputShapes: { x: [3, 4, 2, 2] }, fold: true });
    assert.deepEqual(graph.outputs[0]!.shape, [3, 16]);
    assert.deepEqual(
      graph.nodes.map((nd) => nd.opType),
      ['Reshape'],
    );
  });
});

describe('dead-code elimination and topological sort', () => {
  test('DCE removes unused nodes and initializers, keeps what reaches an output', () => {
    const { graph, b } = newGraph('dce');
    const x = addInput(graph, 'x', 'float32', [2]);
    const used = b.op.Relu!([x]);
    const dead = b.mul(b.op.Exp!([x]), b.constant(Tensor.float32([2], [5, 6])));
    graph.outputs = [used];
    assert.equal(eliminateDeadCode(graph), true);
    assert.deepEqual(
      graph.nodes.map((n) => n.opType),
      ['Relu'],
    );
    assert.equal(graph.initializers.length, 0);
    assert.equal(graph.values.has(dead.name), false);
    assert.equal(eliminateDeadCode(graph), false, 'a second run changes nothing');
  });

  test('DCE keeps an initializer that is itself a graph output', () => {
    const { graph, b } = newGraph('dce2');
    const c = b.constant(Tensor.float32([3], [1, 2, 3]));
    graph.outputs = [c];
    eliminateDeadCode(graph);
    assert.deepEqual(graph.initializers, [c]);
  });

  test('toposort orders a shuffled diamond and is stable on an ordered graph', () => {
    const { graph, b } = newGraph('topo');
    const x = addInput(graph, 'x', 'float32', [2]);
    const a = b.op.Relu!([x]);
    const l = b.op.Exp!([a]);
    const r = b.op.Neg!([a]);
    graph.outputs = [b.add(l, r)];
    const ordered = [...graph.nodes];
    assert.equal(topoSort(graph), false);
    graph.nodes = [ordered[3]!, ordered[2]!, ordered[1]!, ordered[0]!];
    assert.equal(topoSort(graph), true);
    const pos = new Map(graph.nodes.map((n, i) => [n, i]));
    for (const n of graph.nodes)
      for (const v of n.inputs) if (v?.producer) assert.ok(pos.get(v.producer)! < pos.get(n)!);
    assert.deepEqual(
      graph.nodes.map((n) => n.opType),
      ['Relu', 'Neg', 'Exp', 'Add'],
    );
  });

  test('toposort names a node on a cycle', () => {
    const { graph, b } = newGraph('cycle');
    const x = addInput(graph, 'x', 'float32', [2]);
    const a = b.op.Relu!([x]);
    const n = new Node('Add', 'loop');
    const out = graph.newValue('loop_out');
    graph.addNode(n, [a, out], [out]);
    assert.throws(() => topoSort(graph), /cycle.*loop/);
  });
});
