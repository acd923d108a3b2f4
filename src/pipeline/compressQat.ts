import { join } from 'node:path';
import { evaluateModel, type EvalReport } from '../eval/index.js';
import type { ExportOptions, Format } from '../export/index.js';
import type { QuantizationSummary, ReportRow } from '../report/index.js';
import { UserError } from '../util/errors.js';
import type { CliContext } from '../util/output.js';
import type { CompressOptions } from './compressConfig.js';
import { exportAll, type SkippedExport } from './compressExport.js';
import { row, shown } from './compressReport.js';
import { distill } from './distill.js';
import type { DistillOptions } from './options.js';
import { qatFineTune, qatTrigger } from './qat.js';

// compress's quantisation-aware stage (after evaluation): its option checks, and the fine-tune, int8 export and
// evaluation of the QAT student beside the fp32 and PTQ int8 rows.

// --qat and --max-int8-drop compare and write int8 students: int8 must be exported, and the fine-tune trains one student.
export function checkQatOptions(cfg: CompressOptions, formats: Format[]): void {
  const flag = cfg.qat ? '--qat' : cfg.maxInt8Drop !== undefined ? '--max-int8-drop' : undefined;
  if (!flag) return;
  if (!formats.includes('int8'))
    throw new UserError(`${flag}: compares int8 students, but --formats ${formats.join(',')} has no int8`);
  const students = cfg.students ?? (Array.isArray(cfg.student) ? cfg.student.length : 1);
  if (students > 1)
    throw new UserError(`${flag}: the quantisation-aware fine-tune trains one student; this run has ${students}`);
}

// The QAT stage of compress (pipeline/qat.ts decides and trains): when asked, or when PTQ int8 lost more than
// --max-int8-drop points, fine-tune the fp32 student quantisation-aware, export it as int8 at its trained parameters
// (verified like every export), evaluate it, and add its row beside fp32 and PTQ int8.
export async function qatStage(
  cfg: CompressOptions,
  rows: ReportRow[],
  o: {
    distillCfg: DistillOptions;
    studentFile: string | undefined;
    outDir: string;
    exportOpts: Omit<ExportOptions, 'format'>;
    evalOpts: Parameters<typeof evaluateModel>[1];
    c: CliContext;
  },
): Promise<{ summary: QuantizationSummary; skipped: SkippedExport[]; evals: EvalReport[] } | undefined> {
  const fp32 = rows.find((r) => r.model === 'student' && r.format === 'fp32')?.accuracy;
  const ptq = rows.find((r) => r.model === 'student' && r.format === 'int8')?.accuracy;
  const drop = fp32 !== undefined && ptq !== undefined ? 100 * (fp32 - ptq) : undefined;
  const trigger = qatTrigger(cfg, drop);
  if (!trigger || !o.studentFile) {
    if (cfg.maxInt8Drop !== undefined && drop !== undefined)
      o.c.log(`PTQ int8 loses ${drop.toFixed(2)} points (≤ --max-int8-drop ${cfg.maxInt8Drop}): no QAT fine-tune`);
    return undefined;
  }
  const epochs = cfg.qatEpochs!;
  o.c.log(
    `[qat] fine-tuning the student quantisation-aware for ${epochs} epoch${epochs === 1 ? '' : 's'}` +
      (trigger === 'qat'
        ? ' (--qat)'
        : ` (PTQ int8 loses ${drop!.toFixed(2)} points > --max-int8-drop ${cfg.maxInt8Drop})`),
  );
  const tuned = await qatFineTune(distill, o.distillCfg, o.studentFile, { epochs, outDir: o.outDir }, o.c);
  const { exports, skipped } = await exportAll([['student-qat', tuned.student]], ['int8'], o.exportOpts, o.outDir, o.c);
  let qat: number | undefined;
  const evals: EvalReport[] = [];
  for (const e of exports) {
    const ev = await evaluateModel(e.file, o.evalOpts, o.c);
    evals.push(ev);
    rows.push(
      row(
        e.model,
        'student',
        e.format,
        e.file,
        o.outDir,
        ev,
        `QAT (${epochs} epoch${epochs === 1 ? '' : 's'}); ${e.notes}`,
      ),
    );
    qat = ev.accuracy.top1;
  }
  const summary: QuantizationSummary = {
    model: 'student',
    trigger,
    epochs,
    lr: tuned.lr,
    ...(cfg.maxInt8Drop !== undefined ? { maxInt8Drop: cfg.maxInt8Drop } : {}),
    ...(fp32 !== undefined ? { fp32 } : {}),
    ...(ptq !== undefined ? { ptq } : {}),
    ...(qat !== undefined ? { qat } : {}),
    run: shown(join(o.outDir, 'qat'), o.outDir),
  };
  return { summary, skipped, evals };
}
