import type { Argv } from 'yargs';

// Output channels and global flags every command receives; commands never touch process.stdout directly.
export interface CliContext {
  json: boolean;
  verbose: boolean;
  // Human-readable output (stdout).
  print(line: string): void;
  // Progress and warnings (stderr), so --json stdout stays parseable.
  log(line: string): void;
}

// One CLI command per file in src/cli/commands/: yargs declares its flags, `run` does the work and throws on error.
export interface CommandDef {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv;
  run: (args: Record<string, unknown>, ctx: CliContext) => Promise<void>;
  // Shown at the end of `--help` for this command.
  examples?: [string, string][];
}
