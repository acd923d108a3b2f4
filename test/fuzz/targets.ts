import { readFileSync } from 'node:fs';
import { fromBinary } from '@bufbuild/protobuf';
import { exitCodeFor } from '../../src/cli/exit.js';
import { main } from '../../src/cli/main.js';
import { compileTrainStep } from '../../src/compiler/trainStep.js';
import { loadModel, parseModel } from '../../src/ir/model.js';
import { ModelProtoSchema } from '../../src/onnx/onnx_pb.js';
import { probeLoad } from '../../src/runtime/probe.js';

// The code paths a mutant goes through. A target is one entry: run it on a model file, return the exit code the CLI
// would give, what it printed, and (for exit 0) whether the result is correct. `export` joins here when it exists.

export interface TargetRun {
  code: number;
  stdout: string;
  stderr: string;
  // For exit 0: why the result is wrong, or undefined when it checks out.
  wrong?: string;
  // For exit 0 of inspect: onnxruntime's reason when it refuses a model our checks accept (reported, not a failure).
  ortRefused?: string;
  // For exit 2 of inspect: onnxruntime loads what we refused (stricter checks, or a false refusal: reported).
  ortLoads?: boolean;
}

export interface Target {
  name: string;
  run(modelPath: string): Promise<TargetRun>;
}

// Run a library call the way the CLI would: any throw goes through the one error map.
async function asCli(f: () => Promise<string | undefined>): Promise<TargetRun> {
  let stderr = '';
  try {
    const wrong = await f();
    return { code: 0, stdout: '', stderr, ...(wrong ? { wrong } : {}) };
  } catch (err: unknown) {
    const code = exitCodeFor(err, { stdout: () => {}, stderr: (t) => { stderr += t; } });
    return { code, stdout: '', stderr };
  }
}

// `onnx-distill inspect --json`: a correct report counts the file's own nodes and says what onnxruntime thinks.
const inspect: Target = {
  name: 'inspect',
  async run(path) {
    let stdout = '', stderr = '';
    const code = await main(['inspect', path, '--json'], { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; } });
    if (code !== 0) return { code, stdout, stderr, ...(code === 2 && (await probeLoad(path)).loads ? { ortLoads: true } : {}) };
    let wrong: string | undefined, ortRefused: string | undefined;
    try {
      const r = JSON.parse(stdout) as { nodes: number; ops: Record<string, number>; parameters: { count: number }; onnxruntime?: { loads: boolean; reason?: string } };
      if (r.onnxruntime?.loads === false) ortRefused = r.onnxruntime.reason ?? '';
      const nodes = fromBinary(ModelProtoSchema, readFileSync(path)).graph?.node.length;
      const opSum = Object.values(r.ops).reduce((a, b) => a + b, 0);
      if (r.nodes !== nodes) wrong = `reports ${r.nodes} nodes, the file has ${nodes}`;
      else if (opSum !== r.nodes) wrong = `op counts sum to ${opSum}, not ${r.nodes}`;
      else if (!(Number.isSafeInteger(r.parameters.count) && r.parameters.count >= 0)) wrong = `parameter count ${r.parameters.count}`;
      else if (typeof r.onnxruntime?.loads !== 'boolean') wrong = 'no onnxruntime verdict';
    } catch (err: unknown) {
      wrong = `stdout is not the JSON report: ${String(err)}`;
    }
    return { code, stdout, stderr, ...(wrong ? { wrong } : {}), ...(ortRefused !== undefined ? { ortRefused } : {}) };
  },
};

// The step compiler: a correct step graph passes our own validation and keeps every parameter.
const compile: Target = {
  name: 'compile',
  run: (path) => asCli(async () => {
    const model = loadModel(path);
    const step = compileTrainStep({
      model, batch: 2, terms: [{ term: 'ce' }], optimizer: 'sgd',
      hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    });
    const g = parseModel(step.bytes, 'the compiled step').graph;
    if (step.params.length === 0) return 'the step trains no parameters';
    const missing = step.params.find((p) => !g.inputs.some((v) => v.name === p.name));
    return missing ? `parameter '${missing.name}' is not a step input` : undefined;
  }),
};

export const TARGETS: Target[] = [inspect, compile];
