import type { Argv } from 'yargs';
import type { CliContext } from '../util/output.js';

// The output context lives in a leaf (util/output.ts) so lower layers can take it; commands import it from here.
export type { CliContext } from '../util/output.js';

// One CLI command per file in src/cli/commands/: yargs declares its flags, `run` does the work and throws on error.
export interface CommandDef {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv;
  run: (args: Record<string, unknown>, ctx: CliContext) => Promise<void>;
  // Shown at the end of `--help` for this command.
  examples?: [string, string][];
}
