// The training recipe by the student's origin (issue 23): a zoo student is built untrained and keeps the
// from-scratch defaults of the option table (SGD lr 0.05, cosine, no warm-up: the CIFAR recipe of the KD
// references); a student file or a `slim:` copy of the teacher carries trained weights, which that recipe wrecks
// (torchvision's EfficientNet-B0 and RegNetY-400MF diverge within an epoch, in PyTorch too). Those get the
// fine-tuning defaults below, unless the user set the key (flag, config file, or the resumed run's config).
import { loadConfigFile } from '../config/file.js';
import { COMMON_OPTIONS, type OptionDef } from '../config/options.js';
import type { DistillOptions } from './options.js';

// Fine-tuning defaults: a tenth of the from-scratch lr, reached by a linear warm-up (Goyal et al. 2017, 1706.02677)
// over one epoch (a quarter of a shorter run), with SGD momentum 0.9, the optimizer of the KD references (Hinton et al.
// 2015, 1503.02531; RepDistiller, Tian et al. 2020, 1910.10699).
export const FINE_TUNE = { lr: 0.005, optimizer: 'sgd', warmupEpochs: 1 } as const;

// A student spec that carries trained weights: anything but `zoo:<name>`.
export function isPretrainedSpec(spec: string): boolean {
  return !spec.startsWith('zoo:');
}

// The option keys the user set: given (flags or library call), in the config file, or in the resumed run's config.
export function explicitKeys(
  given: Record<string, unknown>,
  configPath: string | undefined,
  options: OptionDef[],
  base: Record<string, unknown> = {},
): Set<string> {
  const file = configPath ? loadConfigFile(configPath, options) : {};
  return new Set([given, file, base].flatMap((o) => Object.keys(o).filter((k) => o[k] !== undefined)));
}

// Apply the fine-tuning defaults to `cfg` when every student is pretrained, for the keys the user did not set;
// returns the line that says so and why (undefined when the from-scratch recipe stays or every key was set).
export function applyRecipe(cfg: DistillOptions, students: string[], explicit: Set<string>): string | undefined {
  const pretrained = students.filter(isPretrainedSpec);
  if (!pretrained.length) return undefined;
  if (pretrained.length < students.length)
    return `recipe: from scratch (lr ${cfg.lr}), as the zoo students among ${students.join(', ')} are untrained; the pretrained ones (${pretrained.join(', ')}) may want a lower --lr and --warmup`;
  const set: string[] = [];
  if (!explicit.has('lr')) {
    cfg.lr = FINE_TUNE.lr;
    set.push(`lr ${FINE_TUNE.lr}`);
  }
  if (!explicit.has('warmup')) {
    cfg.warmup = Math.min(FINE_TUNE.warmupEpochs, (cfg.epochs ?? 1) / 4);
    set.push(`${cfg.warmup}-epoch linear warm-up`);
  }
  if (!explicit.has('optimizer')) {
    cfg.optimizer = FINE_TUNE.optimizer;
    set.push(`${FINE_TUNE.optimizer} momentum ${cfg.momentum ?? 0.9} (the KD references' optimizer)`);
  }
  const what = pretrained
    .map((s) =>
      s.startsWith('slim:')
        ? `${s} (a slimmed copy of the trained teacher)`
        : `${s} (a model file, taken as pretrained)`,
    )
    .join(', ');
  if (!set.length) return undefined;
  const scratch = COMMON_OPTIONS.find((o) => o.key === 'lr')!.default as number;
  return `recipe: fine-tuning ${what}: ${set.join(', ')}, instead of the from-scratch lr ${scratch} without warm-up that makes pretrained networks diverge; --lr, --warmup and --optimizer override`;
}
