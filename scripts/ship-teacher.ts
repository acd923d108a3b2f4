// Copy a finished teacher run into models/fashion-mnist-teacher/ with a README (architecture, recipe, seed, test
// accuracy, training time) and teacher.json (the same facts for scripts). Run by scripts/train-teacher.sh.
//   node --import tsx scripts/ship-teacher.ts <run-dir>
import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { countParameters } from '../src/analysis/params.js';
import { loadModel } from '../src/ir/model.js';
import type { RunRecord } from '../src/train/loop.js';
import { writeFileAtomic } from '../src/util/fs.js';

const run = process.argv[2] ?? 'runs/teacher';
const dest = new URL('../models/fashion-mnist-teacher/', import.meta.url).pathname;
const rec = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as RunRecord;
const cfg = rec.config as Record<string, unknown>;
const model = loadModel(join(run, 'model.onnx'));
const params = countParameters(model.graph).count;
const seconds = rec.history.reduce((a, h) => a + h.seconds, 0);
const last = rec.history[rec.history.length - 1]!;
mkdirSync(dest, { recursive: true });
copyFileSync(join(run, 'model.onnx'), join(dest, 'model.onnx'));
const size = statSync(join(dest, 'model.onnx')).size;
const facts = {
  architecture: `zoo:${String(cfg.model).replace(/^zoo:/, '')}`,
  params,
  sizeBytes: size,
  testAccuracy: last.valAcc,
  bestAccuracy: rec.bestValAcc,
  bestEpoch: rec.bestEpoch,
  epochs: rec.history.length,
  trainingSeconds: Math.round(seconds),
  seed: cfg.seed,
  lr: cfg.lr,
  schedule: cfg.schedule,
  batchSize: cfg.batchSize,
  machine: `${cpus()[0]?.model.trim()}, ${cpus().length} cores`,
};
writeFileAtomic(join(dest, 'teacher.json'), `${JSON.stringify(facts, null, 2)}\n`);
const pct = (v: number | undefined) => (v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);
writeFileAtomic(
  join(dest, 'README.md'),
  `# Shipped teacher: Fashion-MNIST

\`model.onnx\` is the default teacher of \`onnx-distill distill\` and \`compress\`. It was trained by this tool itself with
\`bash scripts/train-teacher.sh\`, i.e. \`onnx-distill train --model ${facts.architecture} --data fashion-mnist --epochs ${facts.epochs}
--lr ${facts.lr} --schedule ${facts.schedule} --weight-decay 5e-4 --batch-size ${facts.batchSize} --augment cifar --seed ${facts.seed}\`,
on the 60,000 training images of Debian's \`dataset-fashion-mnist\` (Zalando Research, MIT licence).

- Architecture: ${facts.architecture} — four conv3×3-BN-ReLU stages of 32/64/128/256 channels with 2×2 max pools between
  the last three, global average pool, Linear(256, 10); ${params.toLocaleString('en-US')} parameters; ${(size / 1e6).toFixed(2)} MB.
- Input 1×28×28, normalised with the training images' mean and std (recorded in the model's \`onnx_distill.preprocess\`
  metadata, with the class names in \`onnx_distill.classes\`).
- Recipe: SGD momentum 0.9, lr ${facts.lr} ${facts.schedule}, weight decay 5e-4, batch ${facts.batchSize}, pad-4 random crop + horizontal flip, seed ${facts.seed}.
- Test accuracy on the 10,000 test images after the last epoch: **${pct(facts.testAccuracy)}** (best ${pct(facts.bestAccuracy)} at epoch ${facts.bestEpoch}).
- Training time: ${(seconds / 60).toFixed(0)} min on ${facts.machine} (CPU, 2 onnxruntime threads, shared with other work).

None of its training images is in the embedded subset's test split (\`models/fashion-mnist-subset\`: its 2,000 test images are
Fashion-MNIST test images; \`test/models/shipped-data.test.ts\` checks this pixel for pixel). The subset's 12,000 training images
are a subset of the teacher's training images, as in any distillation on the teacher's own data.
`,
);
console.log(
  `shipped ${join(dest, 'model.onnx')}: ${pct(facts.testAccuracy)} test accuracy, ${params} params, ${size} bytes`,
);
