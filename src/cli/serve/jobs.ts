// What `onnx-distill serve` does for its page, with the project's own compiler and exporter: read a teacher, compile a
// distill run's artifacts (the same `contract.json` as `compile`), and export what the page trained (fp32 and int8
// through `export`'s pipeline, verified in onnxruntime-node and -web). Images never come here except the few the page
// sends for the export's calibration and verification, from the same machine; nothing is sent anywhere else.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompiledStep } from '../../compiler/step.js';
import { DataSplit } from '../../data/loader.js';
import type { Preprocess } from '../../data/index.js';
import { exportModel, type Format } from '../../export/index.js';
import { parseModel } from '../../ir/model.js';
import { describeClassifier, type ModelData } from '../../data/modelData.js';
import { compileDistillOn } from '../../pipeline/compileDistill.js';
import type { TrainingData } from '../../pipeline/data.js';
import { DEVICES } from '../../runtime/devices/index.js';
import type { TensorData } from '../../runtime/tensor.js';
import type { ArtifactContract } from '../../train/artifacts.js';
import { exportNetworks } from '../../train/exports.js';
import type { RunOptions } from '../../train/loop.js';
import type { TrainSplit } from '../../train/types.js';
import { UserError } from '../../util/errors.js';
import type { CliContext } from '../command.js';

// What the page learns about a teacher it picked.
export interface TeacherInfo {
  id: string;
  input: [number, number, number];
  classes: number;
  classNames?: string[];
  // The normalisation the teacher records (onnx_distill.preprocess), else the page measures its images'.
  mean?: number[];
  std?: number[];
}

// The page's compile request: the run's options and what it knows of the images (never the images themselves).
export interface CompileRequest {
  teacher: string;
  student: string;
  method: string;
  epochs: number;
  batchSize: number;
  lr?: number;
  optimizer?: string;
  classes: string[];
  trainSize: number;
  mean: number[];
  std: number[];
}

interface Job {
  dir: string;
  run: RunOptions;
  step: CompiledStep;
  contract: ArtifactContract;
  preprocess: Preprocess;
}

const quiet: CliContext = { json: true, verbose: false, print: () => {}, log: () => {} };

// The jobs of one serve process, in a private temporary folder removed on close.
export class Jobs {
  readonly root = mkdtempSync(join(tmpdir(), 'onnx-distill-serve-'));
  private teachers = new Map<string, TeacherInfo>();
  private jobs = new Map<string, Job>();
  private next = 1;

  // Register a teacher file the page read from disk.
  teacher(bytes: Uint8Array): TeacherInfo {
    const id = `t${this.next++}`;
    const path = join(this.root, `${id}.onnx`);
    writeFileSync(path, bytes);
    const info = describeClassifier(parseModel(bytes, 'the teacher'), 'the teacher');
    const t: TeacherInfo = {
      id,
      input: info.input,
      classes: info.classes,
      ...(info.classNames ? { classNames: info.classNames } : {}),
      ...(info.preprocess ? { mean: info.preprocess.mean, std: info.preprocess.std } : {}),
    };
    this.teachers.set(id, t);
    return t;
  }

  // Compile the run's artifacts; the page fetches them with file().
  async compile(
    r: CompileRequest,
  ): Promise<{ job: string; contract: ArtifactContract; files: Record<string, string> }> {
    const t = this.teachers.get(r.teacher);
    if (!t) throw new UserError(`teacher '${r.teacher}': pick the teacher file again`);
    if (r.classes.length !== t.classes)
      throw new UserError(
        `the teacher predicts ${t.classes} classes but the image folder has ${r.classes.length} (${r.classes.join(', ')})`,
      );
    if (!(r.trainSize >= r.batchSize))
      throw new UserError(`${r.trainSize} training images are fewer than one batch of ${r.batchSize}`);
    const id = `j${this.next++}`;
    const dir = join(this.root, id);
    mkdirSync(dir, { recursive: true });
    const preprocess: Preprocess = {
      input: t.input,
      mean: r.mean,
      std: r.std,
      statsFrom: t.mean ? 'given' : 'data',
      cropFraction: 1,
    };
    const data: TrainingData = {
      train: { size: r.trainSize } as TrainSplit,
      val: undefined,
      classes: r.classes,
      labelled: true,
      augmentation: 'none',
      input: t.input,
      preprocess,
      report: () => {},
    };
    const { run, step, contract } = await compileDistillOn(
      {
        teacher: join(this.root, `${r.teacher}.onnx`),
        student: [r.student],
        method: r.method,
        epochs: r.epochs,
        batchSize: r.batchSize,
        ...(r.lr ? { lr: r.lr } : {}),
        ...(r.optimizer ? { optimizer: r.optimizer } : {}),
      },
      data,
      dir,
    );
    // The step as the WebGPU device runs it (its MaxPool gradients without an Indices output).
    writeFileSync(
      join(dir, 'train_step.webgpu.onnx'),
      await DEVICES.get('webgpu')!.lower!(readFileSync(join(dir, 'train_step.onnx'))),
    );
    this.jobs.set(id, { dir, run, step, contract, preprocess });
    const files = {
      step: 'train_step.onnx',
      stepWebgpu: 'train_step.webgpu.onnx',
      eval: 'eval.onnx',
      initialState: 'initial_state.onnx',
      contract: 'contract.json',
    };
    return { job: id, contract, files };
  }

  // One artifact of a job, by its file name.
  file(job: string, name: string): Uint8Array {
    const j = this.jobs.get(job);
    if (!j || !/^[\w.]+\.(onnx|json)$/.test(name)) throw new UserError(`no file '${name}' in job '${job}'`);
    return readFileSync(join(j.dir, name));
  }

  // Export the student the page trained: its state tensors, and labelled images (uint8 [N,C,H,W] at the input size)
  // for int8 calibration and for verification.
  async export(
    job: string,
    format: Format,
    state: Record<string, TensorData>,
    images: { pixels: Uint8Array; labels: Int32Array },
  ): Promise<{ bytes: Uint8Array; verification: unknown }> {
    const j = this.jobs.get(job);
    if (!j) throw new UserError(`no job '${job}': compile again`);
    const run = { ...j.run, outDir: j.dir };
    const missing = [...j.step.params, ...j.step.buffers]
      .filter((e) => e.network === 'student' && !state[e.name])
      .map((e) => e.name);
    if (missing.length)
      throw new UserError(`the export needs the student's state: missing ${missing.slice(0, 3).join(', ')}`);
    const full: Record<string, TensorData> = { ...state };
    for (const e of [...j.step.params, ...j.step.buffers])
      full[e.name] ??= { type: 'float32', dims: e.shape, data: j.step.initial[e.name]!.data as Float32Array };
    const path = exportNetworks(run, j.step, full).student!;
    const split = new DataSplit(
      { kind: 'memory', images: images.pixels, labels: images.labels, shape: j.preprocess.input },
      {
        input: j.preprocess.input,
        stats: { mean: j.preprocess.mean, std: j.preprocess.std },
        strict: false,
        center: { kind: 'center', fraction: 1 },
      },
    );
    const data: ModelData = {
      train: split,
      val: split,
      classes: j.run.classes,
      labelled: true,
      preprocess: j.preprocess,
      description: 'images from the browser page',
    };
    const n = images.labels.length;
    const r = await exportModel(
      path,
      { format, data: "the page's images", opened: data, verifyImages: n, calibration: n, threads: 1 },
      quiet,
    );
    return {
      bytes: r.bytes,
      verification: { ...r.verification, ...(r.calibration ? { calibration: r.calibration } : {}) },
    };
  }

  close(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
