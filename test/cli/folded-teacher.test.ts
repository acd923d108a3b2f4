// Issue #11's done-when: sokd, mgd+kd (MAG and MAS) and ifm run end to end through main() with a PyTorch export whose
// BatchNorm was folded into its convolutions as the teacher (test/fixtures/mobilenetv2_folded.onnx, 3x64x64, 10
// classes). Tiny data, one epoch per stage, three steps an epoch: this checks that every part runs on such a teacher
// (grafting restores its BatchNorm, heads sit on its embedding, the proxy matches it), not that anything learns.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { loadModel } from '../../src/ir/model.js';
import { cli, FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-cli-folded-'));
after(() => rmSync(root, { recursive: true, force: true }));
const images = join(root, 'images');
const teacher = join(FIXTURES, 'mobilenetv2_folded.onnx');
const args = [
  '--data',
  images,
  '--teacher',
  teacher,
  '--student',
  'zoo:cnn-tiny',
  '--epochs',
  '1',
  '--batch-size',
  '16',
  '--threads',
  '1',
  '--json',
];

interface Net {
  name: string;
  role: string;
  params: number;
  bestValAcc: number | null;
  lastValAcc: number | null;
}
interface Summary {
  networks: Net[];
  outputs: Record<string, string>;
  stages?: { name: string; dir: string; reused: boolean; networks: Net[] }[];
}

before(async () => {
  assert.ok(!loadModel(teacher).graph.nodes.some((n) => n.opType === 'BatchNormalization'), 'the fixture is BN-folded');
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 48);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 32);
});

async function distill(method: string[], out: string): Promise<Summary> {
  const r = await cli(['distill', ...args, ...method, '--out', out]);
  assert.equal(r.code, 0, `${method.join(' ')}: exit ${r.code}\n${r.stderr}`);
  const s = JSON.parse(r.stdout) as Summary;
  for (const n of [...s.networks, ...(s.stages ?? []).flatMap((x) => x.networks)]) {
    assert.ok(
      Number.isFinite(n.lastValAcc) && n.lastValAcc! >= 0 && n.lastValAcc! <= 1,
      `${method.join(' ')}: ${n.name} accuracy ${n.lastValAcc}`,
    );
  }
  const student = loadModel(join(out, 'student.onnx'));
  assert.deepEqual(
    student.graph.inputs[0]!.type?.shape?.slice(1),
    [3, 64, 64],
    "the student takes the teacher's input",
  );
  return s;
}

const names = (nets: Net[]) => nets.map((n) => `${n.name}:${n.role}`);

test('sokd on a BN-folded teacher: student.onnx and teacher-kbm.onnx, the KBM as an auxiliary network', async () => {
  const out = join(root, 'sokd');
  const s = await distill(['--method', 'sokd'], out);
  assert.deepEqual(names(s.networks), ['teacher:teacher', 'student:student', 'kbm:auxiliary']);
  const kbm = loadModel(join(out, 'teacher-kbm.onnx'));
  assert.equal(kbm.graph.inputs.length, 1, 'teacher-kbm.onnx takes only the image');
  assert.deepEqual(kbm.graph.inputs[0]!.type?.shape?.slice(1), [3, 64, 64]);
});

test('mgd+kd on a BN-folded teacher, MAG then MAS in one folder: MAS reuses the heads MAG trained', async () => {
  const out = join(root, 'mgd');
  const mag = await distill(['--method', 'mgd+kd', '--mgd-variant', 'mag'], out);
  assert.deepEqual(
    mag.stages!.map((x) => [x.name, x.reused]),
    [
      ['heads', false],
      ['student', false],
    ],
  );
  assert.deepEqual(names(mag.stages![0]!.networks), ['teacher:teacher', 'head64:auxiliary', 'head256:auxiliary']);
  const marker = JSON.parse(readFileSync(join(mag.stages![0]!.dir, 'stage.json'), 'utf8')) as {
    outputs: Record<string, string>;
  };
  assert.deepEqual(Object.keys(marker.outputs), ['head64', 'head256']);
  for (const f of Object.values(marker.outputs)) assert.ok(existsSync(f), f);
  const mas = await distill(['--method', 'mgd+kd', '--mgd-variant', 'mas'], out);
  assert.deepEqual(
    mas.stages!.map((x) => [x.name, x.reused]),
    [
      ['heads', true],
      ['student', false],
    ],
  );
  assert.equal(mas.stages![0]!.dir, mag.stages![0]!.dir);
  assert.deepEqual(names(mas.networks), [
    'teacher:teacher',
    'head64:auxiliary',
    'head256:auxiliary',
    'student:student',
  ]);
});

test('ifm on a BN-folded teacher: the widened proxy learns CE, matches the teacher, then teaches the student', async () => {
  const out = join(root, 'ifm');
  const s = await distill(['--method', 'ifm'], out);
  assert.deepEqual(
    s.stages!.map((x) => x.name),
    ['proxy-ce', 'proxy-match', 'student'],
  );
  assert.ok(names(s.stages![1]!.networks).includes('teacher:teacher'));
  for (const st of s.stages!.slice(0, 2)) assert.ok(existsSync(join(st.dir, 'proxy.onnx')), `${st.name}: proxy.onnx`);
  assert.ok(!existsSync(join(out, 'proxy.onnx')), 'only the student is exported in the run folder');
});
