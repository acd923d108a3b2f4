import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkSpec } from '../compiler/network.js';
import { DEFAULTS } from '../export/defaults.js';
import { calibrateQat, fakeQuantSpec, QAT_AVERAGING, trainedRecord, type QatRecord } from '../export/qat.js';
import { checkWeightBits } from '../export/qdq.js';
import { META_QAT } from '../ir/metadata.js';
import { openRunner } from '../runtime/inference.js';
import type { RunRecord } from '../train/loop.js';
import type { ExportSpec } from '../train/types.js';
import type { TensorData } from '../runtime/tensor.js';
import type { StagedRecord } from '../train/stages.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { CliContext } from '../util/output.js';
import type { TrainingData } from './data.js';
import type { DistillOptions } from './options.js';

// The run folder's record of the QAT run's activation ranges: the calibrated ones it starts from (read back by
// --resume, which then restores the tracked ones from checkpoint.bin), replaced by the final ones when it exports its
// student, whose metadata (META_QAT) carries the same record.
export const QAT_FILE = 'qat.json';

// Quantisation-aware training as a stage of the one loop: the student's NetworkSpec gets its fake-quant declaration,
// its activation ranges calibrated on training batches with the export's calibrator (or read back on --resume) and
// then tracked through training by a moving average of each batch's min and max, and the student's exported file
// carries the record with the final ranges. Returns the starting record (also written to <out>/qat.json) and the
// metadata hook that writes the final one.
export async function attachQat(
  students: NetworkSpec[],
  data: TrainingData,
  cfg: DistillOptions,
  outDir: string,
  log: (line: string) => void,
): Promise<{ record: QatRecord; networkMetadata: NonNullable<ExportSpec['networkMetadata']> }> {
  if (students.length !== 1)
    throw new UserError(
      `--qat: trains one student at a time; this run has ${students.length} (--students / --student)`,
    );
  const student = students[0]!;
  const saved = join(outDir, QAT_FILE);
  const record = startingRecord(
    cfg.resume !== undefined && existsSync(saved)
      ? (JSON.parse(readFileSync(saved, 'utf8')) as QatRecord)
      : { ...(await calibrate(student, data, cfg)), ...(cfg.qatRanges === 'held' ? {} : { averaging: QAT_AVERAGING }) },
  );
  writeFileAtomic(saved, `${JSON.stringify(record, null, 2)}\n`);
  student.fakeQuant = fakeQuantSpec(record);
  const acts = Object.keys(record.ranges).length + Object.keys(record.shared).length;
  log(
    `--qat: ${student.name} trains fake-quantised as its int8 export computes: ${record.weightBits}-bit per-channel weights, ` +
      `${acts} uint8 activations from ranges calibrated (${record.calibrator}) on ${record.images} training images, ` +
      (record.averaging !== undefined ? `tracked by a moving average of batch min/max (${record.averaging})` : 'held'),
  );
  const final = (trained: Record<string, TensorData>) => {
    const r = trainedRecord(record, trained);
    writeFileAtomic(saved, `${JSON.stringify(r, null, 2)}\n`);
    return { [META_QAT]: JSON.stringify(r) };
  };
  return { record, networkMetadata: { [student.name]: final } };
}

// A record as a run starts from it: its calibrated ranges (a finished run's qat.json holds its final ones beside them).
function startingRecord(r: QatRecord): QatRecord {
  const { calibrated, ...rest } = r;
  return calibrated ? { ...rest, ranges: calibrated } : rest;
}

// The student's activation ranges on the first --calibration training images (seeded order, the run's batch size).
async function calibrate(student: NetworkSpec, data: TrainingData, cfg: DistillOptions): Promise<QatRecord> {
  const count = Math.min(cfg.calibration ?? DEFAULTS.calibration, data.train.size);
  const batchSize = cfg.batchSize ?? 128;
  const images = async function* () {
    let seen = 0;
    for await (const b of data.train.batches({
      batchSize,
      epoch: 0,
      seed: cfg.seed ?? 0,
      shuffle: true,
      dropLast: false,
    })) {
      const n = Math.min(b.n, count - seen);
      if (n <= 0) return;
      const per = data.input.reduce((a, d) => a * d, 1);
      yield { x: b.x.slice(0, n * per), dims: [n, ...data.input], n };
      seen += n;
    }
  };
  return calibrateQat(student.model, images, {
    calibrate: cfg.calibrate ?? DEFAULTS.calibrate,
    weightBits: checkWeightBits(cfg.weightBits ?? DEFAULTS.weightBits),
    count,
    open: (bytes) => openRunner('node', bytes, cfg.threads ? { threads: cfg.threads } : {}),
  });
}

// Whether compress fine-tunes quantisation-aware: asked for (--qat), or PTQ int8 lost more than --max-int8-drop points.
export function qatTrigger(
  o: { qat?: boolean; maxInt8Drop?: number },
  ptqDrop: number | undefined,
): 'qat' | 'max-int8-drop' | undefined {
  if (o.qat) return 'qat';
  if (o.maxInt8Drop !== undefined && ptqDrop !== undefined && ptqDrop > o.maxInt8Drop) return 'max-int8-drop';
  return undefined;
}

// The learning rate of the QAT fine-tune: a tenth of the run's (a converged network near its fp32 optimum; PyTorch's
// and TensorFlow's QAT guides fine-tune at about 1/10 to 1/100 of the original rate).
export const QAT_LR_FACTOR = 0.1;

// compress's QAT stage: the same distill run (same loop, teacher, method and terms) started from the fp32 student's
// weights, fake-quantised, for --qat-epochs at a tenth of the lr, without warm-up, in <out>/qat.
export async function qatFineTune(
  distill: (o: DistillOptions, c: CliContext) => Promise<RunRecord | StagedRecord>,
  base: DistillOptions,
  studentFile: string,
  o: { epochs: number; outDir: string },
  c: CliContext,
): Promise<{ run: RunRecord | StagedRecord; student: string; lr: number }> {
  const { resume: _r, students: _s, ...rest } = base;
  const lr = Number(((base.lr ?? 0.05) * QAT_LR_FACTOR).toPrecision(12));
  const run = await distill(
    { ...rest, student: studentFile, qat: true, epochs: o.epochs, lr, warmup: 0, out: join(o.outDir, 'qat') },
    c,
  );
  const student = run.outputs.student;
  if (!student) throw new Error('the QAT run exported no student');
  return { run, student, lr };
}
