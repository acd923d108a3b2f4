// The page of `onnx-distill serve`: read a teacher and images from disk, compile the run on the local serve process
// (the project's compiler: contract.json and the step graphs), train in this tab with onnxruntime-web (WebGPU when
// the browser has an adapter, else multi-threaded wasm), draw the curves, and download the student the project's
// exporter writes (fp32, int8). `window.onnxDistill` exposes the same steps to tests.
import { draw } from './chart.js';
import { batch, decode, layout, stats } from './images.js';
import { argmax, Trainer } from './trainer.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const say = (line) => { $('status').textContent = line; };
const api = async (path, init) => {
  const r = await fetch(`/api/${path}`, init);
  if (!r.ok) throw new Error((await r.json().catch(() => ({}))).error ?? `${path}: HTTP ${r.status}`);
  return r;
};

// What the tab knows: the adapter, the teacher, the decoded images, the compiled job and the trainer.
const app = { adapter: null, teacher: null, data: null, job: null, trainer: null, backend: null, curves: { losses: [], trainAcc: [], valAcc: [] }, stop: false, exports: {} };
window.onnxDistill = app;

async function probeAdapter() {
  try {
    const a = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
    app.adapter = a ? [a.info?.vendor, a.info?.architecture, a.info?.description].filter(Boolean).join(' ') || 'unnamed adapter' : 'none';
  } catch (err) {
    app.adapter = `none (${err.message})`;
  }
  $('adapter').textContent = app.adapter;
}

// onnxruntime-web's WebGPU build (also runs wasm), served from the installed package by the serve process.
async function loadOrt() {
  const ort = await import('/ort/ort.webgpu.min.mjs');
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  return ort;
}

async function readTeacher() {
  const f = $('teacher').files[0];
  if (!f) return;
  say(`reading ${f.name} (${(f.size / 1e6).toFixed(1)} MB)…`);
  app.teacher = await (await api('teacher', { method: 'POST', body: await f.arrayBuffer() })).json();
  say(`teacher: input ${app.teacher.input.join('x')}, ${app.teacher.classes} classes`);
  await readImages();
}

async function readImages() {
  const files = $('images').files;
  if (!app.teacher || !files.length) return ready();
  const l = layout(files);
  const shape = app.teacher.input;
  const progress = (what) => (n, total) => say(`decoding ${what} images ${n}/${total}…`);
  const train = await decode(l.train, l.classes, shape, progress('training'));
  const val = await decode(l.val, l.classes, shape, progress('validation'));
  const norm = app.teacher.mean ? { mean: app.teacher.mean, std: app.teacher.std } : stats(train, shape);
  app.data = { classes: l.classes, train, val, norm, shape };
  say(`${train.n} training and ${val.n} validation images in ${l.classes.length} classes, decoded in this tab`);
  ready();
}

function ready() {
  $('train').disabled = !(app.teacher && app.data);
}

// Compile on the serve process and open the three sessions.
async function compile(ep) {
  const d = app.data;
  const req = {
    teacher: app.teacher.id, student: $('student').value, method: $('method').value, epochs: Number($('epochs').value),
    batchSize: Number($('batch').value), lr: Number($('lr').value), classes: d.classes, trainSize: d.train.n, ...d.norm,
  };
  say('compiling the training step…');
  app.job = await (await api('compile', { method: 'POST', body: JSON.stringify(req) })).json();
  const ort = app.ort ??= await loadOrt();
  const useGpu = ep === 'webgpu' || (ep === 'auto' && app.adapter !== 'none' && !app.adapter.startsWith('none'));
  const file = async (name) => new Uint8Array(await (await api(`job/${app.job.job}/${name}`)).arrayBuffer());
  const open = async (name, providers) => ort.InferenceSession.create(await file(name), { executionProviders: providers });
  const providers = useGpu ? ['webgpu'] : ['wasm'];
  app.backend = useGpu ? 'webgpu' : `wasm (${ort.env.wasm.numThreads} thread${ort.env.wasm.numThreads > 1 ? 's' : ''})`;
  $('backend').textContent = app.backend;
  const sessions = {
    step: await open(useGpu ? app.job.files.stepWebgpu : app.job.files.step, providers),
    eval: await open(app.job.files.eval, providers),
    initialState: await open(app.job.files.initialState, ['wasm']),
  };
  app.trainer = new Trainer(ort, app.job.contract, sessions);
  await app.trainer.reset();
  return app.trainer;
}

// A seeded shuffle (mulberry32), so a run repeats.
function shuffled(n, seed) {
  let s = seed >>> 0;
  const rnd = () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; }
  return a;
}

async function valAccuracy(t) {
  const d = app.data;
  if (!d.val.n) return undefined;
  const K = d.classes.length;
  let right = 0;
  for (let i = 0; i < d.val.n; i += 32) {
    const idx = Array.from({ length: Math.min(32, d.val.n - i) }, (_, k) => i + k);
    const logits = await t.logits(batch(d.val, idx, d.shape, d.norm), [idx.length, ...d.shape]);
    idx.forEach((v, r) => { if (argmax(logits, r, K) === d.val.labels[v]) right++; });
  }
  return right / d.val.n;
}

async function train() {
  app.stop = false;
  $('train').disabled = true;
  $('stop').disabled = false;
  try {
    const t = await compile($('ep').value);
    const c = app.job.contract;
    const d = app.data;
    const [B, K] = c.step.labels.shape;
    app.curves = { losses: [], trainAcc: [], valAcc: [] };
    for (let e = 0; e < c.epochs && !app.stop; e++) {
      const order = shuffled(d.train.n, e + 1);
      let right = 0;
      const t0 = performance.now();
      for (let s = 0; s < c.stepsPerEpoch && !app.stop; s++) {
        const idx = order.slice(s * B, (s + 1) * B);
        const labels = Array.from(idx, (i) => d.train.labels[i]);
        const r = await t.run(batch(d.train, idx, d.shape, d.norm), labels, e);
        labels.forEach((y, i) => { if (argmax(r.logits, i, K) === y) right++; });
        app.curves.losses.push(r.loss);
        draw($('curves'), app.curves);
        say(`epoch ${e + 1}/${c.epochs}, step ${s + 1}/${c.stepsPerEpoch}: loss ${r.loss.toFixed(4)} (${((performance.now() - t0) / (s + 1)).toFixed(0)} ms/step on ${app.backend})`);
      }
      app.curves.trainAcc.push(right / (c.stepsPerEpoch * B));
      const va = await valAccuracy(t);
      if (va !== undefined) app.curves.valAcc.push(va);
      draw($('curves'), app.curves);
    }
    say(`${app.stop ? 'stopped' : 'done'}: ${app.curves.losses.length} steps on ${app.backend}; download the student below`);
    $('fp32').disabled = $('int8').disabled = false;
  } catch (err) {
    say(`error: ${err.message}`);
  } finally {
    $('train').disabled = false;
    $('stop').disabled = true;
  }
}

// The test hook: `steps` steps from the initial state on one fixed batch (the first B training images in order).
app.fixedBatch = async (steps, ep = 'wasm') => {
  const t = await compile(ep);
  const d = app.data;
  const [B] = app.job.contract.step.labels.shape;
  const idx = Array.from({ length: B }, (_, i) => i);
  const x = batch(d.train, idx, d.shape, d.norm);
  const labels = idx.map((i) => d.train.labels[i]);
  const losses = [];
  for (let k = 0; k < steps; k++) losses.push((await t.run(x, labels, 0)).loss);
  return { losses, x: Array.from(x), labels, job: app.job.job, backend: app.backend };
};

// Ask the serve process to export the trained student (state + up to 256 labelled images for calibration and
// verification, from this machine to this machine), download it, and evaluate it here.
async function exportStudent(format) {
  const d = app.data;
  const set = d.val.n ? d.val : d.train;
  const n = Math.min(256, set.n);
  const per = d.shape.reduce((a, b) => a * b, 1);
  const state = app.trainer.studentState();
  const parts = [...state.map(([, t]) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)), set.pixels.subarray(0, n * per)];
  const meta = { state: state.map(([name, t]) => ({ name, dims: t.dims })), labels: Array.from(set.labels.subarray(0, n)) };
  const head = new TextEncoder().encode(JSON.stringify({ meta, sizes: parts.map((p) => p.byteLength) }));
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, head.byteLength, true);
  say(`exporting ${format} (verified in onnxruntime-node and -web on ${n} of your images)…`);
  const r = await api(`export/${app.job.job}/${format}`, { method: 'POST', body: new Blob([len, head, ...parts]) });
  const bytes = new Uint8Array(await r.arrayBuffer());
  const verification = JSON.parse(decodeURIComponent(r.headers.get('x-verification') ?? '%7B%7D'));
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  a.download = `student.${format}.onnx`;
  a.click();
  app.exports[format] = { bytes, verification, ...(await evaluateHere(format, bytes, set, n)) };
  say(`downloaded student.${format}.onnx (${(bytes.byteLength / 1e3).toFixed(1)} kB; top-1 ${(100 * verification.top1.node).toFixed(2)}% on ${n} images)`);
  return app.exports[format];
}

// Accuracy and latency (median of 10 runs after 2 warm-up, batch 1 and 32) of an export in this browser's runtimes;
// returns the logits of the first batch on wasm for the tests.
async function evaluateHere(format, bytes, set, n) {
  const d = app.data;
  const K = d.classes.length;
  const eps = [['wasm', ['wasm']], ...(app.adapter && !app.adapter.startsWith('none') ? [['webgpu', ['webgpu']]] : [])];
  let first;
  for (const [name, providers] of eps) {
    const s = await app.ort.InferenceSession.create(bytes, { executionProviders: providers });
    const run = async (idx) => (await s.run({ [s.inputNames[0]]: new app.ort.Tensor('float32', batch(set, idx, d.shape, d.norm), [idx.length, ...d.shape]) }))[s.outputNames[0]].data;
    let right = 0;
    for (let i = 0; i < n; i += 32) {
      const idx = Array.from({ length: Math.min(32, n - i) }, (_, k) => i + k);
      const logits = await run(idx);
      if (i === 0 && name === 'wasm') first = { x: Array.from(batch(set, idx, d.shape, d.norm)), dims: [idx.length, ...d.shape], logits: Array.from(logits) };
      idx.forEach((v, r) => { if (argmax(logits, r, K) === set.labels[v]) right++; });
    }
    const ms = [];
    for (const b of [1, 32]) {
      const idx = Array.from({ length: b }, (_, k) => k % set.n);
      const times = [];
      for (let i = 0; i < 12; i++) { const t0 = performance.now(); await run(idx); if (i >= 2) times.push(performance.now() - t0); }
      ms.push(times.sort((a, b2) => a - b2)[5]);
    }
    await s.release();
    const row = $('evaluation').insertRow();
    for (const v of [format, name, `${((100 * right) / n).toFixed(2)}%`, ms[0].toFixed(2), ms[1].toFixed(2)]) row.insertCell().textContent = v;
  }
  return { first };
}

async function init() {
  const info = await (await api('info')).json();
  for (const z of info.zoo) $('student').add(new Option(`zoo:${z}`, `zoo:${z}`));
  for (const r of ['0.5', '0.25']) $('student').add(new Option(`slim:${r} (the teacher at ${r} width)`, `slim:${r}`));
  $('student').value = params.get('student') ?? 'zoo:cnn';
  for (const m of info.methods) $('method').add(new Option(m, m));
  $('method').value = params.get('method') ?? 'kd';
  for (const k of ['epochs', 'batch', 'lr', 'ep']) if (params.has(k)) $(k).value = params.get(k);
  $('teacher').addEventListener('change', () => readTeacher().catch((e) => say(`error: ${e.message}`)));
  $('images').addEventListener('change', () => readImages().catch((e) => say(`error: ${e.message}`)));
  $('train').addEventListener('click', train);
  $('stop').addEventListener('click', () => { app.stop = true; });
  for (const f of ['fp32', 'int8']) $(f).addEventListener('click', () => exportStudent(f).catch((e) => say(`error: ${e.message}`)));
  await probeAdapter();
  app.ready = true;
}

app.exportStudent = exportStudent;
app.train = train;
init().catch((e) => say(`error: ${e.message}`));
