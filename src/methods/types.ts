import type { NetworkSpec } from '../compiler/network.js';
import type { Model } from '../ir/model.js';
import type { GraftInit } from '../models/graft.js';
import type { TermUse } from '../compiler/step.js';
import type { WeightSchedule } from './weights.js';

// A term of a run: its use in the step plus the host-side weight and schedule (what methods declare, train runs).
export interface RunTerm extends TermUse {
  weight: number;
  schedule?: WeightSchedule;
}

// What a method preset sees of the run: the networks by role and their 4-D stage taps (f1.., stem excluded).
export interface MethodContext {
  teacher: string | undefined;
  students: string[];
  stages(network: string): string[];
  // A transformer's block outputs (b1.., token maps [N, T, D]); absent or empty for CNNs.
  blocks?(network: string): string[];
  // The KD temperature from --tau, when given.
  tau?: number;
  // The training split's size (CRD's memory banks hold one embedding per training sample).
  trainSize?: number;
}

// A named preset of networks, terms, weights and schedules (one file per method in this folder).
export interface MethodDef {
  name: string;
  describe: string;
  paper?: string;
  // The teacher this method wants: frozen (offline KD), trained with the students (online), or none (DML).
  teacher: 'frozen' | 'trainable' | 'none';
  minStudents: number;
  // Its terms read per-batch inputs only onnx-distill's own loop makes (CRD's sample indices): serve's page cannot run it.
  loopOnly?: boolean;
  terms(ctx: MethodContext): RunTerm[];
  // Networks the method adds beside teacher and students (SOKD's knowledge bridge module), placed after them.
  networks?(env: MethodEnv): MethodNetworks;
  // A staged method (MGD, IFM): its stages in order; `terms` is then unused. Mixed with base methods (`mgd+kd`).
  stages?(env: StagedEnv): MethodStage[];
  // The names of those stages, in order (what `stages:` in a config file overrides; shown by --help).
  stageNames?: readonly string[];
}

// What a staged method sees: the teacher, the students, the base methods it is mixed with, and its options.
export interface StagedEnv {
  teacher: Model;
  students: NetworkSpec[];
  base: MethodDef[];
  seed: number;
  tau?: number;
  // --logit-standardize: the KL-based terms it selects, in every stage, z-score their logits.
  logitStandardize?: string;
  mgdVariant?: 'mag' | 'mas';
  // ifm: the proxy teacher given by --proxy (else each zoo student is widened), and what identifies it in stage keys.
  proxy?: { model: Model; key: string };
}

// One stage of a staged method: its networks (from what earlier stages trained, by network name), its terms, the
// networks it exports (handed to later stages), and the optimizer settings its reference code uses.
export interface MethodStage {
  name: string;
  networks(trained: Record<string, Model>): NetworkSpec[];
  terms(ctx: MethodContext): RunTerm[];
  exports: string[];
  optimizer?: { name?: string; lr?: number; weightDecay?: number };
  // Part of the stage's cache key beside the teacher's bytes (the method's own settings).
  key: unknown;
}

// What a method sees when it builds its own networks: the teacher and the method's options.
export interface MethodEnv {
  teacher: Model;
  teacherName: string;
  seed: number;
  kbmTap?: string;
  kbmInit?: GraftInit;
}

// Added networks, and which of them are exported together with the networks feeding them (network -> file).
export interface MethodNetworks {
  networks: NetworkSpec[];
  composed?: Record<string, string>;
}
