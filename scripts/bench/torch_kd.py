#!/usr/bin/env python3
"""PyTorch eager twin of `onnx-distill distill --method kd` for `npm run bench -- --all` (scripts/bench/kd-job.ts).

Development tool only (Debian's python3-torch); the CLI never needs Python. The same recipe as our KD job: student
zoo:cnn (PlainCNN 16/32/64/128), the shipped teacher zoo:cnn-wide with its trained weights (dumped from its ONNX file by
kd-job.ts), the embedded Fashion-MNIST subset (IDX files), pixels /255 then (x - 0.2860) / 0.3530 (the teacher's normalisation, as our run uses),
pad-4 random crop + horizontal flip, batch 128 with the last incomplete batch dropped, SGD lr 0.05 momentum 0.9
wd 5e-4 with a per-step cosine schedule, loss 0.1*CE + 0.9*tau^2*KL(teacher || student) at tau 4, accuracy on the
test split after every epoch. The student's initialisation is PyTorch's default, not ours (it does not change the time).
Prints one JSON object.

usage: /usr/bin/python3 scripts/bench/torch_kd.py --data models/fashion-mnist-subset --teacher bench-results/kd-job/teacher.json --epochs 4
"""
import argparse, gzip, json, math, os, resource, struct, sys, time
t_start = time.perf_counter()
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_step import PlainCNN  # noqa: E402


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_teacher(path):
    """zoo:cnn-wide with the ONNX initialisers (conv<i>.weight, bn<i>.*, fc.*) in module order."""
    with open(path) as f:
        w = json.load(f)
    net = PlainCNN([32, 64, 128, 256], 1, 10)
    convs = [m for m in net.features if isinstance(m, torch.nn.Conv2d)]
    bns = [m for m in net.features if isinstance(m, torch.nn.BatchNorm2d)]
    t = lambda k: torch.tensor(w[k]['values'], dtype=torch.float32).reshape(w[k]['shape'])
    with torch.no_grad():
        for i, (c, b) in enumerate(zip(convs, bns)):
            c.weight.copy_(t(f'conv{i}.weight'))
            b.weight.copy_(t(f'bn{i}.weight')); b.bias.copy_(t(f'bn{i}.bias'))
            b.running_mean.copy_(t(f'bn{i}.running_mean')); b.running_var.copy_(t(f'bn{i}.running_var'))
        net.fc.weight.copy_(t('fc.weight')); net.fc.bias.copy_(t('fc.bias'))
    return net.eval()


def augment(xb, gen, pad=4):
    """Random crop with zero padding and horizontal flip, per image (the CIFAR recipe)."""
    n, c, h, w = xb.shape
    padded = F.pad(xb, (pad, pad, pad, pad))
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    out = torch.empty_like(xb)
    for i in range(n):
        v = padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
        out[i] = v.flip(-1) if flip[i] else v
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default='models/fashion-mnist-subset')
    ap.add_argument('--teacher', required=True)
    ap.add_argument('--epochs', type=int, default=4)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--lr', type=float, default=0.05)
    ap.add_argument('--tau', type=float, default=4.0)
    # The shipped teacher's normalisation (models/fashion-mnist-teacher; our run prints it as `normalisation ... (as given)`).
    ap.add_argument('--mean', type=float, default=0.2860)
    ap.add_argument('--std', type=float, default=0.3530)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    xtr = torch.from_numpy(read_idx(os.path.join(a.data, 'train-images-idx3-ubyte.gz')).copy()).float().div_(255).unsqueeze(1)
    ytr = torch.from_numpy(read_idx(os.path.join(a.data, 'train-labels-idx1-ubyte.gz')).astype(np.int64))
    xte = torch.from_numpy(read_idx(os.path.join(a.data, 't10k-images-idx3-ubyte.gz')).copy()).float().div_(255).unsqueeze(1)
    yte = torch.from_numpy(read_idx(os.path.join(a.data, 't10k-labels-idx1-ubyte.gz')).astype(np.int64))
    xtr, xte = (xtr - a.mean) / a.std, (xte - a.mean) / a.std
    teacher = load_teacher(a.teacher)
    with torch.no_grad():
        teacher_acc = sum((teacher(xte[i:i + 256]).argmax(1) == yte[i:i + 256]).sum().item() for i in range(0, xte.shape[0], 256)) / xte.shape[0]
    student = PlainCNN([16, 32, 64, 128], 1, 10)
    opt = torch.optim.SGD(student.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4)
    steps = xtr.shape[0] // a.batch
    total = steps * a.epochs
    epochs, accs, t = [], [], 0
    t_train = time.perf_counter()
    for epoch in range(a.epochs):
        e0 = time.perf_counter()
        student.train()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        for s in range(steps):
            for g in opt.param_groups:
                g['lr'] = 0.5 * a.lr * (1 + math.cos(math.pi * t / total))
            idx = perm[s * a.batch:(s + 1) * a.batch]
            xb, yb = augment(xtr[idx], gen), ytr[idx]
            with torch.no_grad():
                tl = teacher(xb)
            sl = student(xb)
            kd = F.kl_div(F.log_softmax(sl / a.tau, 1), F.softmax(tl / a.tau, 1), reduction='batchmean') * a.tau ** 2
            loss = 0.1 * F.cross_entropy(sl, yb) + 0.9 * kd
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            t += 1
        train_s = time.perf_counter() - e0
        student.eval()
        with torch.no_grad():
            correct = sum((student(xte[i:i + 256]).argmax(1) == yte[i:i + 256]).sum().item() for i in range(0, xte.shape[0], 256))
        accs.append(correct / xte.shape[0])
        epochs.append({'train_s': train_s, 'epoch_s': time.perf_counter() - e0, 'img_per_s': steps * a.batch / train_s})
    print(json.dumps({
        'system': f'pytorch {torch.__version__} eager', 'threads': a.threads, 'epochs': epochs,
        'train_wall_s': time.perf_counter() - t_train, 'process_s': time.perf_counter() - t_start,
        'best_acc': max(accs), 'last_acc': accs[-1], 'teacher_acc': teacher_acc,
        'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == '__main__':
    main()
