#!/usr/bin/python3
"""Generate the independent PyTorch reference fixtures under test/fixtures/.

Development tool only: the outputs are committed and CI never runs Python.
Run with Debian's interpreter (torch 1.13.1, torchvision 0.14.1, onnx 1.12.0):

    /usr/bin/python3 scripts/make_fixtures.py [--only NAME [--only NAME ...]]

NAME is one of: resnet18, mobilenetv2, small_ext, small_resnet, step, resample, repdistiller.

The repdistiller fixture needs HobbitLong/RepDistiller's models/ package in a scratch
directory outside the repo (its code is never committed here), e.g.

    mkdir -p /tmp/rd/models && for f in $(git --git-dir=$G ls-tree --name-only HEAD:models); do
        git --git-dir=$G show HEAD:models/$f > /tmp/rd/models/$f; done

then pass --repdistiller /tmp/rd (the default).
"""
import argparse
import contextlib
import copy
import io
import json
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision
import onnx
import onnx.numpy_helper
from onnx.external_data_helper import convert_model_to_external_data

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures.small_resnet import SmallResNet, SmallCNN  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures")
OPSET = 17

torch.set_num_threads(1)  # deterministic CPU reductions


# ----------------------------------------------------------------------------- helpers

def f32(v):
    """Shortest decimal that round-trips to the same float32 (Math.fround(x) in JS)."""
    v = np.float32(v)
    if not np.isfinite(v):
        raise ValueError("non-finite value in fixture")
    return float(repr(v)) if v != 0 else 0.0


def tensor_json(t):
    t = t.detach().cpu()
    if t.dtype in (torch.int64, torch.int32):
        return {"shape": list(t.shape), "dtype": "int64", "values": [int(v) for v in t.reshape(-1).tolist()]}
    a = t.to(torch.float32).reshape(-1).numpy()
    return {"shape": list(t.shape), "dtype": "float32", "values": [f32(v) for v in a]}


def dict_json(d):
    return {k: tensor_json(v) for k, v in d.items()}


def write_json(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def is_bn_stat(name):
    return name.endswith("running_mean") or name.endswith("running_var") or name.endswith("num_batches_tracked")


def onnx_summary(path, load_external=True):
    m = onnx.load(path, load_external_data=load_external)
    onnx.checker.check_model(path)  # path form also handles external data / >2GB
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    inits = {i.name: int(np.prod(i.dims)) if len(i.dims) else 1 for i in m.graph.initializer}
    return m, ops, inits


def dims_of(vi):
    return [d.dim_param if d.dim_param else d.dim_value for d in vi.type.tensor_type.shape.dim]


@contextlib.contextmanager
def no_value_dedup():
    """torch 1.13's exporter merges initializers with *equal values* when the model is in
    eval mode (e.g. every fresh BN weight=1/bias=0 of one width), leaving Identity nodes and
    losing the state_dict names. Call the pass with is_train=True so it only merges
    tensors that really share storage."""
    C = torch.onnx.utils._C
    orig = C._jit_pass_onnx_deduplicate_initializers
    C._jit_pass_onnx_deduplicate_initializers = lambda g, p, _is_train: orig(g, p, True)
    try:
        yield
    finally:
        C._jit_pass_onnx_deduplicate_initializers = orig


def export(model, x, path, **kw):
    kw.setdefault("opset_version", OPSET)
    kw.setdefault("input_names", ["input"])
    kw.setdefault("output_names", ["logits"])
    with no_value_dedup():
        torch.onnx.export(model, x, path, **kw)


def check_initializer_names(m, model):
    sd = model.state_dict()
    names = [i.name for i in m.graph.initializer]
    unknown = [n for n in names if n not in sd]
    missing = [n for n in sd if n not in names and not n.endswith("num_batches_tracked")]
    return unknown, missing


MANIFEST = {}


def manifest_set(key, value):
    path = os.path.join(OUT, "manifest.json")
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    data[key] = value
    data = dict(sorted(data.items()))
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")


# ----------------------------------------------------------------------------- 1. resnet18

def make_resnet18():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=1000).eval()
    x = torch.randn(1, 3, 224, 224)
    path = os.path.join(OUT, "resnet18.onnx")
    export(model, x, path,
           training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
           dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    m, ops, inits = onnx_summary(path)
    n_bn = ops.get("BatchNormalization", 0)
    weight_sum = sum(v for k, v in inits.items() if not is_bn_stat(k))
    unknown, missing = check_initializer_names(m, model)
    print("resnet18 ops", ops, "BN", n_bn, "non-stat initializer numel", weight_sum)
    assert n_bn == 20, n_bn
    assert weight_sum == 11689512 == n_params(model), (weight_sum, n_params(model))
    assert not unknown and not missing, (unknown, missing)
    for n in m.graph.node:
        if n.op_type == "BatchNormalization":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            assert attrs.get("training_mode", 0) == 0 and len(n.output) == 1
    with torch.no_grad():
        y = model(x)
    manifest_set("resnet18.onnx", {
        "model": "torchvision.models.resnet18(weights=None, num_classes=1000), torch.manual_seed(0), eval()",
        "export": "opset 17, training=PRESERVE (eval BN kept unfolded), do_constant_folding=False, dynamic batch",
        "input": {"name": "input", "shape": ["batch", 3, 224, 224]},
        "output": {"name": "logits", "shape": ["batch", 1000]},
        "parameters": n_params(model),
        "batchnorm_nodes": n_bn,
        "op_counts": ops,
        "reference": {"input": "torch.randn(1,3,224,224) drawn right after model construction (seed 0)",
                      "logits_first10": [f32(v) for v in y[0, :10]],
                      "logits_sum": f32(y.sum()), "argmax": int(y.argmax())},
    })


# ----------------------------------------------------------------------------- 2. mobilenetv2

def make_mobilenetv2():
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(weights=None, width_mult=0.5, num_classes=10).eval()
    x = torch.randn(1, 3, 64, 64)
    path = os.path.join(OUT, "mobilenetv2_folded.onnx")
    export(model, x, path, dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    m, ops, inits = onnx_summary(path)
    print("mobilenetv2 ops", ops, "params", n_params(model), "initializer numel", sum(inits.values()))
    assert "BatchNormalization" not in ops
    with torch.no_grad():
        y = model(x)
    manifest_set("mobilenetv2_folded.onnx", {
        "model": "torchvision.models.mobilenet_v2(weights=None, width_mult=0.5, num_classes=10), torch.manual_seed(0), eval()",
        "export": "opset 17, default (EVAL, constant folding: BatchNorm folded into Conv), dynamic batch",
        "input": {"name": "input", "shape": ["batch", 3, 64, 64]},
        "output": {"name": "logits", "shape": ["batch", 10]},
        "parameters": n_params(model),
        "initializer_numel": sum(inits.values()),
        "batchnorm_nodes": 0,
        "op_counts": ops,
        "reference": {"input": "torch.randn(1,3,64,64) drawn right after model construction (seed 0)",
                      "logits": [f32(v) for v in y[0]]},
    })


# ----------------------------------------------------------------------------- 3. small_ext

def make_small_ext():
    torch.manual_seed(0)
    model = SmallCNN().eval()
    x = torch.randn(2, 1, 28, 28)
    d = os.path.join(OUT, "small_ext")
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, "model.tmp.onnx")
    export(model, x, tmp, dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    m = onnx.load(tmp)
    os.remove(tmp)
    convert_model_to_external_data(m, all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    for stale in ("model.onnx", "weights.bin"):
        p = os.path.join(d, stale)
        if os.path.exists(p):
            os.remove(p)  # external data is appended to an existing file otherwise
    onnx.save_model(m, os.path.join(d, "model.onnx"))
    m2, ops, inits = onnx_summary(os.path.join(d, "model.onnx"))
    assert sum(inits.values()) == n_params(model) == 55338, (sum(inits.values()), n_params(model))
    with torch.no_grad():
        y = model(x)
    manifest_set("small_ext/model.onnx", {
        "model": "scripts/fixtures/small_resnet.py SmallCNN (conv3x3 1->16, ReLU, maxpool2, conv3x3 16->32, ReLU, maxpool2, fc 1568->32, ReLU, fc 32->10), torch.manual_seed(0)",
        "export": "opset 17 eval, dynamic batch, then onnx convert_model_to_external_data(all_tensors_to_one_file=True, location='weights.bin', size_threshold=0)",
        "external_data": "weights.bin",
        "input": {"name": "input", "shape": ["batch", 1, 28, 28]},
        "output": {"name": "logits", "shape": ["batch", 10]},
        "parameters": n_params(model),
        "initializers": {k: v for k, v in inits.items()},
        "reference": {"input": tensor_json(x), "logits": tensor_json(y)},
    })


# ----------------------------------------------------------------------------- 4. small_resnet onnx

def small_resnet_init():
    torch.manual_seed(0)
    return SmallResNet()


def step_inputs():
    # drawn after model construction, from the same seed-0 stream
    torch.manual_seed(0)
    SmallResNet()
    x = torch.randn(8, 1, 28, 28)
    y = torch.randint(0, 10, (8,))
    return x, y


def patch_initializers(path, state):
    """Make sure the initializers hold the given (pre-trace) values: tracing a
    training-mode model runs BN forward, which updates running stats in place."""
    m = onnx.load(path)
    changed = []
    for init in m.graph.initializer:
        if init.name in state:
            want = state[init.name].detach().cpu().numpy()
            have = onnx.numpy_helper.to_array(init)
            if have.shape != want.shape or not np.array_equal(have, want.astype(have.dtype)):
                init.CopyFrom(onnx.numpy_helper.from_array(want.astype(have.dtype), init.name))
                changed.append(init.name)
    if changed:
        onnx.save(m, path)
    return changed


def make_small_resnet():
    model0 = small_resnet_init()
    state0 = copy.deepcopy(model0.state_dict())
    x, _ = step_inputs()
    info = {}

    # training-mode exports: dynamic batch first, fixed batch 8 as fallback/extra
    for variant, dyn in (("small_resnet_train.onnx", True),):
        path = os.path.join(OUT, variant)
        model = copy.deepcopy(model0).train()
        kw = dict(training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)
        if dyn:
            kw["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
        export(model, x, path, **kw)
        changed = patch_initializers(path, state0)
        m, ops, inits = onnx_summary(path)
        unknown, missing = check_initializer_names(m, model0)
        assert not unknown and not missing, (unknown, missing)
        bn = [n for n in m.graph.node if n.op_type == "BatchNormalization"]
        bn_attrs = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in bn]
        print(variant, ops, "patched", changed, "bn attrs", bn_attrs[0], "bn outputs", [list(n.output) for n in bn][:1])
        info[variant] = {
            "model": "scripts/fixtures/small_resnet.py SmallResNet, torch.manual_seed(0) (same initial state as small_resnet_step.json 'initial')",
            "export": "opset 17, training=TRAINING, do_constant_folding=False, dynamic batch" if dyn else "fixed batch 8",
            "input": {"name": "input", "shape": dims_of(m.graph.input[0])},
            "outputs": [{"name": o.name, "shape": dims_of(o)} for o in m.graph.output],
            "parameters": n_params(model0),
            "op_counts": ops,
            "batchnorm": [{"inputs": list(n.input), "outputs": list(n.output), "attrs": {k: (float(v) if isinstance(v, float) else v) for k, v in a.items()}}
                          for n, a in zip(bn, bn_attrs)],
            "initializers_patched_back_to_initial_state": changed,
        }

    path = os.path.join(OUT, "small_resnet_eval.onnx")
    model = copy.deepcopy(model0).eval()
    export(model, x, path, training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
           dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    m, ops, inits = onnx_summary(path)
    unknown, missing = check_initializer_names(m, model0)
    assert not unknown and not missing, (unknown, missing)
    assert ops.get("BatchNormalization") == 6, ops
    with torch.no_grad():
        y_eval = model(x)
    info["small_resnet_eval.onnx"] = {
        "model": "same SmallResNet initial state, eval()",
        "export": "opset 17, training=PRESERVE (BN kept unfolded, training_mode=0), do_constant_folding=False, dynamic batch",
        "input": {"name": "input", "shape": dims_of(m.graph.input[0])},
        "output": {"name": "logits", "shape": dims_of(m.graph.output[0])},
        "parameters": n_params(model0),
        "op_counts": ops,
        "reference": {"input": "x of small_resnet_step.json", "eval_logits": tensor_json(y_eval)},
    }
    for k, v in info.items():
        manifest_set(k, v)


# ----------------------------------------------------------------------------- 5. training-step reference

def run_steps(opt_name, steps, label_smoothing=0.0, record=True):
    model = small_resnet_init().train()
    x, y = step_inputs()
    params = list(model.parameters())
    if opt_name == "sgd":
        opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=False)
    elif opt_name == "sgd_nesterov":
        opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    elif opt_name == "adam":
        opt = torch.optim.Adam(params, lr=1e-3)
    elif opt_name == "adamw":
        opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-2)
    else:
        raise ValueError(opt_name)
    crit = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    out = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = crit(logits, y)
        loss.backward()
        rec = {"loss": f32(loss.item())}
        if record:
            rec["logits"] = tensor_json(logits)
            rec["grads"] = {n: tensor_json(p.grad) for n, p in model.named_parameters()}
        opt.step()
        if record:
            rec["params_after"] = {n: tensor_json(p) for n, p in model.named_parameters()}
            rec["buffers_after"] = {n: tensor_json(b) for n, b in model.named_buffers()}
        out.append(rec)
    return model, out


def make_step():
    model0 = small_resnet_init()
    x, y = step_inputs()
    _, sgd_steps = run_steps("sgd", 2)
    _, ls = run_steps("sgd", 1, label_smoothing=0.1, record=False)
    variants = {}
    for name, hyper in (("adam", {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}),
                        ("adamw", {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False}),
                        ("sgd_nesterov", {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 5e-4, "nesterov": True})):
        m, steps = run_steps(name, 2, record=False)
        variants[name] = {"hyper": hyper, "losses": [s["loss"] for s in steps],
                          "params_after_2_steps": {n: tensor_json(p) for n, p in m.named_parameters()},
                          "buffers_after_2_steps": {n: tensor_json(b) for n, b in m.named_buffers()}}
    obj = {
        "meta": {
            "generator": "/usr/bin/python3 scripts/make_fixtures.py --only step",
            "torch": torch.__version__,
            "dtype": "float32 (values are the shortest decimals that round-trip to the float32; use Math.fround)",
            "model": "scripts/fixtures/small_resnet.py SmallResNet (same as small_resnet_train.onnx / small_resnet_eval.onnx)",
            "rng": "torch.manual_seed(0); model = SmallResNet(); x = torch.randn(8,1,28,28); y = torch.randint(0,10,(8,))",
            "procedure": "model.train(); per step: zero_grad; logits = model(x); loss = CrossEntropyLoss(mean)(logits, y); "
                         "loss.backward(); record grads (raw .grad, before weight decay/momentum); opt.step(); record params and buffers. "
                         "Both steps use the same x, y. BN running stats are updated during the forward of each step "
                         "(momentum 0.1, running_var uses the unbiased batch variance, eps 1e-5). Weight decay applies to all parameters incl. BN weight/bias and fc bias.",
            "param_names": [n for n, _ in model0.named_parameters()],
            "buffer_names": [n for n, _ in model0.named_buffers()],
            "num_parameters": n_params(model0),
        },
        "initial": dict_json(model0.state_dict()),
        "x": tensor_json(x),
        "y": tensor_json(y),
        "sgd": {
            "hyper": {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 5e-4, "nesterov": False},
            "steps": sgd_steps,
        },
        "label_smoothing_0.1": {"step1_loss": ls[0]["loss"]},
        **variants,
    }
    write_json("small_resnet_step.json", obj)


# ----------------------------------------------------------------------------- 6. RepDistiller

RD_MODELS = ["resnet8", "resnet14", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
             "resnet8x4", "resnet32x4", "wrn_16_1", "wrn_16_2", "wrn_40_1", "wrn_40_2",
             "vgg8_bn", "vgg11_bn", "vgg13_bn", "MobileNetV2", "ShuffleV1", "ShuffleV2"]


def make_repdistiller(rd_dir):
    if not os.path.isdir(os.path.join(rd_dir, "models")):
        raise SystemExit(f"RepDistiller models/ not found under {rd_dir}; see the module docstring")
    sys.path.insert(0, rd_dir)
    import models as rd  # noqa: E402  (RepDistiller's models package, from the scratch dir)

    ctor = {n: getattr(rd, n) for n in RD_MODELS if n != "MobileNetV2"}
    ctor["MobileNetV2"] = rd.mobile_half
    commit = None
    mirror = "/work/.mirror/HobbitLong+RepDistiller/repo"
    if os.path.isdir(mirror):
        commit = subprocess.run(["git", "--git-dir", mirror, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()

    result = {}
    for name in RD_MODELS:
        entry = {}
        for classes in (100, 10):
            torch.manual_seed(0)
            with contextlib.redirect_stdout(io.StringIO()):  # mobilenetv2 prints T, width
                net = ctor[name](num_classes=classes).eval()
            x = torch.randn(2, 3, 32, 32)
            with torch.no_grad():
                feats, logits = net(x, is_feat=True)
            entry[f"3x32x32_{classes}"] = {
                "params": n_params(net),
                "feat_shapes": [list(f.shape) for f in feats],
                "logits_shape": list(logits.shape),
            }
        entry["1x28x28_10"] = None
        result[name] = entry
        print(name, entry["3x32x32_100"]["params"], entry["3x32x32_10"]["params"])

    # extra: torchvision counts recorded alongside (the mobilenetv2_folded.onnx fixture)
    torch.manual_seed(0)
    tv_mb = torchvision.models.mobilenet_v2(weights=None, width_mult=0.5, num_classes=10)
    torch.manual_seed(0)
    tv_r18 = torchvision.models.resnet18(weights=None, num_classes=1000)
    obj = {
        "meta": {
            "source": "github.com/HobbitLong/RepDistiller models/*.py" + (f" @ {commit}" if commit else ""),
            "constructors": "models.<name>(num_classes=C) for the ResNets/WRNs/VGGs/ShuffleV1/ShuffleV2; MobileNetV2 = models.mobile_half(num_classes=C) (MobileNetV2 T=6, width_mult=0.5)",
            "params": "sum(p.numel() for p in model.parameters())",
            "feat_shapes": "shapes of the list returned by model(x, is_feat=True) (preact=False), x = randn(2,3,32,32), eval mode",
            "1x28x28_10": "null for every model: all RepDistiller CIFAR models hard-code 3 input channels (nn.Conv2d(3, ...) / conv_bn(3, ...)) "
                          "and fixed 32x32 pooling (ResNet/WRN AvgPool 8, ShuffleNets avg_pool2d 4, MobileNetV2 asserts input_size % 32 == 0); not modified here",
            "torch": torch.__version__,
        },
        "models": result,
        "torchvision": {
            "mobilenet_v2(width_mult=0.5, num_classes=10)": n_params(tv_mb),
            "resnet18(num_classes=1000)": n_params(tv_r18),
        },
    }
    write_json("repdistiller_params.json", obj)


# ----------------------------------------------------------------------------- 7. resampling reference

def make_resample():
    """torch's antialiased bilinear interpolate (what torchvision's Resize / RandomResizedCrop apply to tensors,
    and the same triangle filter as PIL's BILINEAR) on crops of a random uint8 image: up, down and mixed scales."""
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(7)
    img = torch.randint(0, 256, (3, 19, 23), generator=g, dtype=torch.uint8)
    cases = []
    # (top, left, height, width) crop of the 19x23 image, then (out_h, out_w)
    for box, out in [((0, 0, 19, 23), (19, 23)), ((0, 0, 19, 23), (7, 9)), ((2, 3, 5, 6), (13, 17)),
                     ((1, 0, 17, 23), (8, 31)), ((4, 5, 11, 3), (11, 3)), ((0, 2, 19, 19), (5, 5))]:
        t, l, h, w = box
        crop = img[:, t:t + h, l:l + w].to(torch.float32)[None]
        y = F.interpolate(crop, size=out, mode="bilinear", align_corners=False, antialias=True)[0]
        cases.append({"box": {"top": t, "left": l, "height": h, "width": w}, "out": list(out), "expected": tensor_json(y)})
    write_json("resample_torch.json", {
        "meta": {"source": "torch.nn.functional.interpolate(mode='bilinear', align_corners=False, antialias=True) on "
                           "img[:, top:top+height, left:left+width] as float32", "torch": torch.__version__},
        "image": tensor_json(img.to(torch.int64)), "cases": cases})


# ----------------------------------------------------------------------------- main

STEPS = {
    "resnet18": make_resnet18,
    "mobilenetv2": make_mobilenetv2,
    "small_ext": make_small_ext,
    "small_resnet": make_small_resnet,
    "step": make_step,
    "resample": make_resample,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", choices=list(STEPS) + ["repdistiller"])
    ap.add_argument("--repdistiller", default="/tmp/rd", help="dir containing RepDistiller's models/ package")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    todo = args.only or (list(STEPS) + ["repdistiller"])
    for name in todo:
        print(f"== {name}")
        if name == "repdistiller":
            make_repdistiller(args.repdistiller)
        else:
            STEPS[name]()


if __name__ == "__main__":
    main()
