import { importFolder } from '../util/registry.js';
import type { GradRuleDef } from './types.js';

// Every gradient rule file in rules/, keyed by `domain:opType`.
export const GRAD_RULES: Map<string, GradRuleDef> = new Map(
  (await importFolder(new URL('./rules/', import.meta.url), (m) => m.rule as GradRuleDef | undefined)).flatMap((r) =>
    r.ops.map((op) => [`${r.domain ?? ''}:${op}`, r] as const),
  ),
);

// The rule for a node's op, if any.
export function gradRuleFor(opType: string, domain = ''): GradRuleDef | undefined {
  return GRAD_RULES.get(`${domain === 'ai.onnx' ? '' : domain}:${opType}`);
}
