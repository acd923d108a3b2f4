#!/usr/bin/env python3
"""PyTorch side of the parity benchmark (scripts/bench/parity/parity.ts): the same student file, recipe and data as
`onnx-distill distill --student <file>`, in PyTorch eager, so the two accuracies can be compared.

Development tool only (Debian's python3-torch 1.13); the CLI never needs Python. Two commands:

  export --seed S --out student.onnx
      The zoo's `cnn` student (PlainCNN 16/32/64/128, scripts/bench/torch_step.py) with PyTorch's default init under
      torch.manual_seed(S), exported in eval mode with its BatchNorm kept (training=PRESERVE, no constant folding),
      opset 17, input `input` [batch,1,28,28], output `logits`: the file both sides start from.

  train --student student.onnx --method ce|kd --seed S --data DIR --epochs E [--teacher teacher.json] [--recal N]
      Loads the file's initializers into the PyTorch twin (the same initial weights), trains with the recipe our run
      gets on the command line: pixels /255, RandomCrop(28, padding=4) (zero = black pixel, before Normalize, as
      torchvision does) + RandomHorizontalFlip(0.5), Normalize(0.2860, 0.3530), batch 128 shuffled with the last
      incomplete batch dropped, SGD lr 0.05 momentum 0.9 weight decay 5e-4 on every parameter, CosineAnnealingLR
      stepped per iteration with T_max = all steps; CE, or KD = 0.1 CE + 0.9 tau^2 KL(teacher || student) at tau 4
      from the shipped teacher's twin. Test accuracy after every epoch (BatchNorm running statistics, eval mode).
      --recal N also reports the last model's accuracy after re-estimating BatchNorm statistics on N augmented
      batches (reset_running_stats + momentum=None, the cumulative average). Prints one JSON object.
      --save-batches DIR writes every augmented batch it trains on (x.f32: float32 [steps, batch, 1, 28, 28]; y.i32:
      int32 labels); --batches DIR trains on such a file instead of drawing its own (same_batches.ts, both sides fed
      the identical batches); --draw-only only writes them. The JSON has the loss (and CE / KD terms) of every step.
"""
import argparse, json, math, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from torch_step import PlainCNN  # noqa: E402
from torch_kd import load_teacher, read_idx  # noqa: E402

MEAN, STD = 0.2860, 0.3530


def student_net():
    return PlainCNN([16, 32, 64, 128], 1, 10)


def export(a):
    torch.manual_seed(a.seed)
    net = student_net().eval()
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), a.out, opset_version=17, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False)
    print(json.dumps({'file': a.out, 'params': sum(p.numel() for p in net.parameters())}))


def load_initial(net, path):
    """The ONNX file's initializers into the twin, by state_dict name (every float entry must be there)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    # The exporter merges equal initializers: a fresh BN's running stats are Identity(weight) / Identity(bias).
    for n in m.graph.node:
        if n.op_type == 'Identity' and n.input[0] in inits:
            inits[n.output[0]] = inits[n.input[0]]
    sd = net.state_dict()
    missing = [k for k, v in sd.items() if k not in inits and v.dtype.is_floating_point]
    if missing:
        raise SystemExit(f'{path} lacks {missing[:3]}')
    with torch.no_grad():
        for k, v in sd.items():
            if k in inits:
                v.copy_(torch.from_numpy(inits[k].copy()).reshape(v.shape))


def augment(xb, gen, pad=4):
    """torchvision RandomCrop(28, padding=4) on the raw image (fill 0 = black, i.e. (0 - mean) / std after Normalize)
    and RandomHorizontalFlip(0.5), per image (drawn per image, applied as one gather)."""
    n, c, h, w = xb.shape
    padded = F.pad(xb, (pad, pad, pad, pad), value=(0 - MEAN) / STD)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    cols = torch.arange(w).expand(n, w)
    cols = torch.where(flip[:, None], w - 1 - cols, cols) + dx[:, None]
    rows = torch.arange(h)[None, :] + dy[:, None]
    i = torch.arange(n)[:, None, None, None]
    ch = torch.arange(c)[None, :, None, None]
    return padded[i, ch, rows[:, None, :, None], cols[:, None, None, :]]


def read_batches(folder, batch):
    """Batches written by --save-batches (or by same_batches.ts from our loader): x [steps, batch, 1, 28, 28], y [steps, batch]."""
    y = torch.from_numpy(np.fromfile(os.path.join(folder, 'y.i32'), dtype=np.int32).astype(np.int64)).reshape(-1, batch)
    x = torch.from_numpy(np.fromfile(os.path.join(folder, 'x.f32'), dtype=np.float32)).reshape(y.shape[0], batch, 1, 28, 28)
    return x, y


def accuracy(net, x, y):
    net.eval()
    with torch.no_grad():
        return sum((net(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum().item() for i in range(0, x.shape[0], 500)) / x.shape[0]


def recalibrate(net, x, batches, batch, gen):
    """BatchNorm running statistics re-estimated on `batches` augmented training batches: the cumulative average."""
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    perm = torch.randperm(x.shape[0], generator=gen)
    with torch.no_grad():
        for s in range(min(batches, x.shape[0] // batch)):
            net(augment(x[perm[s * batch:(s + 1) * batch]], gen))
    for m in bns:
        m.momentum = 0.1


def train(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    load = lambda f: torch.from_numpy(read_idx(os.path.join(a.data, f)).copy())
    xtr = (load('train-images-idx3-ubyte.gz').float().div_(255).unsqueeze(1) - MEAN) / STD
    ytr = load('train-labels-idx1-ubyte.gz').long()
    xte = (load('t10k-images-idx3-ubyte.gz').float().div_(255).unsqueeze(1) - MEAN) / STD
    yte = load('t10k-labels-idx1-ubyte.gz').long()
    teacher = load_teacher(a.teacher) if a.method == 'kd' else None
    net = student_net()
    load_initial(net, a.student)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4)
    steps = xtr.shape[0] // a.batch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps * a.epochs)
    given = read_batches(a.batches, a.batch) if a.batches else None
    if given is not None and given[0].shape[0] < steps * a.epochs:
        raise SystemExit(f'{a.batches} holds {given[0].shape[0]} batches, the run needs {steps * a.epochs}')
    saved_x, saved_y = [], []
    accs, losses, step_losses, t0 = [], [], [], time.perf_counter()
    for e in range(a.epochs):
        net.train()
        perm = torch.randperm(xtr.shape[0], generator=gen) if given is None else None
        total = 0.0
        for s in range(steps):
            if given is None:
                idx = perm[s * a.batch:(s + 1) * a.batch]
                xb, yb = augment(xtr[idx], gen), ytr[idx]
            else:
                xb, yb = given[0][e * steps + s], given[1][e * steps + s]
            if a.save_batches:
                saved_x.append(xb.numpy().astype(np.float32)); saved_y.append(yb.numpy().astype(np.int32))
            if a.draw_only:
                continue
            logits = net(xb)
            loss = ce = F.cross_entropy(logits, yb)
            terms = [ce.item()]
            if teacher is not None:
                with torch.no_grad():
                    tl = teacher(xb)
                kd = F.kl_div(F.log_softmax(logits / a.tau, 1), F.softmax(tl / a.tau, 1), reduction='batchmean') * a.tau ** 2
                loss = 0.1 * loss + 0.9 * kd
                terms.append(kd.item())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            step_losses.append([loss.item(), *terms])
        losses.append(total / steps)
        if not a.draw_only:
            accs.append(accuracy(net, xte, yte))
    if a.save_batches:
        os.makedirs(a.save_batches, exist_ok=True)
        np.stack(saved_x).tofile(os.path.join(a.save_batches, 'x.f32'))
        np.stack(saved_y).tofile(os.path.join(a.save_batches, 'y.i32'))
    if a.draw_only:
        print(json.dumps({'batches': a.save_batches, 'steps': len(saved_y)}))
        return
    out = {'system': f'pytorch {torch.__version__} eager', 'method': a.method, 'seed': a.seed, 'accs': accs, 'losses': losses,
           'best_acc': max(accs), 'last_acc': accs[-1], 'train_wall_s': time.perf_counter() - t0, 'step_losses': step_losses}
    if a.recal:
        recalibrate(net, xtr, a.recal, a.batch, gen)
        out['recal_acc'] = accuracy(net, xte, yte)
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    e = sub.add_parser('export')
    e.add_argument('--seed', type=int, required=True)
    e.add_argument('--out', required=True)
    t = sub.add_parser('train')
    t.add_argument('--student', required=True)
    t.add_argument('--method', choices=['ce', 'kd'], required=True)
    t.add_argument('--seed', type=int, default=0)
    t.add_argument('--data', default='models/fashion-mnist-subset')
    t.add_argument('--teacher')
    t.add_argument('--epochs', type=int, default=4)
    t.add_argument('--batch', type=int, default=128)
    t.add_argument('--lr', type=float, default=0.05)
    t.add_argument('--tau', type=float, default=4.0)
    t.add_argument('--threads', type=int, default=2)
    t.add_argument('--recal', type=int, default=0)
    t.add_argument('--save-batches')
    t.add_argument('--batches')
    t.add_argument('--draw-only', action='store_true', help='with --save-batches: draw and write the batches, train nothing')
    a = ap.parse_args()
    export(a) if a.cmd == 'export' else train(a)


if __name__ == '__main__':
    main()
