// The training loop of the tab, as `contract.json` (written by `onnx-distill compile`) prescribes: the initial state
// from initial_state.onnx (optimizer slots at zero), then per step the image batch, one-hot labels, the step's
// learning rate, each term's weight for the epoch and, for Adam, the bias corrections; every `carry` output becomes
// the next step's input of that name. The step runs on whatever execution provider the session was made with.
export class Trainer {
  constructor(ort, contract, sessions) {
    this.ort = ort;
    this.c = contract;
    this.step = sessions.step;
    this.eval = sessions.eval;
    this.init = sessions.initialState;
    this.state = {};
    this.k = 0;
  }

  // Reset the state to the run's start.
  async reset() {
    const out = await this.init.run({});
    this.state = {};
    for (const name of this.c.initialState.names) this.state[name] = out[name];
    for (const z of this.c.initialState.zeroSlots) this.state[z.name] = new this.ort.Tensor('float32', new Float32Array(z.shape.reduce((a, b) => a * b, 1)), z.shape);
    this.k = 0;
  }

  // One step on a normalised batch x [B,C,H,W] with int labels; returns the loss, the terms and the student's logits.
  async run(x, labels, epoch) {
    const s = this.c.step;
    const [B, K] = s.labels.shape;
    const onehot = new Float32Array(B * K);
    labels.forEach((y, i) => { onehot[i * K + y] = 1; });
    const scalar = (v) => new this.ort.Tensor('float32', Float32Array.of(v), []);
    const feeds = { ...this.state };
    feeds[s.image.input] = new this.ort.Tensor('float32', x, s.image.shape);
    feeds[s.labels.input] = new this.ort.Tensor('float32', onehot, [B, K]);
    feeds[s.lr.input] = scalar(s.lr.perStep[Math.min(this.k, s.lr.perStep.length - 1)]);
    for (const w of s.termWeights) feeds[w.input] = scalar(w.perEpoch[Math.min(epoch, w.perEpoch.length - 1)]);
    if (s.biasCorrection) {
      const { beta1, beta2 } = this.c.optimizer.hyper;
      feeds[s.biasCorrection.bc1] = scalar(1 - beta1 ** (this.k + 1));
      feeds[s.biasCorrection.bc2] = scalar(1 - beta2 ** (this.k + 1));
    }
    const wanted = {};
    for (const name of this.step.inputNames) wanted[name] = feeds[name];
    const out = await this.step.run(wanted);
    for (const [o, i] of Object.entries(s.carry)) this.state[i] = out[o];
    this.k++;
    const logits = out[s.report.logits.student ?? Object.values(s.report.logits)[0]];
    const terms = Object.fromEntries(Object.entries(s.report.terms).map(([t, o]) => [t, out[o]?.data[0]]));
    return { loss: out[s.report.loss].data[0], terms, logits: logits.data };
  }

  // The student's logits on a normalised batch, through eval.onnx with the current state.
  async logits(x, dims) {
    const feeds = { [this.c.eval.image]: new this.ort.Tensor('float32', x, dims) };
    for (const name of this.c.eval.stateInputs) feeds[name] = this.state[name];
    const out = await this.eval.run(feeds);
    const name = this.c.eval.outputs.find((o) => o.includes('student')) ?? this.c.eval.outputs[0];
    return out[name].data;
  }

  // The student's state tensors (what the export needs).
  studentState() {
    return Object.entries(this.state).filter(([n]) => n.startsWith('student/') && this.c.initialState.names.includes(n));
  }
}

// Index of the largest of row r of k columns.
export function argmax(a, r, k) {
  let best = 0;
  for (let j = 1; j < k; j++) if (a[r * k + j] > a[r * k + best]) best = j;
  return best;
}
