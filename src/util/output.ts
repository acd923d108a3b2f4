// Output channels and global flags every command receives; commands never touch process.stdout directly.
// A leaf contract: the CLI implements it (src/cli/main.ts) and passes it down to runs, export and eval, which sit
// below the CLI and so may not import from it.
export interface CliContext {
  json: boolean;
  verbose: boolean;
  // Human-readable output (stdout).
  print(line: string): void;
  // Progress and warnings (stderr), so --json stdout stays parseable.
  log(line: string): void;
}
