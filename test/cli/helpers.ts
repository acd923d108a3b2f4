import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { CommandDef } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { ModelProtoSchema } from '../../src/onnx/onnx_pb.js';

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

// What one CLI run left behind.
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

// Run main() in-process with captured output (the bin adds nothing but the exit code).
export async function cli(argv: string[], only?: CommandDef[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(
    argv,
    {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
    },
    only,
  );
  return { code, stdout, stderr };
}

// Broken model files, one per way a user's file can be wrong; returns their paths by case name.
export function badModels(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-distill-cli-'));
  const good = readFileSync(join(FIXTURES, 'small_resnet_eval.onnx'));
  const write = (name: string, bytes: Uint8Array) => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  };
  const domain = fromBinary(ModelProtoSchema, good);
  domain.graph!.node[0]!.domain = 'com.example.custom';
  const escape = fromBinary(ModelProtoSchema, readFileSync(join(FIXTURES, 'small_ext/model.onnx')));
  for (const t of escape.graph!.initializer)
    for (const e of t.externalData) if (e.key === 'location') e.value = '../weights.bin';
  const missingDir = mkdtempSync(join(dir, 'missing-'));
  copyFileSync(join(FIXTURES, 'small_ext/model.onnx'), join(missingDir, 'model.onnx'));
  return {
    truncated: write('truncated.onnx', good.subarray(0, good.length >> 1)),
    png: write('image.png', Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex')),
    random: write(
      'random.onnx',
      Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251),
    ),
    domain: write('domain.onnx', toBinary(ModelProtoSchema, domain)),
    escape: write('escape.onnx', toBinary(ModelProtoSchema, escape)),
    missingExternal: join(missingDir, 'model.onnx'),
  };
}
