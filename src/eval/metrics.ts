// Classification metrics from logits and labels: accumulated batch by batch, read once at the end.

// What `eval` reports about predictions.
export interface AccuracyReport {
  images: number;
  top1: number;
  top5: number;
  // Accuracy per true class (recall), NaN-free: classes without images get null.
  perClass: (number | null)[];
  // confusion[true][predicted] image counts.
  confusion: number[][];
}

// Running top-1/top-5 counts and the confusion matrix over K classes.
export class AccuracyMeter {
  private readonly confusion: number[][];
  private top5 = 0;
  private n = 0;

  constructor(readonly classes: number) {
    this.confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  }

  // Add a batch: logits [n, K] row-major, labels [n].
  add(logits: Float32Array, labels: Int32Array, n: number): void {
    const k = this.classes;
    for (let r = 0; r < n; r++) {
      const label = labels[r]!;
      const row = logits.subarray(r * k, (r + 1) * k);
      let best = 0;
      for (let j = 1; j < k; j++) if (row[j]! > row[best]!) best = j;
      this.confusion[label]![best]!++;
      // The label is in the top 5 when fewer than 5 classes score strictly higher (ties count for the label).
      const v = row[label]!;
      let higher = 0;
      for (let j = 0; j < k; j++) if (row[j]! > v) higher++;
      if (higher < 5) this.top5++;
      this.n++;
    }
  }

  report(): AccuracyReport {
    const diag = this.confusion.reduce((s, row, i) => s + row[i]!, 0);
    return {
      images: this.n,
      top1: diag / (this.n || 1),
      top5: this.top5 / (this.n || 1),
      perClass: this.confusion.map((row, i) => {
        const t = row.reduce((a, b) => a + b, 0);
        return t ? row[i]! / t : null;
      }),
      confusion: this.confusion.map((r) => [...r]),
    };
  }
}

// How closely a student follows its teacher on the same images (the metric of distillation from unlabeled data).
export interface FidelityReport {
  images: number;
  // Top-1 agreement: the fraction of images whose argmax equals the teacher's.
  agreement: number;
  // Mean over images of KL(p_teacher ‖ p_student) at temperature 1, in nats: Σ_c p_t log(p_t / p_s).
  kl: number;
}

// log-softmax of one row, in float64.
function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (v) => v - lse);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j]! > row[best]!) best = j;
  return best;
}

// Each row's top class (first maximum on ties), of logits [n, K] row-major.
export function argmaxRows(logits: Float32Array, n: number, classes: number): Int32Array {
  return Int32Array.from({ length: n }, (_, r) => argmax(logits.subarray(r * classes, (r + 1) * classes)));
}

// Running top-1 agreement and mean KL(teacher ‖ student) over K classes.
export class FidelityMeter {
  private agree = 0;
  private kl = 0;
  private n = 0;

  constructor(readonly classes: number) {}

  // Add a batch: student and teacher logits [n, K] row-major.
  add(student: Float32Array, teacher: Float32Array, n: number): void {
    const k = this.classes;
    for (let r = 0; r < n; r++) {
      const s = student.subarray(r * k, (r + 1) * k);
      const t = teacher.subarray(r * k, (r + 1) * k);
      if (argmax(s) === argmax(t)) this.agree++;
      const ls = logSoftmax(s);
      const lt = logSoftmax(t);
      let d = 0;
      for (let j = 0; j < k; j++) d += Math.exp(lt[j]!) * (lt[j]! - ls[j]!);
      this.kl += d;
      this.n++;
    }
  }

  report(): FidelityReport {
    return { images: this.n, agreement: this.agree / (this.n || 1), kl: this.kl / (this.n || 1) };
  }
}
