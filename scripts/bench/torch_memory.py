#!/usr/bin/env python3
"""PyTorch eager reference for the 224-px memory benchmark (scripts/bench/memory.ts): one KD training step of a
torchvision student (train mode, SGD momentum 0.9, weight decay 5e-4) with a frozen torchvision teacher under
no_grad, loss 0.1*CE + 0.9*tau^2*KL(tau 4), on a random batch. Prints one JSON object: peak RSS (ru_maxrss, MB), the
median step time and img/s, and the RSS before the first step.

Development tool only (Debian's python3-torch); never a runtime or CI dependency.
usage: /usr/bin/python3 scripts/bench/torch_memory.py --student mobilenet_v3_small --teacher resnet50 --batch 32 --steps 3 --threads 2
"""
import argparse, json, resource, statistics, time
import torch
import torch.nn.functional as F
import torchvision


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(name):
    # Stochastic depth draws a random mask per sample, which a training-mode ONNX export cannot hold: off on both sides.
    kw = {'stochastic_depth_prob': 0.0} if name.startswith('efficientnet') else {}
    return getattr(torchvision.models, name)(num_classes=1000, **kw)


def export(a):
    torch.manual_seed(0)
    dummy = torch.randn(2, 3, a.size, a.size)
    axes = {'input': {0: 'N'}, 'logits': {0: 'N'}}
    s = build(a.student).train()
    torch.onnx.export(s, dummy, f'{a.export}/{a.student}.train.onnx', opset_version=17, training=torch.onnx.TrainingMode.TRAINING,
                      do_constant_folding=False, input_names=['input'], output_names=['logits'], dynamic_axes=axes)
    t = getattr(torchvision.models, a.teacher)(num_classes=1000).eval()
    torch.onnx.export(t, dummy, f'{a.export}/{a.teacher}.onnx', opset_version=17, input_names=['input'], output_names=['logits'], dynamic_axes=axes)
    print(json.dumps({'exported': [a.student, a.teacher]}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--student', default='mobilenet_v3_small')
    p.add_argument('--teacher', default='resnet50')
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--export', help='write DIR/<student>.train.onnx (training mode) and DIR/<teacher>.onnx, then exit')
    a = p.parse_args()
    if a.export:
        return export(a)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    student = build(a.student).train()
    teacher = getattr(torchvision.models, a.teacher)(num_classes=1000).eval()
    opt = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.arange(a.batch) % 1000
    before = rss_mb()
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        with torch.no_grad():
            zt = teacher(x)
        zs = student(x)
        kl = F.kl_div(F.log_softmax(zs / 4, 1), F.softmax(zt / 4, 1), reduction='batchmean') * 16
        loss = 0.1 * F.cross_entropy(zs, y) + 0.9 * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    med = statistics.median(times[1:] if len(times) > 1 else times)
    print(json.dumps({'peak_rss_mb': rss_mb(), 'rss_before_steps_mb': before, 'median_step_s': med, 'img_per_s': a.batch / med,
                      'torch': torch.__version__, 'threads': a.threads}))


if __name__ == '__main__':
    main()
