// The staged-method flags and `stages:` through main(): `compile` writes every stage (so most checks need no
// training), --kbm-tap/--kbm-init/--mgd-variant/--proxy/--stage-optimizer show in the compiled contracts, bad input
// exits 2 naming the option or the config file, line and key, and a finished stage is reused by distill only while
// its stage config is unchanged.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportSplit } from '../../scripts/export-fashion-mnist-png.js';
import { openIdx } from '../../src/data/sources/idx.js';
import type { MemoryImages } from '../../src/data/types.js';
import { loadModel } from '../../src/ir/model.js';
import type { ArtifactContract } from '../../src/train/artifacts.js';
import { cli, FIXTURES } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'od-cli-staged-'));
after(() => rmSync(root, { recursive: true, force: true }));
const images = join(root, 'images');
const teacher = join(FIXTURES, 'small_resnet_eval.onnx');
const common = ['--data', images, '--teacher', teacher, '--batch-size', '16', '--threads', '1'];
const small = [...common, '--student', 'zoo:cnn-tiny'];
let n = 0;
const out = () => join(root, `out${++n}`);
const contract = (dir: string): ArtifactContract =>
  JSON.parse(readFileSync(join(dir, 'contract.json'), 'utf8')) as ArtifactContract;
const yaml = (text: string) => {
  const f = join(root, `cfg${++n}.yaml`);
  writeFileSync(f, text);
  return f;
};

async function ok(argv: string[]) {
  const r = await cli(argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r;
}

before(async () => {
  const idx = openIdx(new URL('../../models/fashion-mnist-subset', import.meta.url).pathname);
  await exportSplit(idx.train as MemoryImages, idx.classes, join(images, 'train'), 64);
  await exportSplit(idx.val as MemoryImages, idx.classes, join(images, 'val'), 32);
});

test("compile writes sokd's one step, and one folder per stage for mgd+kd and ifm with the method's optimizers", async () => {
  const sokd = out();
  await ok(['compile', ...small, '--method', 'sokd', '--out', sokd]);
  assert.ok(
    contract(sokd).initialState.names.some((s) => s.startsWith('kbm/')),
    "the KBM trains in sokd's step",
  );
  const mgd = out();
  const r = await ok(['compile', ...small, '--method', 'mgd+kd', '--out', mgd]);
  assert.match(r.stdout, /stage1-heads\/.*trains head64, head256/);
  const plan = JSON.parse(readFileSync(join(mgd, 'stages.json'), 'utf8')) as {
    stages: { name: string; dir: string; trains: string[]; handedOver: string[] }[];
  };
  assert.deepEqual(
    plan.stages.map((s) => [s.name, s.dir, s.trains, s.handedOver]),
    [
      ['heads', 'stage1-heads', ['head64', 'head256'], []],
      ['student', 'stage2-student', ['student'], ['head64', 'head256']],
    ],
  );
  const [heads, student] = [contract(join(mgd, 'stage1-heads')), contract(join(mgd, 'stage2-student'))];
  assert.deepEqual([heads.optimizer.name, heads.step.lr.perStep[0]], ['sgd', 0.01], 'mgd heads: SGD lr 0.01');
  assert.deepEqual(
    [student.optimizer.name, student.step.lr.perStep[0]],
    ['sgd', 0.05],
    "mgd student: the run's optimizer",
  );
  assert.deepEqual(
    student.step.termWeights.map((t) => [t.term, t.weight]),
    [
      ['ce', 0.2],
      ['kd', 0.8],
      ['gkd', 1],
      ['gkd', 1],
    ],
  );
  for (const f of ['train_step.onnx', 'eval.onnx', 'initial_state.onnx'])
    assert.ok(existsSync(join(mgd, 'stage2-student', f)), f);
  const ifm = out();
  await ok(['compile', ...small, '--method', 'ifm', '--out', ifm]);
  for (const dir of ['stage1-proxy-ce', 'stage2-proxy-match', 'stage3-student']) {
    const c = contract(join(ifm, dir));
    assert.deepEqual(
      [c.optimizer.name, c.step.lr.perStep[0], (c.optimizer.hyper as { weightDecay: number }).weightDecay],
      ['adam', 1e-3, 0],
      dir,
    );
  }
});

test("--stage-optimizer run, and a stages: entry over both, show in each stage's contract", async () => {
  const run = out();
  await ok([
    'compile',
    ...small,
    '--method',
    'ifm',
    '--stage-optimizer',
    'run',
    '--optimizer',
    'sgd',
    '--lr',
    '0.02',
    '--out',
    run,
  ]);
  for (const dir of ['stage1-proxy-ce', 'stage2-proxy-match', 'stage3-student'])
    assert.deepEqual(
      [contract(join(run, dir)).optimizer.name, contract(join(run, dir)).step.lr.perStep[0]],
      ['sgd', 0.02],
      dir,
    );
  const cfg = yaml(
    'method: ifm\nepochs: 3\nstages:\n  proxy-match:\n    optimizer: sgd\n    lr: 0.3\n    epochs: 2\n    schedule: constant\n  student:\n    terms: { ce: 0.5 }\n',
  );
  const dir = out();
  await ok(['compile', ...small, '--config', cfg, '--out', dir]);
  const [ce, match, student] = ['stage1-proxy-ce', 'stage2-proxy-match', 'stage3-student'].map((d) =>
    contract(join(dir, d)),
  );
  assert.deepEqual([ce!.optimizer.name, ce!.epochs], ['adam', 3]);
  assert.deepEqual([match!.optimizer.name, match!.epochs, [...new Set(match!.step.lr.perStep)]], ['sgd', 2, [0.3]]);
  assert.equal(student!.step.termWeights.find((t) => t.term === 'ce')!.weight, 0.5);
  const bad = await cli(['compile', ...small, '--method', 'ifm', '--stage-optimizer', 'stage', '--out', out()]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /stage-optimizer.*Choices: "method", "run"/s);
});

test('--kbm-tap: another stage grafts more of the teacher; a tap that is not a 4-D feature map exits 2', async () => {
  const kbm = (dir: string) =>
    contract(dir).initialState.names.filter((s) => s.startsWith('kbm/') && s.endsWith('.weight'));
  const auto = out();
  await ok(['compile', ...small, '--method', 'sokd', '--out', auto]);
  const f0 = out();
  await ok(['compile', ...small, '--method', 'sokd', '--kbm-tap', 'f0', '--out', f0]);
  assert.ok(
    kbm(auto).every((s) => !s.startsWith('kbm/layer1.')) && kbm(auto).some((s) => s.startsWith('kbm/layer2.')),
    kbm(auto).join(' '),
  );
  assert.ok(kbm(f0).some((s) => s.startsWith('kbm/layer1.')) && kbm(f0).length > kbm(auto).length, kbm(f0).join(' '));
  for (const [tap, msg] of [
    ['embedding', /--kbm-tap embedding: graft tap 'embedding' .* is \["N",16\], not a 4-D feature map/],
    ['nope', /--kbm-tap nope: no tap or value named 'nope'/],
  ] as const) {
    const r = await cli(['distill', ...small, '--method', 'sokd', '--kbm-tap', tap, '--out', out()]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, msg);
  }
});

test("--kbm-init copy starts the KBM from the teacher's weights, random from fresh ones", async () => {
  const t = loadModel(teacher);
  const teacherW = (name: string) => t.graph.initializers.find((v) => v.name === name)!.constant!.data;
  const kbmW = (dir: string, name: string) =>
    loadModel(join(dir, 'initial_state.onnx')).graph.initializers.find((v) => v.name === `init/kbm/${name}`)!.constant!
      .data;
  const [copy, random] = [out(), out()];
  await ok(['compile', ...small, '--method', 'sokd', '--kbm-init', 'copy', '--out', copy]);
  await ok(['compile', ...small, '--method', 'sokd', '--kbm-init', 'random', '--out', random]);
  for (const w of ['layer2.conv1.weight', 'fc.weight']) {
    assert.deepEqual(kbmW(copy, w), teacherW(w), `copy: ${w}`);
    assert.notDeepEqual(kbmW(random, w), teacherW(w), `random: ${w}`);
  }
  const bad = await cli(['compile', ...small, '--method', 'sokd', '--kbm-init', 'teacher', '--out', out()]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /kbm-init.*Choices: "random", "copy"/s);
});

test('--mgd-variant mas distils towards the mean of the three teacher heads, mag towards the teacher; a bad variant exits 2', async () => {
  const terms = async (variant: string) => {
    const dir = out();
    await ok(['compile', ...small, '--method', 'mgd+kd', '--mgd-variant', variant, '--out', dir]);
    return contract(join(dir, 'stage2-student')).step.termWeights.map((t) => t.term);
  };
  assert.deepEqual(await terms('mag'), ['ce', 'kd', 'gkd', 'gkd']);
  assert.deepEqual(await terms('mas'), ['ce', 'kdavg', 'gkd', 'gkd']);
  const bad = await cli(['compile', ...small, '--method', 'mgd+kd', '--mgd-variant', 'mgs', '--out', out()]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /mgd-variant.*Choices: "mag", "mas"/s);
});

test("--proxy zoo:… and a file become ifm's proxy; a student that cannot be widened without --proxy exits 2", async () => {
  const proxyState = (dir: string) =>
    contract(join(dir, 'stage1-proxy-ce')).initialState.names.filter((s) => s.startsWith('proxy/'));
  const widened = out();
  await ok(['compile', ...small, '--method', 'ifm', '--out', widened]);
  const zoo = out();
  await ok(['compile', ...small, '--method', 'ifm', '--proxy', 'zoo:resnet8', '--out', zoo]);
  assert.notDeepEqual(proxyState(zoo), proxyState(widened), 'zoo:resnet8, not the widened student');
  const file = join(root, 'proxy.onnx');
  await ok(['init-model', 'zoo:cnn', '--input', '1x28x28', '--classes', '10', '--seed', '3', '--out', file]);
  const fromFile = out();
  await ok(['compile', ...small, '--method', 'ifm', '--proxy', file, '--out', fromFile]);
  const init = loadModel(join(fromFile, 'stage1-proxy-ce', 'initial_state.onnx')).graph.initializers;
  for (const w of loadModel(file).graph.initializers.filter((v) => v.name.endsWith('.weight'))) {
    assert.deepEqual(
      init.find((v) => v.name === `init/proxy/${w.name}`)?.constant?.data,
      w.constant!.data,
      `proxy ${w.name} is the file's`,
    );
  }
  const cases: [string[], RegExp][] = [
    [
      ['--student', 'zoo:mobile-half', '--method', 'ifm'],
      /ifm: the student 'student' zoo:mobile-half has no widened form in the zoo; pass --proxy/,
    ],
    [['--method', 'kd', '--proxy', 'zoo:cnn'], /--proxy is the proxy teacher of --method ifm; this run's method is kd/],
    [['--method', 'ifm', '--proxy', join(root, 'missing.onnx')], /missing\.onnx/],
  ];
  for (const [argv, msg] of cases) {
    const r = await cli(['distill', ...(argv.includes('--student') ? common : small), ...argv, '--out', out()]);
    assert.equal(r.code, 2, `${argv.join(' ')}\n${r.stderr}`);
    assert.match(r.stderr, msg, argv.join(' '));
  }
  await ok([
    'compile',
    ...common,
    '--student',
    'zoo:mobile-half',
    '--method',
    'ifm',
    '--proxy',
    'zoo:cnn',
    '--out',
    out(),
  ]);
});

test('bad stages: config exits 2 naming the file, the line and the key', async () => {
  const cases: [string, RegExp][] = [
    [
      'method: mgd+kd\nepochs: 1\nstages:\n  heads: { epochs: 1 }\n  head256:\n    lr: 0.1\n',
      /cfg\d+\.yaml:5: 'stages\.head256': mgd\+kd has no stage 'head256'; its stages are heads, student/,
    ],
    [
      'method: mgd+kd\nstages:\n  heads:\n    lr: 0.1\n    lrr: 0.2\n',
      /cfg\d+\.yaml:5: unknown key 'stages\.heads\.lrr'/,
    ],
    ['method: mgd+kd\nstages:\n  heads:\n    epochs: two\n', /cfg\d+\.yaml:4: 'stages\.heads\.epochs' must be integer/],
    ['method: mgd+kd\nstages:\n  heads:\n    lr: 0\n', /cfg\d+\.yaml:4: 'stages\.heads\.lr' must be > 0/],
    [
      'method: mgd+kd\nstages:\n  heads:\n    momentum: -0.5\n',
      /cfg\d+\.yaml:4: 'stages\.heads\.momentum' must be >= 0/,
    ],
    [
      'method: ifm\nstages:\n  student:\n    optimizer: rmsprop\n',
      /cfg\d+\.yaml:4: 'stages\.student\.optimizer' must be equal to one of the allowed values \(sgd, adam, adamw\)/,
    ],
    ['method: ifm\nstages:\n  proxy-ce: 3\n', /cfg\d+\.yaml:3: 'stages\.proxy-ce' must be object/],
    ['method: ifm\nstages:\n  - proxy-ce\n', /cfg\d+\.yaml:2: 'stages' must be object/],
    [
      'method: ifm\n\nstages:\n  proxy-match:\n    schedule: linear\n',
      /cfg\d+\.yaml:5: 'stages\.proxy-match\.schedule': unknown schedule 'linear'/,
    ],
    [
      'method: mgd+kd\nstages:\n  student:\n    terms: { kdd: 1 }\n',
      /cfg\d+\.yaml:4: 'stages\.student\.terms': 'kdd' is not a term of this run; its terms are ce, kd, gkd64, gkd256/,
    ],
    ['method: kd\nstages:\n  student:\n    epochs: 2\n', /cfg\d+\.yaml:2: 'stages': --method kd has no stages/],
  ];
  for (const [text, msg] of cases) {
    const r = await cli(['distill', ...small, '--config', yaml(text), '--out', out()]);
    assert.equal(r.code, 2, `${text}\n${r.stderr}`);
    assert.match(r.stderr, msg, text);
  }
});

test('distill reuses a finished stage with the same stage config and trains it again when stages: changes it', async () => {
  const dir = out();
  const artifacts = join(root, 'artifacts');
  const cfg = (lr: number) =>
    yaml(`method: mgd+kd\nepochs: 1\nstages:\n  heads:\n    optimizer: adam\n    lr: ${lr}\n`);
  const first = await ok([
    'distill',
    ...small,
    '--config',
    cfg(1e-3),
    '--out',
    dir,
    '--save-artifacts',
    artifacts,
    '--json',
  ]);
  assert.match(first.stderr, /stage 1\/2 \(heads\): 1 epoch, adam lr 0\.001 cosine, weight decay 0\.0005/);
  assert.deepEqual(
    [
      contract(join(artifacts, 'stage1-heads')).optimizer.name,
      contract(join(artifacts, 'stage2-student')).optimizer.name,
    ],
    ['adam', 'sgd'],
  );
  const s = JSON.parse(first.stdout) as {
    stages: { name: string; reused: boolean; networks: { name: string; lastValAcc: number }[] }[];
  };
  assert.deepEqual(
    s.stages.map((x) => [x.name, x.reused]),
    [
      ['heads', false],
      ['student', false],
    ],
  );
  for (const h of s.stages[0]!.networks.filter((x) => x.name.startsWith('head')))
    assert.ok(h.lastValAcc >= 0 && h.lastValAcc <= 1, JSON.stringify(h));
  const again = await ok(['distill', ...small, '--config', cfg(1e-3), '--out', dir]);
  assert.match(again.stderr, /stage 1\/2 \(heads\): reusing .*stage1-heads-/);
  const changed = await ok(['distill', ...small, '--config', cfg(2e-3), '--out', dir]);
  assert.doesNotMatch(changed.stderr, /reusing/);
  assert.match(changed.stderr, /stage 1\/2 \(heads\): 1 epoch, adam lr 0\.002/);
});
