import type { ReportRow, TrainingHistory } from '../../src/report/types.js';

// A teacher, three students in three formats and an ensemble, with made-up but plausible CIFAR-10 numbers.
export function sampleRows(): ReportRow[] {
  const rows: ReportRow[] = [];
  const add = (model: string, role: ReportRow['role'], accuracy: number, params: number, macs: number, ms: number) => {
    const formats = [
      ['fp32', 4, 1, 0],
      ['fp16', 2, 0.9, -0.0003],
      ['int8', 1, 0.55, -0.006],
    ] as const;
    for (const [format, bytesPerParam, speed, drop] of formats) {
      if (role === 'teacher' && format !== 'fp32') continue;
      rows.push({
        model,
        role,
        format,
        file: role === 'teacher' ? 'teacher.onnx' : `${model}.${format}.onnx`,
        accuracy: accuracy + drop,
        sizeBytes: params * bytesPerParam + 20_000,
        params,
        macs,
        latencyMsBatch1: ms * speed,
        latencyMsBatch32: ms * speed * 18,
      });
    }
  };
  add('resnet56', 'teacher', 0.9361, 861_620, 125_750_000, 6.2);
  add('resnet8', 'student', 0.8712, 78_042, 12_490_000, 0.41);
  add('resnet20', 'student', 0.9155, 272_474, 40_810_000, 1.3);
  add('wrn-16-2', 'student', 0.9203, 703_706, 101_600_000, 2.1);
  rows.push({
    model: 'ensemble(resnet8+resnet20)',
    role: 'ensemble',
    format: 'fp32',
    file: '',
    accuracy: 0.9221,
    sizeBytes: 4 * (78_042 + 272_474),
    params: 78_042 + 272_474,
    macs: 53_300_000,
    latencyMsBatch1: 1.7,
    latencyMsBatch32: 30,
    notes: "mean of the two students' logits",
  });
  return rows;
}

// `epochs` epochs of a DML-style run: two students, their ensemble, three loss terms.
export function sampleHistory(epochs = 30): TrainingHistory {
  const rise = (from: number, to: number, tau: number, i: number) => from + (to - from) * (1 - Math.exp(-i / tau));
  return Array.from({ length: epochs }, (_, i) => ({
    epoch: i + 1,
    networks: {
      resnet8: { valAcc: rise(0.5, 0.87, 6, i), trainAcc: rise(0.5, 0.95, 6, i), loss: 2 * Math.exp(-i / 8) + 0.3 },
      resnet20: { valAcc: rise(0.55, 0.92, 5, i) },
    },
    terms: {
      'ce(resnet8)': 1.5 * Math.exp(-i / 8) + 0.2,
      'kd(resnet8<-teacher)': 0.8 * Math.exp(-i / 10) + 0.1,
      'dml(resnet20<->resnet8)': 0.3 * Math.exp(-i / 10) + 0.02,
    },
    ensembleValAcc: rise(0.58, 0.93, 5, i),
  }));
}
