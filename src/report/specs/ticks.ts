// Tick values for a log axis. Vega's own put a grid line at every integer multiple of each decade and label only
// some of them, which reads as noise; 1-2-3-5 steps, 1-2-5 steps or whole decades (whichever gives at most ten)
// are what a person expects. Undefined for a range too narrow for three such ticks: Vega's linear-looking ticks
// are the better choice there.
export function logTicks(lo: number, hi: number): number[] | undefined {
  const ticks = (steps: number[]) => {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const s of steps) {
        const v = Number((s * 10 ** e).toPrecision(12));
        if (v >= lo && v <= hi) out.push(v);
      }
    }
    return out;
  };
  const fine = ticks([1, 2, 3, 5]);
  if (fine.length < 3) return undefined;
  if (fine.length <= 10) return fine;
  const medium = ticks([1, 2, 5]);
  return medium.length <= 10 ? medium : ticks([1]);
}
