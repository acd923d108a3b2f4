import cliProgress from 'cli-progress';
import type { JobProgress } from './kind.js';

// One progress line per running job (a cli-progress multi-bar on a terminal), or plain log lines elsewhere
// (CI, pipes, --json), so that a log file still says when each job started, advanced and ended.
export class JobBars {
  private readonly multi: cliProgress.MultiBar | undefined;
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private readonly last = new Map<string, number>();

  constructor(
    private readonly log: (line: string) => void,
    enabled: boolean,
  ) {
    if (!enabled || !process.stderr.isTTY) return;
    this.multi = new cliProgress.MultiBar(
      {
        format: '{id} [{bar}] {value}/{total} {unit} | {status}',
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        autopadding: true,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  start(id: string, what: string, total: number): void {
    if (this.multi) {
      this.bars.get(id)?.stop();
      this.bars.set(id, this.multi.create(total, 0, { id, unit: 'epochs', status: what }));
    } else this.log(`[${id}] ${what}`);
  }

  update(id: string, p: JobProgress): void {
    const bar = this.bars.get(id);
    if (bar) {
      bar.setTotal(p.total);
      bar.update(p.value, { status: p.status });
    } else if (!this.multi && this.last.get(id) !== p.value) {
      this.last.set(id, p.value);
      this.log(`[${id}] ${p.value}/${p.total} epochs: ${p.status}`);
    }
  }

  // The job's line leaves the board; its outcome is logged above the remaining bars.
  finish(id: string, message: string): void {
    const bar = this.bars.get(id);
    if (!this.multi) return this.log(`[${id}] ${message}`);
    if (bar) this.multi.remove(bar);
    this.bars.delete(id);
    this.multi.log(`[${id}] ${message}\n`);
  }

  stop(): void {
    this.multi?.stop();
  }
}
