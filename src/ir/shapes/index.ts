import { convRules } from './conv.js';
import { elementwiseRules } from './elementwise.js';
import { tensorRules } from './tensorOps.js';
import type { ShapeRule } from './util.js';

// Every static shape rule, keyed by op type (default domain).
export const SHAPE_RULES: Record<string, ShapeRule> = { ...elementwiseRules, ...convRules, ...tensorRules };
export type { ShapeRule };
