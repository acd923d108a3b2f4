import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { cli } from '../cli/helpers.js';

export { cli, FIXTURES } from '../cli/helpers.js';

// A temp folder removed when the test file ends.
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'od-export-'));
  after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

// A small classifier trained on the embedded Fashion-MNIST subset: zoo:cnn-tiny, 1 epoch (~6 s on one thread),
// ~74% validation accuracy: real images and real decision boundaries for int8 agreement.
export async function trainedCnn(dir: string): Promise<string> {
  const r = await cli([
    'train',
    '--model',
    'zoo:cnn-tiny',
    '--epochs',
    '1',
    '--batch-size',
    '64',
    '--threads',
    '1',
    '--out',
    dir,
    '--json',
  ]);
  if (r.code !== 0) throw new Error(`training the test model failed:\n${r.stderr}`);
  return join(dir, 'model.onnx');
}
