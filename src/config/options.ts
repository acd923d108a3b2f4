import type { OptionDef } from './types.js';

// The option tables of every command, one file per table (common, distill, compress, stages, augmentation); this
// file is their index, with train's own few options and the key -> flag rule.
export type { OptionDef } from './types.js';
export { COMMON_OPTIONS } from './commonOptions.js';
export { DISTILL_OPTIONS } from './distillOptions.js';
export { COMPRESS_EPOCHS, COMPRESS_OPTIONS, compressOptionTable } from './compressOptions.js';
export { STAGE_KEYS, stageOptionDefs, type StageConfig } from './stageOptions.js';

// Options only `train` has.
export const TRAIN_OPTIONS: OptionDef[] = [
  {
    key: 'model',
    type: 'string',
    default: 'zoo:resnet8',
    describe: 'zoo:<name> (see `onnx-distill models`) or a path to an .onnx classifier',
  },
  {
    key: 'out',
    type: 'string',
    default: 'runs/train',
    describe: 'output folder: model.onnx, run.json, checkpoint.bin',
  },
  { key: 'resume', type: 'string', describe: 'resume from the checkpoint in this run folder' },
];

// camelCase key -> --kebab-case flag.
export function flagOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
