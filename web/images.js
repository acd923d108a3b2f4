// The user's image folder, decoded in this tab (createImageBitmap + a canvas): uint8 pixels [C,H,W] at the teacher's
// input size, per split. Layout as `onnx-distill` reads folders: root/<class>/*, or root/train|val/<class>/*;
// without a val/ folder every tenth image of each class is held out. Images are stretched to the input size.
const IMAGE = /\.(png|jpe?g|webp|gif|bmp|avif)$/i;

// Group the picked files by split and class (class names sorted, as the CLI does).
export function layout(files) {
  const items = [];
  for (const f of files) {
    if (!IMAGE.test(f.name)) continue;
    const parts = (f.webkitRelativePath || f.name).split('/').slice(1);
    if (parts.length < 2) continue;
    const split = parts.length >= 3 && /^(train|val|test)$/.test(parts[0]) ? (parts[0] === 'train' ? 'train' : 'val') : undefined;
    items.push({ file: f, cls: parts[parts.length - 2], split, path: parts.join('/') });
  }
  const classes = [...new Set(items.map((i) => i.cls))].sort();
  const hasVal = items.some((i) => i.split === 'val');
  items.sort((a, b) => (a.path < b.path ? -1 : 1));
  const seen = new Map();
  for (const i of items) {
    if (i.split) continue;
    const k = (seen.get(i.cls) ?? 0) + 1;
    seen.set(i.cls, k);
    i.split = !hasVal && k % 10 === 0 ? 'val' : 'train';
  }
  return { classes, train: items.filter((i) => i.split === 'train'), val: items.filter((i) => i.split === 'val') };
}

// Decode items to one uint8 array [N, C, H, W] and int32 labels; gray inputs get ITU-R 601 luma.
export async function decode(items, classes, [c, h, w], progress) {
  const pixels = new Uint8Array(items.length * c * h * w);
  const labels = new Int32Array(items.length);
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  for (let n = 0; n < items.length; n++) {
    const bmp = await createImageBitmap(items[n].file);
    ctx.clearRect(0, 0, w, h);
    ctx.drawImage(bmp, 0, 0, w, h);
    bmp.close();
    const rgba = ctx.getImageData(0, 0, w, h).data;
    const base = n * c * h * w;
    for (let p = 0; p < h * w; p++) {
      const [r, g, b] = [rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2]];
      if (c === 1) pixels[base + p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      else for (let k = 0; k < 3; k++) pixels[base + k * h * w + p] = rgba[4 * p + k];
    }
    labels[n] = classes.indexOf(items[n].cls);
    if (progress && n % 64 === 0) progress(n, items.length);
  }
  return { pixels, labels, n: items.length };
}

// Per-channel mean and std of pixels on the 0..1 scale (when the teacher records none).
export function stats({ pixels, n }, [c, h, w]) {
  const mean = [], std = [];
  for (let k = 0; k < c; k++) {
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) {
      const base = (i * c + k) * h * w;
      for (let p = 0; p < h * w; p++) { const v = pixels[base + p] / 255; s += v; s2 += v * v; }
    }
    const m = s / (n * h * w);
    mean.push(m);
    std.push(Math.sqrt(Math.max(s2 / (n * h * w) - m * m, 1e-12)));
  }
  return { mean, std };
}

// Normalised float32 images [len, C, H, W] of the samples at `idx`.
export function batch(set, idx, [c, h, w], { mean, std }) {
  const per = c * h * w;
  const x = new Float32Array(idx.length * per);
  for (let i = 0; i < idx.length; i++) {
    const src = idx[i] * per;
    for (let k = 0; k < c; k++) {
      for (let p = 0; p < h * w; p++) x[i * per + k * h * w + p] = (set.pixels[src + k * h * w + p] / 255 - mean[k]) / std[k];
    }
  }
  return x;
}
