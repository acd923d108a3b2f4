import { COMMON_OPTIONS } from './commonOptions.js';
import { DISTILL_OPTIONS } from './distillOptions.js';
import type { OptionDef } from './types.js';

// Options only `compress` has (it also takes every distill option; see compressOptionTable).
export const COMPRESS_OPTIONS: OptionDef[] = [
  {
    key: 'size',
    type: 'number',
    positive: true,
    describe:
      "parameter budget as a fraction of the teacher's: the student is the best zoo or slim: candidate under it (ignored with --student)",
    defaultDescription: '0.25',
  },
  {
    key: 'formats',
    type: 'string',
    default: 'fp32,fp16,int8',
    describe: 'export formats, comma-separated: fp32, fp16, int8',
  },
  {
    key: 'qatEpochs',
    type: 'number',
    default: 2,
    integer: true,
    positive: true,
    describe:
      'epochs of the quantisation-aware fine-tune (--qat, --max-int8-drop): from the fp32 student, at a tenth of --lr, with the same distillation terms',
  },
  {
    key: 'maxInt8Drop',
    type: 'number',
    nonNegative: true,
    max: 100,
    describe:
      'run the quantisation-aware fine-tune by itself when the PTQ int8 student loses more than this many top-1 points against its fp32 export',
  },
  {
    key: 'verifyImages',
    type: 'number',
    default: 1000,
    integer: true,
    positive: true,
    describe: 'validation images each export is verified on (onnxruntime-node and -web against fp32)',
  },
  {
    key: 'latencySeconds',
    type: 'number',
    default: 10,
    positive: true,
    describe:
      'time budget of the latency measurement per model and batch size (batch 1 and 32): up to 30 timed runs or this many seconds, whichever comes first, so a large teacher cannot dominate the job',
  },
];

// Default epochs of `compress`: the no-argument run (the shipped teacher, the embedded 12k-image subset, a student
// of zoo:cnn's size) trains, exports and evaluates within 10 minutes on 2 CPU cores.
export const COMPRESS_EPOCHS = 10;

// The option table of `compress`: distill's (student chosen by --size unless given, its own --out and --epochs
// defaults) plus its own.
export function compressOptionTable(): OptionDef[] {
  const own: Record<string, Partial<OptionDef>> = {
    epochs: { default: COMPRESS_EPOCHS },
    student: {
      default: undefined,
      defaultDescription: 'chosen by --size',
      describe:
        'the student: zoo:<name>, an .onnx file, or slim:<ratio> of the teacher; repeat for several (instead of --size)',
    },
    out: {
      default: 'runs/compress',
      describe:
        'output folder: the distill run, each export (<student>.<format>.onnx), report.json, report.md and the plots',
    },
    method: {
      default: undefined,
      defaultDescription: 'kd, or kdml with --students K',
      describe:
        'method preset(s), mixed with +: ce, kd, dml, kdml, fitnet, at, sp, pkt, dkd, dist, ctkd, wsld, nkd (e.g. kd+at)',
    },
  };
  return [...DISTILL_OPTIONS, ...COMMON_OPTIONS, ...COMPRESS_OPTIONS].map((o) =>
    own[o.key] ? { ...o, ...own[o.key] } : o,
  );
}
