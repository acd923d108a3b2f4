import type { Argv } from 'yargs';
import { UserError } from '../../util/errors.js';
import type { CommandDef } from '../command.js';
import { startServer } from '../serve/server.js';

// `onnx-distill serve`: distil in a browser tab. The page trains with onnxruntime-web on the user's own images (read
// from disk by the browser); this process compiles the step and exports the student, on this machine only.
export const command: CommandDef = {
  command: 'serve',
  describe:
    'distil in a browser tab: a page on 127.0.0.1 that trains a student on your images with onnxruntime-web (WebGPU or wasm) and downloads it as ONNX (fp32, int8)',
  builder: (y: Argv) =>
    y.option('port', { type: 'number', default: 8765, describe: 'TCP port (0: any free port)' }).option('host', {
      type: 'string',
      default: '127.0.0.1',
      describe: 'address to listen on (keep 127.0.0.1: the page and its files are for this machine)',
    }),
  examples: [
    ['$0 serve', 'open http://127.0.0.1:8765/ in Chrome, pick a teacher .onnx and an image folder'],
    ['$0 serve --port 9000', 'another port'],
  ],
  run: async (a, ctx) => {
    const port = Number(a.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UserError(`--port: '${String(a.port)}' is not a TCP port (0-65535)`);
    const s = await startServer({ port, host: String(a.host), log: ctx.log }).catch((err: unknown) => {
      throw new UserError(
        `--port ${port}: cannot listen on ${String(a.host)} (${err instanceof Error ? err.message : String(err)})`,
      );
    });
    ctx.print(
      `serving the distillation page at ${s.url} (Ctrl-C to stop); your images stay in the browser, nothing leaves this machine`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await s.close();
  },
};
