import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { importFolder } from '../util/registry.js';
import type { CliContext, CommandDef } from './command.js';
import { exitCodeFor, UsageError, type CliIO } from './exit.js';

// Where the CLI writes: the process streams by default, buffers in tests.
export type { CliIO } from './exit.js';

const processIO: CliIO = {
  stdout: (text) => {
    process.stdout.write(text);
  },
  stderr: (text) => {
    process.stderr.write(text);
  },
};

// package.json sits two folders up from both src/cli/main.ts and dist/cli/main.js.
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

// Every command file in ./commands (one file per command, `export const command: CommandDef`).
export async function loadCommands(): Promise<CommandDef[]> {
  return importFolder(new URL('./commands/', import.meta.url), (m) => m.command as CommandDef | undefined);
}

const EPILOGUE =
  'Each command has its own --help with examples. Guide, install notes and the full command reference: README.md (https://github.com/onnx-distill/onnx-distill#readme).';

function contextFor(args: Record<string, unknown>, io: CliIO): CliContext {
  return {
    json: args.json === true,
    verbose: args.verbose === true,
    print: (line) => io.stdout(`${line}\n`),
    log: (line) => io.stderr(`${line}\n`),
  };
}

function register(y: Argv, def: CommandDef, io: CliIO): Argv {
  return y.command({
    command: def.command,
    describe: def.describe,
    builder: (sub: Argv) => {
      const b = def.builder(sub);
      for (const [cmd, what] of def.examples ?? []) b.example(cmd, what);
      return b;
    },
    handler: async (args: Record<string, unknown>) => {
      await def.run(args, contextFor(args, io));
    },
  });
}

// Declare the parser: global flags, one yargs command per command file, strict options; it never exits the process.
function parser(commands: CommandDef[], io: CliIO): Argv {
  let y: Argv = yargs()
    .scriptName('onnx-distill')
    .usage(
      '$0 <command> [options]\n\nCompress ONNX image classifiers by knowledge distillation, trained by stock onnxruntime.',
    )
    .option('verbose', {
      type: 'boolean',
      default: false,
      describe: 'Print progress details and full error causes',
      global: true,
    })
    .option('json', {
      type: 'boolean',
      default: false,
      describe: 'Print machine-readable JSON on stdout (messages go to stderr)',
      global: true,
    })
    .version(packageVersion())
    .help()
    .alias('help', 'h')
    .strict()
    .demandCommand(1, 'Name a command (see the list above).')
    .recommendCommands()
    .epilogue(EPILOGUE)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    // Validation failures (msg, no err) become UsageError; errors thrown by commands pass through unchanged.
    .fail((msg: string | undefined, err: Error | undefined) => {
      throw err ?? new UsageError(msg ?? 'invalid arguments');
    });
  for (const def of commands) y = register(y, def, io);
  for (const def of commands) for (const [cmd, what] of (def.examples ?? []).slice(0, 1)) y = y.example(cmd, what);
  return y;
}

// Run the CLI on argv (without `node script`) and return the exit code; the one place errors become exit codes.
// Tests may pass their own IO and command list.
export async function main(argv: string[], io: CliIO = processIO, only?: CommandDef[]): Promise<number> {
  let printed = '';
  try {
    const commands = only ?? (await loadCommands());
    const y = parser(commands, io);
    await y.parseAsync(argv, {}, (_err: unknown, _args: unknown, output: string) => {
      printed = output;
    });
    if (printed) io.stdout(printed.endsWith('\n') ? printed : `${printed}\n`);
    return 0;
  } catch (err: unknown) {
    return exitCodeFor(err, io, argv.includes('--verbose'));
  }
}
