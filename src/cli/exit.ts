import { UserError } from '../util/errors.js';

// Where the CLI writes its text; main() takes one so tests can capture it.
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

// Exit codes the CLI promises: 0 done, 1 internal error (a bug), 2 a mistake the user can fix, 130 interrupted.
export const EXIT = { ok: 0, internal: 1, usage: 2, interrupted: 130 } as const;

// A command line yargs rejected (unknown option, missing argument, unknown command).
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

// What a command throws once an interrupted run has saved its checkpoint and said how to resume: exit 130.
export function interruptedError(): Error {
  return Object.assign(new Error('interrupted'), { name: 'AbortError' });
}

// Redis URL passwords masked in anything printed (an error may quote a URL given on the command line).
const masked = (text: string) => text.replace(/(rediss?:\/\/[^:/@\s]*:)[^@\s]+@/g, '$1***@');

function isYargsValidation(err: unknown): err is Error {
  return err instanceof UsageError || (err instanceof Error && err.name === 'YError');
}

function isInterrupt(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR');
}

// Map any error out of a command to its message and exit code: the only place this decision is made.
export function exitCodeFor(err: unknown, cliIO: CliIO, verbose = false): number {
  const io: CliIO = { stdout: (t) => cliIO.stdout(masked(t)), stderr: (t) => cliIO.stderr(masked(t)) };
  if (err instanceof UserError) {
    io.stderr(`onnx-distill: error: ${err.message}\n`);
    if (err.hint) io.stderr(`hint: ${err.hint}\n`);
    if (verbose && err.cause !== undefined)
      io.stderr(`cause: ${String(err.cause instanceof Error ? err.cause.stack : err.cause)}\n`);
    return EXIT.usage;
  }
  if (isYargsValidation(err)) {
    io.stderr(`onnx-distill: error: ${err.message}\n`);
    io.stderr(`hint: run 'onnx-distill --help' (or 'onnx-distill <command> --help') for usage\n`);
    return EXIT.usage;
  }
  if (isInterrupt(err)) {
    io.stderr('onnx-distill: interrupted\n');
    return EXIT.interrupted;
  }
  const stack = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  io.stderr(`onnx-distill: internal error: ${stack}\n`);
  io.stderr(
    'This is a bug, please report it at https://github.com/onnx-distill/onnx-distill/issues with the command you ran.\n',
  );
  return EXIT.internal;
}
