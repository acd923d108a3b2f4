import { countParameters } from '../analysis/params.js';
import type { Model } from '../ir/model.js';
import { messageOf, UserError } from '../util/errors.js';
import { buildZooModel, findZooEntry, ZOO, ZOO_METADATA_KEY } from '../zoo/index.js';
import { deriveStudent } from '../models/student.js';

// One student `compress` could train: a zoo architecture built for the teacher's input and classes, or slim:<r>.
export interface StudentCandidate {
  spec: string;
  family: string;
  params: number;
  // Fraction of the teacher's parameters.
  relative: number;
}

// The choice, with the table it was made from and a sentence saying why (printed by the command).
export interface StudentChoice {
  spec: string;
  params: number;
  teacherParams: number;
  budget: number;
  candidates: StudentCandidate[];
  reason: string;
}

// Families by how reliably they distil in a short run, best first. A slimmed teacher keeps the teacher's layout and
// starts from its own (importance-ranked) filters, so it has the least to learn; a student of the teacher's own
// family matches its stage structure, which feature terms rely on; plain and residual conv nets are the students of
// RepDistiller's benchmarks (arXiv 1910.10699) that gain most from KD; VGG has no residuals and trains slowly; the
// depthwise/grouped families (MobileNetV2, ShuffleNet, ConvNeXt) need long schedules and run slowest per image on CPU;
// a ViT from scratch needs the longest schedules and strong augmentation (DeiT, arXiv 2012.12877).
const FAMILY_RANK: Record<string, number> = {
  slim: 0,
  teacher: 1,
  cnn: 2,
  resnet: 2,
  wrn: 2,
  vgg: 3,
  mobilenetv2: 4,
  shufflenetv1: 4,
  shufflenetv2: 4,
  convnext: 4,
  vit: 5,
};
const rank = (c: StudentCandidate, teacherFamily: string | undefined) =>
  c.family === teacherFamily ? FAMILY_RANK.teacher! : (FAMILY_RANK[c.family] ?? 3);

// A candidate within this fraction of the largest one under the budget counts as "as large"; the preferred family
// among those wins (a 15% smaller student of a better family is the better bet).
const NEAR = 0.85;

// Slim ratios always listed, besides the largest one that fits the budget.
const SLIM_RATIOS = [0.75, 0.5, 0.25];

// The zoo family the teacher was built from (zoo metadata), when it was.
function teacherFamily(teacher: Model): string | undefined {
  const meta = teacher.metadata().get(ZOO_METADATA_KEY);
  if (!meta) return undefined;
  try {
    const name = (JSON.parse(meta) as { name?: string }).name;
    return name ? findZooEntry(name)?.family : undefined;
  } catch {
    return undefined;
  }
}

// Parameter counts of the zoo by input and classes: building all of it takes seconds, and the counts never change.
const zooCounts = new Map<string, { name: string; family: string; params: number }[]>();

// Every zoo entry that builds for this input and class count, with its parameter count.
function zooCandidates(
  io: { input: [number, number, number]; classes: number },
  teacherParams: number,
): StudentCandidate[] {
  const key = `${io.input.join('x')}:${io.classes}`;
  let counts = zooCounts.get(key);
  if (!counts) {
    counts = [];
    for (const e of ZOO.values()) {
      try {
        counts.push({
          name: e.name,
          family: e.family,
          params: countParameters(buildZooModel(e.name, { input: io.input, classes: io.classes }).graph).count,
        });
      } catch {
        // an architecture that cannot run at this input size (too many poolings) is no candidate
      }
    }
    zooCounts.set(key, counts);
  }
  return counts.map((e) => ({
    spec: `zoo:${e.name}`,
    family: e.family,
    params: e.params,
    relative: e.params / teacherParams,
  }));
}

// slim:<r> of the teacher for a few ratios plus the largest r (in hundredths) whose student fits the budget;
// none when the teacher cannot be slimmed (the reason is returned for the message).
function slimCandidates(
  teacher: Model,
  teacherParams: number,
  budget: number,
): { candidates: StudentCandidate[]; problem?: string } {
  const seen = new Map<number, StudentCandidate>();
  const at = (hundredths: number): StudentCandidate => {
    let c = seen.get(hundredths);
    if (!c) {
      const spec = `slim:${hundredths / 100}`;
      const params = countParameters(deriveStudent(teacher, spec).graph).count;
      c = { spec, family: 'slim', params, relative: params / teacherParams };
      seen.set(hundredths, c);
    }
    return c;
  };
  try {
    for (const r of SLIM_RATIOS) at(Math.round(r * 100));
    // Parameters grow with the ratio (about as r²), so bisect for the largest ratio under the budget.
    let lo = 0,
      hi = 100; // at(lo) fits (0 stands for "nothing"), at(hi) does not, unless hi is 100 and fits
    if (at(100).params <= budget) lo = 100;
    else {
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (at(mid).params <= budget) lo = mid;
        else hi = mid;
      }
    }
    if (lo > 0 && lo < 100) at(lo);
  } catch (err: unknown) {
    return { candidates: [], problem: messageOf(err) };
  }
  seen.delete(100); // slim:1 is the teacher itself
  return { candidates: [...seen.values()] };
}

const grouped = (n: number) => n.toLocaleString('en-US');
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

// Pick the student for a parameter budget of `size` × the teacher's parameters: among the candidates under it,
// the largest, except that a preferred family within 15% of the largest wins. Throws a UserError naming the
// smallest candidate when nothing fits.
export function chooseStudent(
  teacher: Model,
  io: { input: [number, number, number]; classes: number },
  size: number,
): StudentChoice {
  if (!(Number.isFinite(size) && size > 0 && size <= 1))
    throw new UserError(`--size: '${size}' must be a fraction of the teacher's parameters in (0, 1], e.g. 0.25`);
  const teacherParams = countParameters(teacher.graph).count;
  const budget = Math.floor(size * teacherParams);
  const slim = slimCandidates(teacher, teacherParams, budget);
  const candidates = [...zooCandidates(io, teacherParams), ...slim.candidates].sort((a, b) => a.params - b.params);
  const family = teacherFamily(teacher);
  const fit = candidates.filter((c) => c.params <= budget);
  if (!fit.length) {
    const smallest = candidates[0];
    throw new UserError(
      `--size ${size}: no student fits ${grouped(budget)} parameters (${size} × the teacher's ${grouped(teacherParams)})` +
        (smallest
          ? `; the smallest candidate is ${smallest.spec} with ${grouped(smallest.params)} (${pct(smallest.relative)} of the teacher)`
          : ''),
      `raise --size${smallest ? ` to at least ${Math.ceil(1000 * smallest.relative) / 1000}` : ''}, or name a student with --student${slim.problem ? ` (the teacher cannot be slimmed: ${slim.problem})` : ''}`,
    );
  }
  const largest = fit[fit.length - 1]!;
  const near = fit.filter((c) => c.params >= NEAR * largest.params);
  const chosen = near.reduce((a, c) =>
    rank(c, family) < rank(a, family) || (rank(c, family) === rank(a, family) && c.params > a.params) ? c : a,
  );
  const what = (c: StudentCandidate) =>
    `${c.spec} (${grouped(c.params)} parameters, ${pct(c.relative)} of the teacher)`;
  const why =
    chosen === largest
      ? 'the largest candidate under it'
      : `within ${pct(1 - NEAR)} of the largest candidate under it, ${what(largest)}, and of a family that distils more reliably (${chosen.family === 'slim' ? 'a slimmed copy of the teacher starts from its filters' : chosen.family === family ? "the teacher's own family" : `${chosen.family} before ${largest.family}`})`;
  return {
    spec: chosen.spec,
    params: chosen.params,
    teacherParams,
    budget,
    candidates,
    reason:
      `student ${what(chosen)}: budget ${grouped(budget)} parameters (--size ${size} of the teacher's ${grouped(teacherParams)}); ${why}` +
      `; ${fit.length} of ${candidates.length} candidates fit${slim.problem ? `; no slim: candidates (${slim.problem})` : ''}`,
  };
}
