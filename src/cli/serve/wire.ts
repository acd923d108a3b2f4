// The page's binary messages (web/app.js writes the same layout): a little-endian u32 length, that many bytes of
// JSON with `sizes` (the byte length of each part), then the parts back to back. Tensors travel as raw bytes.
export function decodeParts(bytes: Uint8Array): { meta: unknown; buffers: Uint8Array[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) throw new Error('message too short');
  const n = view.getUint32(0, true);
  const head = JSON.parse(Buffer.from(bytes.subarray(4, 4 + n)).toString('utf8')) as { sizes: number[]; meta: unknown };
  const buffers: Uint8Array[] = [];
  let at = 4 + n;
  for (const s of head.sizes) {
    if (at + s > bytes.byteLength) throw new Error('message shorter than its parts');
    buffers.push(bytes.subarray(at, at + s));
    at += s;
  }
  return { meta: head.meta, buffers };
}
