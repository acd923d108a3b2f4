// Renders every report plot, edge cases included, plus a whole report, into one folder to look at by eye.
// Usage: node --import tsx scripts/report-samples.ts [out-dir]   (default: a new temp folder; prints its path)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderPng, writeReport, type TrainingHistory } from '../src/report/index.js';
import { accuracyLatencySpec } from '../src/report/specs/accuracyLatency.js';
import { accuracySizeSpec } from '../src/report/specs/accuracySize.js';
import { trainingCurvesSpec } from '../src/report/specs/trainingCurves.js';
import { sampleHistory, sampleRows } from '../test/report/sample.js';

const out = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'onnx-distill-report-samples-'));
const rows = sampleRows();
const written = await writeReport(join(out, 'report'), rows, {
  history: sampleHistory(),
  meta: { command: 'distill' },
});
await renderPng(accuracySizeSpec(rows.slice(0, 1)), join(out, 'size-teacher-only.png'));
await renderPng(
  accuracyLatencySpec(rows.filter((r) => r.model === 'resnet8' || r.role === 'teacher')),
  join(out, 'latency-two-models.png'),
);
await renderPng(trainingCurvesSpec(sampleHistory(1)), join(out, 'curves-one-epoch.png'));
await renderPng(trainingCurvesSpec(sampleHistory(200)), join(out, 'curves-200-epochs.png'));
const gappy: TrainingHistory = sampleHistory(8).map((e, i) => ({
  ...e,
  networks: { resnet8: { valAcc: i === 3 ? Number.NaN : e.networks.resnet8!.valAcc } },
  terms:
    i === 5
      ? ({} as Record<string, number>)
      : { ce: e.terms['ce(resnet8)']!, 'kd(τ=4)': 1e-3 * e.terms['kd(resnet8<-teacher)']! },
  ensembleValAcc: undefined,
}));
await renderPng(trainingCurvesSpec(gappy), join(out, 'curves-nan-single-network-log-loss.png'));
console.log(out);
console.log(written.table);
