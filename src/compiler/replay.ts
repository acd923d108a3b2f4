// Which frozen networks of a step can be replaced by their recorded logits (the teacher cache, FKD arXiv 2112.01528):
// a frozen network whose every use is a loss term's target slot reading its `logits` contributes nothing to the
// step but those logits, so the step can take them as an input instead of running the network.
import type { NetworkSpec } from './network.js';
import { termByName } from './terms/index.js';
import type { TermUse } from './types.js';

// The network and tap a term's slot reads: `teacher.f2`, or `teacher` alone for the slot's default tap.
export function slotAddress(
  use: TermUse,
  slot: { name: string; tap: string },
): { network: string; tap: string } | undefined {
  const addr = use.taps[slot.name];
  if (!addr) return undefined;
  const dot = addr.indexOf('.');
  return dot < 0 ? { network: addr, tap: slot.tap } : { network: addr.slice(0, dot), tap: addr.slice(dot + 1) };
}

// Frozen networks read only as logits targets (replayable), and for each other frozen network why not.
export function replayableNetworks(
  networks: NetworkSpec[],
  terms: TermUse[],
): { replay: string[]; bypassed: { network: string; reason: string }[] } {
  const replay: string[] = [];
  const bypassed: { network: string; reason: string }[] = [];
  for (const net of networks.filter((n) => !n.trainable)) {
    const fed = networks.find((n) => n.input?.network === net.name);
    let reason = fed ? `it feeds the network '${fed.name}' its tap ${net.name}.${fed.input!.tap}` : undefined;
    let used = false;
    for (const use of terms) {
      if (reason) break;
      for (const slot of termByName(use.term).slots) {
        const at = slotAddress(use, slot);
        if (at?.network !== net.name) continue;
        used = true;
        if (at.tap !== 'logits') {
          reason = `term '${use.name}' reads ${net.name}.${at.tap}, not its logits (the cache holds logits only)`;
          break;
        }
        if (!slot.target) {
          reason = `term '${use.name}' reads ${net.name}.logits as an input, not as a target`;
          break;
        }
      }
    }
    if (!reason && !used) reason = 'no term reads it';
    if (reason) bypassed.push({ network: net.name, reason });
    else replay.push(net.name);
  }
  return { replay, bypassed };
}
