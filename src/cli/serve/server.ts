// The HTTP side of `onnx-distill serve`: the page (web/), onnxruntime-web's files, and a small JSON/binary API over
// Jobs, on 127.0.0.1 by default. Every response is cross-origin isolated (COOP/COEP), which multi-threaded wasm needs.
import { readFileSync, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FORMATS, type Format } from '../../export/index.js';
import { METHODS } from '../../methods/index.js';
import type { TensorData } from '../../runtime/tensor.js';
import { UserError, messageOf } from '../../util/errors.js';
import { ZOO } from '../../zoo/index.js';
import { Jobs, type CompileRequest } from './jobs.js';
import { decodeParts } from './wire.js';

const PAGE = fileURLToPath(new URL('../../../web/', import.meta.url));
const ORT = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
};
const LIMIT = 512 * 2 ** 20;

function body(req: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > LIMIT) reject(new UserError('request over 512 MiB'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function send(
  res: ServerResponse,
  status: number,
  data: Uint8Array | string,
  type: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': type,
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(data);
}
const json = (res: ServerResponse, v: unknown, status = 200) =>
  send(res, status, JSON.stringify(v), 'application/json');

// A static file under `root`, never outside it.
function staticFile(res: ServerResponse, root: string, rel: string): void {
  const path = normalize(join(root, rel));
  if (!path.startsWith(root) || !existsSync(path) || extname(path) === '')
    return json(res, { error: `no ${rel}` }, 404);
  send(res, 200, readFileSync(path), TYPES[extname(path)] ?? 'application/octet-stream');
}

async function api(jobs: Jobs, req: IncomingMessage, res: ServerResponse, path: string[]): Promise<void> {
  const [what, a, b] = path;
  if (req.method === 'GET' && what === 'info') {
    return json(res, {
      zoo: [...ZOO.keys()],
      methods: [...METHODS.values()]
        .filter((m) => !m.stages && !m.networks && !m.loopOnly && m.teacher !== 'trainable' && m.minStudents <= 1)
        .map((m) => m.name),
      formats: FORMATS.filter((f) => f !== 'fp16'),
    });
  }
  if (req.method === 'POST' && what === 'teacher') return json(res, jobs.teacher(await body(req)));
  if (req.method === 'POST' && what === 'compile')
    return json(res, await jobs.compile(JSON.parse(Buffer.from(await body(req)).toString('utf8')) as CompileRequest));
  if (req.method === 'GET' && what === 'job' && a && b)
    return send(res, 200, jobs.file(a, b), b.endsWith('.json') ? 'application/json' : 'application/octet-stream');
  if (req.method === 'POST' && what === 'export' && a && b) {
    if (!FORMATS.includes(b as Format)) throw new UserError(`format '${b}': choose one of ${FORMATS.join(', ')}`);
    const { meta, buffers } = decodeParts(await body(req));
    const m = meta as { state: { name: string; dims: number[] }[]; labels: number[] };
    const state: Record<string, TensorData> = Object.fromEntries(
      m.state.map((s, i) => [
        s.name,
        { type: 'float32', dims: s.dims, data: new Float32Array(buffers[i]!.slice().buffer) },
      ]),
    );
    const pixels = buffers[m.state.length]!;
    const r = await jobs.export(a, b as Format, state, { pixels, labels: Int32Array.from(m.labels) });
    return send(res, 200, r.bytes, 'application/octet-stream', {
      'x-verification': encodeURIComponent(JSON.stringify(r.verification)),
    });
  }
  json(res, { error: `no API ${req.method} /api/${path.join('/')}` }, 404);
}

// Start serving; resolves once listening (port 0 picks a free one: read `address()`).
export async function startServer(o: {
  port: number;
  host: string;
  log?: (line: string) => void;
}): Promise<{ server: Server; url: string; jobs: Jobs; close(): Promise<void> }> {
  const jobs = new Jobs();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const done = (err: unknown) => {
      if (err) o.log?.(`${req.method} ${url.pathname}: ${messageOf(err)}`);
      if (err && !res.headersSent) json(res, { error: messageOf(err) }, err instanceof UserError ? 400 : 500);
    };
    try {
      if (parts[0] === 'api') api(jobs, req, res, parts.slice(1)).catch(done);
      else if (parts[0] === 'ort') staticFile(res, ORT, parts.slice(1).join('/'));
      else staticFile(res, PAGE, parts.length ? parts.join('/') : 'index.html');
    } catch (err: unknown) {
      done(err);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    server,
    jobs,
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          jobs.close();
          resolve();
        });
      }),
  };
}
