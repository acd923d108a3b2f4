import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { exitCodeFor } from '../../src/cli/exit.js';
import { main } from '../../src/cli/main.js';
import { compileTrainStep } from '../../src/compiler/trainStep.js';
import { loadModel, parseModel } from '../../src/ir/model.js';
import { ModelProtoSchema } from '../../src/onnx/onnx_pb.js';
import { probeLoad } from '../../src/runtime/probe.js';

// The code paths a mutant goes through. A target is one entry: run it on a model file, return the exit code the CLI
// would give, what it printed, and (for exit 0) whether the result is correct.

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

// What a run gets besides the model: its variant (see Target.variants) and the tiny image set (test/fuzz/images.ts).
export interface RunEnv {
  variant?: string;
  images: string;
}

export interface Target {
  name: string;
  // Variants taken in turn, one per mutant (mutant id mod their count): each mutant costs one run per target.
  variants?: readonly string[];
  run(modelPath: string, env: RunEnv): Promise<TargetRun>;
}

// Run a library call the way the CLI would: any throw goes through the one error map.
async function asCli(f: () => Promise<string | undefined>): Promise<TargetRun> {
  let stderr = '';
  try {
    const wrong = await f();
    return { code: 0, stdout: '', stderr, ...(wrong ? { wrong } : {}) };
  } catch (err: unknown) {
    const code = exitCodeFor(err, {
      stdout: () => {},
      stderr: (t) => {
        stderr += t;
      },
    });
    return { code, stdout: '', stderr };
  }
}

// `onnx-distill inspect --json`: a correct report counts the file's own nodes and says what onnxruntime thinks.
const inspect: Target = {
  name: 'inspect',
  async run(path) {
    let stdout = '',
      stderr = '';
    const code = await main(['inspect', path, '--json'], {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
    });
    if (code !== 0)
      return { code, stdout, stderr, ...(code === 2 && (await probeLoad(path)).loads ? { ortLoads: true } : {}) };
    let wrong: string | undefined, ortRefused: string | undefined;
    try {
      const r = JSON.parse(stdout) as {
        nodes: number;
        ops: Record<string, number>;
        parameters: { count: number };
        onnxruntime?: { loads: boolean; reason?: string };
      };
      if (r.onnxruntime?.loads === false) ortRefused = r.onnxruntime.reason ?? '';
      const nodes = fromBinary(ModelProtoSchema, readFileSync(path)).graph?.node.length;
      const opSum = Object.values(r.ops).reduce((a, b) => a + b, 0);
      if (r.nodes !== nodes) wrong = `reports ${r.nodes} nodes, the file has ${nodes}`;
      else if (opSum !== r.nodes) wrong = `op counts sum to ${opSum}, not ${r.nodes}`;
      else if (!(Number.isSafeInteger(r.parameters.count) && r.parameters.count >= 0))
        wrong = `parameter count ${r.parameters.count}`;
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
  run: (path) =>
    asCli(async () => {
      const model = loadModel(path);
      const step = compileTrainStep({
        model,
        batch: 2,
        terms: [{ term: 'ce' }],
        optimizer: 'sgd',
        hyper: { weightDecay: 5e-4, momentum: 0.9, nesterov: false, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
      });
      const g = parseModel(step.bytes, 'the compiled step').graph;
      if (step.params.length === 0) return 'the step trains no parameters';
      const missing = step.params.find((p) => !g.inputs.some((v) => v.name === p.name));
      return missing ? `parameter '${missing.name}' is not a step input` : undefined;
    }),
};

// Verification images and, for int8, calibration images: the whole tiny set (test/fuzz/images.ts).
const EXPORT_IMAGES = '20';
// The fixtures are untrained, so int8 and fp32 top-1 often differ on a few of 20 images; the fuzz run asks for half
// (logits must still be finite, and node and web must agree on half): what it checks is that the path never breaks.
const FUZZ_MIN_AGREEMENT = '0.5';

// What a correct export looks like on disk: the file the report names, of its size, that our checks and
// onnxruntime load, with the graph input the report names and the format's mark (fp16 weights, int8 QDQ pairs).
async function checkExport(stdout: string, format: string): Promise<string | undefined> {
  const r = JSON.parse(stdout) as {
    out: string;
    sizeBytes: number;
    verification: { passed: boolean; images: number };
    classifier: { inputName: string; batch?: number };
  };
  if (!r.verification.passed) return 'exit 0 but verification did not pass';
  // All of them, or whole batches of a fixed batch size.
  const batch = r.classifier.batch ?? 1;
  const images = Math.floor(Number(EXPORT_IMAGES) / batch) * batch;
  if (r.verification.images !== images) return `verified on ${r.verification.images} images, not ${images}`;
  if (!existsSync(r.out)) return `${r.out} was not written`;
  if (statSync(r.out).size !== r.sizeBytes)
    return `${r.out} has ${statSync(r.out).size} bytes, the report says ${r.sizeBytes}`;
  const m = loadModel(r.out);
  if (!m.graph.inputs.some((v) => v.name === r.classifier.inputName))
    return `the export has no input '${r.classifier.inputName}'`;
  const dtypes = new Set(m.graph.initializers.map((v) => v.constant?.dtype));
  const ops = new Set(m.graph.nodes.map((n) => n.opType));
  if (format === 'fp32' && dtypes.has('float16')) return 'the fp32 export holds float16 weights';
  if (format === 'fp16' && !dtypes.has('float16')) return 'the fp16 export holds no float16 weights';
  if (format === 'int8' && !(ops.has('QuantizeLinear') && ops.has('DequantizeLinear')))
    return 'the int8 export has no QuantizeLinear/DequantizeLinear';
  const ort = await probeLoad(r.out);
  return ort.loads ? undefined : `onnxruntime cannot load the export: ${ort.reason}`;
}

// `onnx-distill export --json` in one format per mutant, calibrated and verified on the tiny image set, written
// beside the mutant: a correct result is a verified file that checks out (checkExport).
const exportTarget: Target = {
  name: 'export',
  variants: ['fp32', 'fp16', 'int8'],
  async run(path, env) {
    const format = env.variant ?? 'fp32';
    let stdout = '',
      stderr = '';
    const code = await main(
      [
        'export',
        path,
        '--format',
        format,
        '--out',
        join(dirname(path), `export.${format}.onnx`),
        '--json',
        '--data',
        env.images,
        '--verify-images',
        EXPORT_IMAGES,
        '--calibration',
        EXPORT_IMAGES,
        '--threads',
        '1',
        ...(format === 'int8' ? ['--min-agreement', FUZZ_MIN_AGREEMENT] : []),
      ],
      {
        stdout: (t) => {
          stdout += t;
        },
        stderr: (t) => {
          stderr += t;
        },
      },
    );
    if (code !== 0) return { code, stdout, stderr };
    let wrong: string | undefined;
    try {
      wrong = await checkExport(stdout, format);
    } catch (err: unknown) {
      wrong = `the export does not check out: ${String(err)}`;
    }
    return { code, stdout, stderr, ...(wrong ? { wrong } : {}) };
  },
};

export const TARGETS: Target[] = [inspect, compile, exportTarget];
