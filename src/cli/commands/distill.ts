import type { Argv } from 'yargs';
import { COMMON_OPTIONS, DISTILL_OPTIONS, STAGE_KEYS } from '../../config/options.js';
import { declareOptions } from '../../config/resolve.js';
import { METHODS } from '../../methods/index.js';
import { distill } from '../../pipeline/distill.js';
import { printConfig, resolveDistillConfig } from '../../pipeline/distillConfig.js';
import type { DistillOptions } from '../../pipeline/options.js';
import type { RunRecord } from '../../train/loop.js';
import type { StagedRecord } from '../../train/stages.js';
import type { CommandDef } from '../command.js';
import { interruptedError } from '../exit.js';

// The parsed flags as config keys (yargs gives camelCase aliases); `config` and `print-config` are the command's own.
export function givenOptions(a: Record<string, unknown>): DistillOptions & { config?: string } {
  const keys = [...COMMON_OPTIONS, ...DISTILL_OPTIONS].map((o) => o.key);
  const out: Record<string, unknown> = Object.fromEntries(keys.filter((k) => a[k] !== undefined).map((k) => [k, a[k]]));
  if (a.config !== undefined) out.config = String(a.config);
  return out as DistillOptions & { config?: string };
}

const pct = (v: number | undefined) => (v === undefined ? '-' : `${(v * 100).toFixed(2)}%`);

// What `--json` prints: the networks with their accuracies (fractions), the ensemble, the loss and the outputs; a
// staged run adds each stage's folder, whether it was reused, and its networks (MGD's heads after stage 1, say).
export function summaryJson(r: RunRecord | StagedRecord): object {
  const networks = (rec: RunRecord) =>
    rec.networks.map((n) => ({
      name: n.name,
      role: n.role,
      params: n.params,
      bestValAcc: n.bestValAcc ?? null,
      bestEpoch: n.bestEpoch ?? null,
      lastValAcc: n.lastValAcc ?? null,
      ...(n.bestAgreement !== undefined
        ? {
            bestAgreement: n.bestAgreement,
            bestAgreementEpoch: n.bestAgreementEpoch,
            lastAgreement: n.lastAgreement,
            lastKl: n.lastKl ?? null,
          }
        : {}),
    }));
  return {
    networks: networks(r),
    ensemble: r.ensemble,
    loss: r.loss,
    outputs: r.outputs,
    interrupted: r.interrupted,
    history: r.history,
    ...('fidelity' in r && r.fidelity ? { fidelity: r.fidelity } : {}),
    ...('stages' in r
      ? {
          stages: r.stages.map((s) => ({
            name: s.name,
            dir: s.dir,
            reused: s.reused,
            loss: s.record.loss,
            networks: networks(s.record),
          })),
        }
      : {}),
  };
}

// `onnx-distill distill`: train students from a teacher with one or more methods, and export them.
export const command: CommandDef = {
  command: 'distill',
  describe:
    'distil compact students from a teacher (KD, DML, KD + mutual learning, FitNets, AT, SP, PKT, DKD, SOKD, MGD, information flow) and export them as ONNX',
  builder: (y: Argv) =>
    declareOptions(y, [...DISTILL_OPTIONS, ...COMMON_OPTIONS])
      .option('config', {
        type: 'string',
        describe:
          "a YAML or JSON run config (keys as the options, camelCase; `stages:` sets a staged method's stages by name); flags override it",
      })
      .option('print-config', {
        type: 'boolean',
        default: false,
        describe: 'print the resolved config as YAML and exit',
      })
      .epilogue(
        `Methods: ${[...METHODS.values()].map((m) => `${m.name} — ${m.describe}`).join('; ')}.\n\nStages (config file): \`stages: { heads: { epochs: 5, optimizer: adam, lr: 1e-3 } }\` overrides the named stage of a staged method (${[
          ...METHODS.values(),
        ]
          .filter((m) => m.stageNames)
          .map((m) => `${m.name}: ${m.stageNames!.join(', ')}`)
          .join(
            '; ',
          )}) with any of ${STAGE_KEYS.join(', ')}; unset keys keep the stage's default. A finished stage is reused while its teacher, data and stage settings are unchanged.`,
      ),
  examples: [
    [
      '$0 distill --student zoo:cnn --method kd',
      'Hinton KD from the shipped Fashion-MNIST teacher on the embedded data',
    ],
    [
      '$0 distill --teacher t.onnx --data photos/ --student slim:0.5 --method kd+at',
      'a half-width copy of your teacher, KD plus attention transfer',
    ],
    [
      '$0 distill --method kdml --students 2 --teacher zoo:resnet20',
      'a teacher trained online with two students that also learn from each other',
    ],
    ['$0 distill --method dkd --terms ce=1,dkd=2 --tau 2', 'decoupled KD with your own weights and temperature'],
    [
      '$0 distill --method sokd --kbm-init copy',
      'semi-online KD: a knowledge bridge module on the teacher, started from its weights; writes teacher-kbm.onnx too',
    ],
    [
      '$0 distill --method mgd+kd --mgd-variant mas',
      'multi-granularity KD on top of KD: teacher heads first (reused by later runs), then the student',
    ],
    [
      '$0 distill --method ifm --student zoo:resnet8 --stage-optimizer run',
      'information-flow KD through a 2×-wide proxy, every stage with --optimizer/--lr',
    ],
    [
      '$0 distill --teacher deployed.onnx --data photos/ --input 3x224x224',
      'distil from unlabeled images (a folder holding them directly): KD alone, agreement with the teacher reported',
    ],
    [
      '$0 distill --method kd --pseudo-labels',
      "CE on the teacher's argmax instead of the labels (noisy or missing labels)",
    ],
    [
      '$0 distill --config run.yaml --epochs 2',
      "a config file with a flag override (`stages:` sets a staged method's stages)",
    ],
    ['$0 distill --resume runs/distill', 'continue an interrupted run (its config is read from the run folder)'],
  ],
  run: async (a, ctx) => {
    const given = givenOptions(a);
    if (a['print-config']) {
      ctx.print(printConfig(resolveDistillConfig(given)).trimEnd());
      return;
    }
    const r = await distill(given, ctx);
    if (ctx.json) {
      ctx.print(JSON.stringify(summaryJson(r), null, 2));
      if (r.interrupted) throw interruptedError();
      return;
    }
    for (const n of r.networks) {
      const agree =
        n.bestAgreement !== undefined
          ? `${n.bestValAcc !== undefined ? '; ' : ''}agreement with the teacher best ${pct(n.bestAgreement)} (epoch ${n.bestAgreementEpoch}), last ${pct(n.lastAgreement)}, KL ${n.lastKl?.toFixed(4) ?? '-'}`
          : '';
      const reference = n.bestValAcc === undefined && !agree && 'fidelity' in r && r.fidelity?.reference === n.name;
      const acc = reference
        ? 'the reference of the agreement (no labelled validation data: --val-data adds one)'
        : n.bestValAcc !== undefined || !agree
          ? `val acc best ${pct(n.bestValAcc)} (epoch ${n.bestEpoch ?? '-'}), last ${pct(n.lastValAcc)}`
          : '';
      ctx.print(`${n.name.padEnd(10)} ${n.role.padEnd(8)} ${String(n.params).padStart(10)} params  ${acc}${agree}`);
    }
    if (r.ensemble)
      ctx.print(
        `${'ensemble'.padEnd(10)} ${''.padEnd(8)} ${''.padStart(10)}         val acc best ${pct(r.ensemble.bestValAcc)} (epoch ${r.ensemble.bestEpoch}), last ${pct(r.ensemble.lastValAcc)}`,
      );
    ctx.print(
      r.interrupted
        ? `interrupted; resume with --resume ${r.outputs.checkpoint?.replace(/\/checkpoint\.bin$/, '')}`
        : `wrote ${Object.values(r.outputs)
            .filter((p) => p.endsWith('.onnx'))
            .join(', ')}`,
    );
    if (r.interrupted) throw interruptedError();
  },
};
