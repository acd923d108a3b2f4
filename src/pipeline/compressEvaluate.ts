import { resolve } from 'node:path';
import { openValData } from '../data/index.js';
import type { ModelData } from '../data/modelData.js';
import { evaluateModel, type EvalReport } from '../eval/index.js';
import { loadModel } from '../ir/model.js';
import type { ReportRow } from '../report/index.js';
import type { RunRecord } from '../train/loop.js';
import type { CliContext } from '../util/output.js';
import type { CompressOptions } from './compressConfig.js';
import type { Exported } from './compressExport.js';
import { row, storedFormat } from './compressReport.js';
import { teacherFile, teacherPreprocessFlags } from './compressTeacher.js';

// compress's fourth stage: the teacher and every export measured on the same images, as report rows.

// Stage 4: the teacher and every export evaluated on the same images: accuracy on labelled data (the validation
// split, or --val-data); on unlabeled data, agreement with the teacher.
export async function evaluateStage(
  cfg: CompressOptions,
  run: RunRecord,
  teacherSpec: string,
  x: Exported,
  outDir: string,
  c: CliContext,
): Promise<{
  tFile: string;
  evalData: ModelData;
  metric: 'accuracy' | 'teacher agreement';
  teacherEval: EvalReport;
  rows: ReportRow[];
  evals: EvalReport[];
  // How each export was evaluated (the QAT stage evaluates its int8 student the same way).
  exportEval: Parameters<typeof evaluateModel>[1];
}> {
  const tFile = teacherFile(teacherSpec, run, run.outputs[x.trained[0]![0]]!, outDir, cfg.seed ?? 0);
  const evalData = cfg.valData ? await valDataFor(cfg.valData, x.opened) : x.opened;
  const metric = evalData.labelled ? 'accuracy' : 'teacher agreement';
  c.log(
    `[4/4] evaluating the teacher and ${x.exports.length} export(s) on ${cfg.valData ? `--val-data (${evalData.description})` : 'the validation split'}${metric === 'accuracy' ? '' : ': agreement with the teacher (the data has no labels)'}`,
  );
  const evalOpts = {
    data: x.data,
    split: x.split,
    threads: 1,
    ...(cfg.latencySeconds !== undefined ? { latencySeconds: cfg.latencySeconds } : {}),
  };
  const teacherEval = await evaluateModel(
    tFile,
    {
      ...evalOpts,
      ...(cfg.valData || !x.opened.labelled ? { opened: evalData } : { preprocess: teacherPreprocessFlags(cfg) }),
      ...(metric === 'accuracy' ? {} : { labels: 'predictions' as const }),
    },
    c,
  );
  const labels = metric === 'accuracy' ? {} : { labels: teacherEval.predictions };
  const rows = [
    row(
      'teacher',
      'teacher',
      storedFormat(loadModel(tFile)),
      tFile,
      outDir,
      teacherEval,
      run.outputs.teacher === tFile ? 'trained online with the students' : undefined,
    ),
  ];
  const evals = [teacherEval];
  const exportEval = { ...evalOpts, opened: evalData, ...labels };
  for (const e of x.exports) {
    const ev = await evaluateModel(e.file, exportEval, c);
    evals.push(ev);
    rows.push(row(e.model, e.model === 'ensemble' ? 'ensemble' : 'student', e.format, e.file, outDir, ev, e.notes));
  }
  return { tFile, evalData, metric, teacherEval, rows, evals, exportEval };
}

// --val-data opened like the run's data (input, normalisation, crop), labels mapped onto the students' classes.
async function valDataFor(spec: string, like: ModelData): Promise<ModelData> {
  const p = like.preprocess;
  const v = await openValData(
    resolve(spec),
    { input: p.input, stats: { mean: p.mean, std: p.std }, preprocess: p },
    like.classes,
  );
  return { ...like, val: v.val, labelled: true, description: v.description };
}
