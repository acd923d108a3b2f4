#!/usr/bin/python3
"""Reference for scripts/bench/torchvision-step.ts: torchvision's full ConvNeXt-Tiny or ViT-B/16 (random weights,
torch.manual_seed(0)), exported in TRAINING mode at opset 17, one forward/backward of mean cross-entropy on a seeded
batch of 2 224-px images; writes <out>/<name>.train.onnx, <name>.json (loss, labels, index) and <name>.grads.bin
(float32: x, logits, then every parameter's gradient). ConvNeXt-Tiny is built with stochastic_depth_prob=0 (torch
cannot export bernoulli_ in training mode); ViT-B/16's zero-initialised head is drawn N(0, 0.02²) so that gradients
reach the body. A development tool (Debian's python3-torch 1.13, torchvision 0.14); never a runtime dependency.

    /usr/bin/python3 scripts/bench/torchvision_step.py convnext|vit|efficientnet OUT_DIR
"""
import json
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

torch.set_num_threads(1)
name, out = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
if name == 'convnext':
    m = torchvision.models.convnext_tiny(weights=None, stochastic_depth_prob=0.0)
elif name == 'efficientnet':
    # SiLU everywhere (exported as x * Sigmoid(x), trained through the compiler's Silu rule), squeeze-excitation.
    m = torchvision.models.efficientnet_b0(weights=None, stochastic_depth_prob=0.0)
    m.classifier[0].p = 0.0
else:
    m = torchvision.models.vit_b_16(weights=None)
    with torch.no_grad():
        m.heads.head.weight.normal_(0, 0.02)
m.train()
g = torch.Generator().manual_seed(3)
x = torch.randn(2, 3, 224, 224, generator=g)
y = torch.randint(0, 1000, (2,), generator=g)
torch.onnx.export(m, x, f'{out}/{name}.train.onnx', opset_version=17, training=torch.onnx.TrainingMode.TRAINING,
                  do_constant_folding=False, input_names=['input'], output_names=['logits'],
                  dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
logits = m(x)
loss = nn.functional.cross_entropy(logits, y)
loss.backward()
idx, off = {}, 0
with open(f'{out}/{name}.grads.bin', 'wb') as f:
    for tname, arr in [('__x', x), ('__logits', logits)] + [(n, p.grad) for n, p in m.named_parameters()]:
        a = arr.detach().numpy().astype(np.float32).reshape(-1)
        f.write(a.tobytes())
        idx[tname] = [off, list(arr.shape)]
        off += a.size
with open(f'{out}/{name}.json', 'w') as f:
    json.dump({'loss': loss.item(), 'y': y.tolist(), 'index': idx}, f)
print(name, 'loss', loss.item(), 'params', sum(p.numel() for p in m.parameters()))
