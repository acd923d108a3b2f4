// The options of a training run, declared once: yargs flags, the config file's JSON Schema and the defaults all come
// from this table, so a flag and its config key can never drift apart. Keys are camelCase in files, kebab-case as flags.
export interface OptionDef {
  key: string;
  type: 'string' | 'number' | 'boolean' | 'strings' | 'terms' | 'stages' | 'numbers';
  describe: string;
  default?: unknown;
  defaultDescription?: string;
  choices?: string[];
  // Whole numbers only / strictly positive.
  integer?: boolean;
  positive?: boolean;
  // ≥ 0.
  nonNegative?: boolean;
  // numbers: at most (number) / every value within [lo, hi]; `numbers` lists: allowed lengths, ascending order.
  max?: number;
  range?: [number, number];
  count?: number[];
  ordered?: boolean;
  // Set in a config file (or the library call) only, never as a flag (`stages:` is a mapping).
  fileOnly?: boolean;
  // Shared with `train` (the rest are distill's own).
  common?: boolean;
}
