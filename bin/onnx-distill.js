#!/usr/bin/env node
// Runs the built CLI (dist/, made by `npm run build` / npm ci's prepare); in a dev checkout without dist/ (or with
// ONNX_DISTILL_SOURCE=1) it runs the TypeScript sources through tsx. Only this file decides the process exit code.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
let entry = built;
if (process.env.ONNX_DISTILL_SOURCE === '1' || !existsSync(built)) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../src/cli/main.ts', import.meta.url);
}
// `onnx-distill inspect m.onnx | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  else throw err;
});
// Ctrl-C outside a training loop (reading data, compiling, exporting) has nothing to checkpoint: stop with 130, the
// interrupted code, releasing the --out lock on the way out. A loop or server with its own handler acts instead.
process.on('SIGINT', () => {
  if (process.listenerCount('SIGINT') > 1) return;
  process.stderr.write('onnx-distill: interrupted\n');
  process.exit(130);
});
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
