import cliProgress from 'cli-progress';

// A bar for one-off work before training (decoding a folder into memory), one bar per stage; silent off a terminal.
export class StageBar {
  private bar: cliProgress.SingleBar | undefined;
  private stage = '';

  constructor(private readonly enabled: boolean) {}

  update(stage: string, done: number, total: number): void {
    if (!this.enabled || !process.stderr.isTTY) return;
    if (stage !== this.stage) {
      this.stop();
      this.stage = stage;
      this.bar = new cliProgress.SingleBar(
        {
          format: `${stage} [{bar}] {value}/{total} | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, done);
    }
    this.bar?.update(done);
    if (done >= total) this.stop();
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

// A per-epoch progress bar (loss, accuracy, img/s, ETA) on stderr; silent when disabled or not a terminal.
export class EpochBar {
  private bar: cliProgress.SingleBar | undefined;

  // `terms`: names of the loss terms shown beside the total (when there are several); `accuracy`: what the accuracy
  // figure is ('agree' on unlabeled data: agreement with the teacher).
  constructor(
    epoch: number,
    epochs: number,
    total: number,
    enabled: boolean,
    private terms: string[] = [],
    accuracy = 'acc',
  ) {
    if (!enabled || !process.stderr.isTTY) return;
    this.bar = new cliProgress.SingleBar(
      {
        format: `epoch ${epoch + 1}/${epochs} [{bar}] {value}/{total} | loss {loss}{terms} | ${accuracy} {acc}% | {imgs} img/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0, { loss: '-', acc: '-', imgs: '-', terms: '' });
  }

  update(value: number, m: { loss: number; acc: number; imgs: number; terms?: Record<string, number> }): void {
    if (!this.bar) return;
    const terms = this.terms.length
      ? ` (${this.terms.map((t) => `${t} ${(m.terms?.[t] ?? 0).toFixed(3)}`).join(', ')})`
      : '';
    this.bar.update(value, { loss: m.loss.toFixed(4), acc: (m.acc * 100).toFixed(2), imgs: m.imgs.toFixed(0), terms });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
