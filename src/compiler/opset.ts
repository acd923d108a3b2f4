import type { Graph } from '../ir/graph.js';
import { Tensor } from '../ir/tensor.js';

// The opset compiled graphs use: ReduceMean and friends take axes as an input from 18 on.
export const TRAIN_OPSET = 18;

const AXES_TO_INPUT_18 = [
  'ReduceMean',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSum',
  'ReduceLogSumExp',
  'ReduceSumSquare',
];
const AXES_TO_INPUT_13 = ['ReduceSum', 'Squeeze', 'Unsqueeze'];

// Rewrite attribute forms that changed before opset 18 (axes/split attributes become inputs) so old exports run at 18.
export function upgradeToOpset18(g: Graph): void {
  for (const n of g.nodes) {
    if (n.domain !== '') continue;
    const moveAxes = AXES_TO_INPUT_18.includes(n.opType) || AXES_TO_INPUT_13.includes(n.opType);
    if (moveAxes && n.hasAttr('axes')) {
      const axes = n.attrInts('axes');
      n.attributes.delete('axes');
      const c = g.addInitializer(g.uniqueName(`${n.name}/axes`), Tensor.int64([axes.length], axes));
      g.setInput(n, 1, c);
    }
    if (n.opType === 'Split' && n.hasAttr('split')) {
      const split = n.attrInts('split');
      n.attributes.delete('split');
      const c = g.addInitializer(g.uniqueName(`${n.name}/split`), Tensor.int64([split.length], split));
      g.setInput(n, 1, c);
    }
  }
}
