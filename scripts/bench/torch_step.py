#!/usr/bin/env python3
"""PyTorch eager reference for `npm run bench`: training-step img/s and peak RSS of the same networks.

Development tool only (Debian's python3-torch); the CLI never needs Python. The networks mirror our zoo builders
(CIFAR ResNet of He et al. 2016 as in RepDistiller's resnet8/resnet20, and the zoo's plain CNN), written here from the
paper's description. Times NCHW and channels_last (each on a fresh model) and reports the faster as the row's number,
both under `formats`. Peak RSS is the process's over both. Prints one JSON object.

usage: /usr/bin/python3 scripts/bench/torch_step.py --model resnet8 --input 1x28x28 --classes 10 --batch 128 --steps 30 --threads 2
"""
import argparse, json, resource, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.down is None else self.down(x)))


class CifarResNet(nn.Module):
    def __init__(self, depth, widths, cin, classes):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(cin, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, c = [], widths[0]
        for i, w in enumerate(widths[1:]):
            for j in range(n):
                layers.append(Block(c, w, 2 if (i > 0 and j == 0) else 1))
                c = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class PlainCNN(nn.Module):
    """The zoo's `cnn` family: four conv3x3(pad 1, no bias)-BN-ReLU stages, 2x2 max pools between the last three,
    global average pool, Linear (src/zoo/families/cnn.ts)."""

    def __init__(self, widths, cin, classes):
        super().__init__()
        layers, c = [], cin
        for i, w in enumerate(widths):
            if i > 0:
                layers.append(nn.MaxPool2d(2, 2))
            layers += [nn.Conv2d(c, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            c = w
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


def build(name, cin, classes):
    cnns = {'cnn-tiny': 8, 'cnn': 16, 'cnn-wide': 32}
    if name in cnns:
        w = cnns[name]
        return PlainCNN([w, 2 * w, 4 * w, 8 * w], cin, classes)
    table = {
        'resnet8': (8, [16, 16, 32, 64]), 'resnet14': (14, [16, 16, 32, 64]), 'resnet20': (20, [16, 16, 32, 64]),
        'resnet32': (32, [16, 16, 32, 64]), 'resnet8x4': (8, [32, 64, 128, 256]),
    }
    if name in table:
        d, w = table[name]
        return CifarResNet(d, w, cin, classes)
    raise SystemExit(f'no PyTorch mirror for {name}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='resnet8')
    ap.add_argument('--input', default='1x28x28')
    ap.add_argument('--classes', type=int, default=10)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--steps', type=int, default=30)
    ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--memory-format', default='both', choices=['both', 'nchw', 'channels_last'])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c, h, w = map(int, a.input.split('x'))
    y = torch.randint(0, a.classes, (a.batch,))
    # Both memory formats, each on a fresh model; the reference is the better of the two.
    formats = {'nchw': torch.contiguous_format, 'channels_last': torch.channels_last}
    if a.memory_format != 'both':
        formats = {a.memory_format: formats[a.memory_format]}
    runs = {}
    for fmt, mf in formats.items():
        torch.manual_seed(0)
        model = build(a.model, c, a.classes).train().to(memory_format=mf)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        x = torch.randn(a.batch, c, h, w).contiguous(memory_format=mf)
        times = []
        for i in range(a.warmup + a.steps):
            t = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if i >= a.warmup:
                times.append(time.perf_counter() - t)
        med = statistics.median(times)
        runs[fmt] = {'median_step_s': med, 'img_per_s': a.batch / med, 'spread_s': [min(times), max(times)]}
    best = min(runs, key=lambda k: runs[k]['median_step_s'])
    print(json.dumps({
        'system': f'pytorch {torch.__version__} eager', 'model': a.model, 'input': a.input, 'batch': a.batch,
        'threads': a.threads, **runs[best], 'memory_format': best, 'formats': runs,
        'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == '__main__':
    main()
