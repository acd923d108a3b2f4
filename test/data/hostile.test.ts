// Hostile image trees: a decompression bomb is refused by the pixel limit and counted like other unreadable files;
// link loops, FIFOs and unreadable folders are reported with their paths, never followed or waited on forever.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { MAX_IMAGE_PIXELS } from '../../src/data/decode.js';
import { openData } from '../../src/data/index.js';
import { UserError } from '../../src/util/errors.js';

const root = mkdtempSync(join(tmpdir(), 'od-hostile-'));
after(() => {
  try {
    chmodSync(join(root, 'locked', 'b'), 0o755);
  } catch {
    /* absent */
  }
  rmSync(root, { recursive: true, force: true });
});

function crc32(b: Buffer): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
// A valid, tiny PNG header that claims a w x h gray canvas (one compressed row of data follows).
function bombPng(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 0;
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(w + 1))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function png(path: string, v: number): Promise<void> {
  await sharp(Buffer.alloc(8 * 8 * 3, v), { raw: { width: 8, height: 8, channels: 3 } })
    .png()
    .toFile(path);
}

before(async () => {
  for (const c of ['a', 'b']) {
    mkdirSync(join(root, 'bomb', c), { recursive: true });
    for (let i = 0; i < 10; i++) await png(join(root, 'bomb', c, `${i}.png`), c === 'a' ? 30 : 220);
  }
  // 10,000 x 10,000 is under libvips' own default limit (268 MP) but over ours; the file is ~10 KB.
  writeFileSync(join(root, 'bomb', 'a', 'bomb.png'), bombPng(10_000, 10_000));
  symlinkSync('loop.png', join(root, 'bomb', 'b', 'loop.png'));
  execFileSync('mkfifo', [join(root, 'bomb', 'b', 'pipe.png')]);
  mkdirSync(join(root, 'loops', 'a'), { recursive: true });
  await png(join(root, 'loops', 'a', '0.png'), 1);
  symlinkSync('b', join(root, 'loops', 'b'));
  mkdirSync(join(root, 'locked', 'a'), { recursive: true });
  mkdirSync(join(root, 'locked', 'b'), { recursive: true });
  await png(join(root, 'locked', 'a', '0.png'), 1);
  await png(join(root, 'locked', 'b', '0.png'), 2);
  chmodSync(join(root, 'locked', 'b'), 0);
});

test(
  'a decompression bomb, a link loop and a FIFO among images are skipped and reported like other unreadable files',
  { timeout: 60_000 },
  async () => {
    assert.ok(10_000 * 10_000 > MAX_IMAGE_PIXELS);
    for (const cacheBelow of [64, 0]) {
      const ds = await openData(join(root, 'bomb'), { input: [3, 8, 8], valSplit: 0.2, seed: 1, cacheBelow });
      for (const split of [ds.train, ds.val!])
        for await (const _ of split.loader({ batchSize: 4, epoch: 0, seed: 1, shuffle: false, dropLast: false })) {
          /* drain */
        }
      const bad = new Map(ds.failures().map((f) => [f.path.slice(root.length + 6), f.reason]));
      assert.deepEqual([...bad.keys()].sort(), ['a/bomb.png', 'b/loop.png', 'b/pipe.png'], `cacheBelow ${cacheBelow}`);
      assert.match(bad.get('a/bomb.png')!, /pixel limit.*decompression bomb/);
      assert.match(bad.get('b/loop.png')!, /ELOOP|symbolic links/);
      assert.match(bad.get('b/pipe.png')!, /not a regular file/);
    }
  },
);

test('a class folder that is a symbolic link loop is a user error naming it', async () => {
  await assert.rejects(
    openData(join(root, 'loops'), { input: [3, 8, 8] }),
    (e: unknown) => e instanceof UserError && /loops\/b: .*symbolic link loop/.test(e.message),
  );
});

test(
  'an unreadable class folder is a user error naming it',
  { skip: process.getuid?.() === 0 ? 'root reads every folder' : false },
  async () => {
    await assert.rejects(
      openData(join(root, 'locked'), { input: [3, 8, 8] }),
      (e: unknown) =>
        e instanceof UserError && /locked\/b: cannot read the class folder 'b' \(EACCES\)/.test(e.message),
    );
  },
);
