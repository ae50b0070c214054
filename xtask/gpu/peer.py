"""PyTorch + Captum on the same device, weights and inputs as `cargo xtask bench-device`.

Usage: python3 peer.py BENCH_DIR [--device cuda] [--steps 10]

BENCH_DIR is the folder `bench-device --out` wrote (model/arch.json + model.safetensors in
torchvision names, inputs.npy, targets.npy, maps/, mrixai.json). Times training (Adam, batches
moved to the device each step, as a data loader feeds them), inference and every Captum method
with batch settings a user would pick (internal_batch_size / perturbations_per_eval 64), checks
the deterministic maps against mrixai's, and writes peer.json and ratios.json: mrixai's rate over
PyTorch's (training, inference) and Captum's seconds per image over mrixai's (methods); > 1 means
mrixai is faster.
"""
import argparse
import json
import os
import time
import warnings

import numpy as np
import torch
import torch.nn as nn

BATCHED = 64  # internal_batch_size / perturbations_per_eval


def build(a):
    """torchvision's VGG layout from an mrixai arch.json (features, avgpool, classifier)."""
    layers, c = [], a["in_channels"]
    for v in a["features"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers.append(nn.Conv2d(c, v, 3, padding=1))
            if a.get("batch_norm"):
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU(inplace=False))
            c = v
    ah, aw = a["avgpool"]
    dims = [c * ah * aw] + list(a["classifier"])
    head = []
    for i in range(len(dims) - 1):
        head += [nn.Linear(dims[i], dims[i + 1]), nn.ReLU(False), nn.Dropout(a.get("dropout", 0.5))]
    head.append(nn.Linear(dims[-1], a["num_classes"]))

    class VGG(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d((ah, aw))
            self.classifier = nn.Sequential(*head)

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    return VGG()


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, dev):
    """Seconds of the faster of two runs (the first one's one-time costs drop out), as
    mrixai's bench times its side."""
    best = float("inf")
    for _ in range(2):
        sync(dev)
        t = time.perf_counter()
        fn()
        sync(dev)
        best = min(best, time.perf_counter() - t)
    return best


def grid_mask(x, cell):
    """mrixai's `grid` features: square cells of `cell` pixels, numbered row by row."""
    h, w = x.shape[-2:]
    per_row = -(-w // cell)
    rows = torch.arange(h, device=x.device) // cell
    cols = torch.arange(w, device=x.device) // cell
    grid = rows[:, None] * per_row + cols[None, :]
    return grid.expand(x.shape[0], x.shape[1], h, w).contiguous()


def methods(m, xs, ts, params):
    """Captum calls of the methods mrixai timed, with its parameters."""
    from captum.attr import (Deconvolution, DeepLift, GradientShap, GuidedBackprop, GuidedGradCam,
                             InputXGradient, IntegratedGradients, KernelShap, LayerGradCam, Lime,
                             LRP, Occlusion, Saliency, ShapleyValueSampling)
    last_conv = [l for l in m.features if isinstance(l, nn.Conv2d)][-1]
    c = xs.shape[1]
    occ = params.get("occlusion", {})
    win = [int(v) for v in occ.get("sliding_window_shapes", "8,8").split(",")]
    stride = [int(v) for v in occ.get("strides", "4,4").split(",")]
    cell = next((int(p["grid_size"]) for p in params.values() if "grid_size" in p), 8)
    fm = grid_mask(xs, cell)
    zero = torch.zeros_like(xs)
    return {
        "gradient": lambda: Saliency(m).attribute(xs, target=ts, abs=False),
        "input_x_gradient": lambda: InputXGradient(m).attribute(xs, target=ts),
        "integrated_gradients": lambda: IntegratedGradients(m).attribute(
            xs, baselines=zero, target=ts, n_steps=50, method="gausslegendre",
            internal_batch_size=BATCHED),
        "gradient_shap": lambda: GradientShap(m).attribute(
            xs, baselines=zero[:1], target=ts, n_samples=5, stdevs=0.0),
        "deeplift": lambda: DeepLift(m).attribute(xs, baselines=zero, target=ts),
        "lrp": lambda: LRP(m).attribute(xs, target=ts),
        "guided_backprop": lambda: GuidedBackprop(m).attribute(xs, target=ts),
        "deconvolution": lambda: Deconvolution(m).attribute(xs, target=ts),
        "grad_cam": lambda: LayerGradCam(m, last_conv).attribute(xs, target=ts),
        "guided_grad_cam": lambda: GuidedGradCam(m, last_conv).attribute(xs, target=ts),
        "occlusion": lambda: Occlusion(m).attribute(
            xs, target=ts, sliding_window_shapes=(c, *win), strides=(c, *stride), baselines=0,
            perturbations_per_eval=BATCHED),
        "lime": lambda: Lime(m).attribute(
            xs, target=ts, feature_mask=fm, n_samples=50, perturbations_per_eval=BATCHED),
        "kernel_shap": lambda: KernelShap(m).attribute(
            xs, target=ts, feature_mask=fm, n_samples=25, perturbations_per_eval=BATCHED),
        "shapley_value_sampling": lambda: ShapleyValueSampling(m).attribute(
            xs, target=ts, feature_mask=fm, n_samples=25, perturbations_per_eval=BATCHED),
    }


# maps equal by definition (same weights, inputs, parameters; no sampling, no superpixels)
COMPARED = ["gradient", "input_x_gradient", "integrated_gradients", "deeplift",
            "guided_backprop", "deconvolution", "occlusion"]


def train_rate(m, arch, dev, batch, steps):
    h, w = arch["input_size"]
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch * steps, arch["in_channels"], h, w, generator=g)
    y = torch.arange(batch * steps) % arch["num_classes"]
    opt = torch.optim.Adam(m.parameters(), 1e-3, weight_decay=1e-4)

    def epoch():
        m.train()
        for i in range(steps):
            xb = x[i * batch:(i + 1) * batch].to(dev, non_blocking=True)
            yb = y[i * batch:(i + 1) * batch].to(dev, non_blocking=True)
            opt.zero_grad()
            nn.functional.cross_entropy(m(xb), yb).backward()
            opt.step()
    return batch * steps / timed(epoch, dev)


def main():
    warnings.filterwarnings("ignore")  # Captum's advice on requires_grad and batched LIME
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--device", default="cuda")
    a = p.parse_args()
    ours = json.load(open(os.path.join(a.dir, "mrixai.json")))
    arch = json.load(open(os.path.join(a.dir, "model", "arch.json")))
    dev = torch.device(a.device)
    from safetensors.torch import load_file
    state = load_file(os.path.join(a.dir, "model", "model.safetensors"))
    m = build(arch)
    m.load_state_dict(state, strict=False)
    m.to(dev).eval()
    xs = torch.from_numpy(np.load(os.path.join(a.dir, "inputs.npy"))).to(dev)
    ts = torch.from_numpy(np.load(os.path.join(a.dir, "targets.npy"))).to(dev)
    batch, steps = ours["batch"], ours["steps"]
    h, w = arch["input_size"]
    xb = torch.rand(batch, arch["in_channels"], h, w, device=dev)
    with torch.no_grad():
        infer = batch * steps / timed(lambda: [m(xb) for _ in range(steps)], dev)
    calls = methods(m, xs, ts, ours.get("params", {}))
    peer, agree = {}, {}
    for name in ours["method_s_per_img"]:
        if name not in calls:
            continue
        out = {}
        peer[name] = timed(lambda: out.__setitem__("a", calls[name]()), dev) / len(xs)
        mine = os.path.join(a.dir, "maps", name + ".npy")
        if name in COMPARED and os.path.exists(mine):
            ref = out["a"].detach().float().cpu().numpy()
            got = np.load(mine)
            agree[name] = float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30))
        print(f"peer: {name} {peer[name]:.4f} s/img", flush=True)
    fresh = build(arch)
    fresh.load_state_dict(state, strict=False)
    train = train_rate(fresh.to(dev), arch, dev, batch, steps)
    report = {"tool": "torch+captum", "torch": torch.__version__,
              "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
              "train_img_per_s": train, "infer_img_per_s": infer, "method_s_per_img": peer,
              "max_abs_diff_over_max_abs": agree}
    ratios = {"arch": ours["arch"], "size": ours["size"], "device": report["device"],
              "training (mrixai/torch img/s)": ours["train_img_per_s"] / train,
              "inference (mrixai/torch img/s)": ours["infer_img_per_s"] / infer}
    for name, s in peer.items():
        ratios[f"{name} (captum/mrixai s/img)"] = s / ours["method_s_per_img"][name]
    json.dump(report, open(os.path.join(a.dir, "peer.json"), "w"), indent=1)
    json.dump(ratios, open(os.path.join(a.dir, "ratios.json"), "w"), indent=1)
    print(json.dumps({"ratios": ratios, "maps": agree}, indent=1))


if __name__ == "__main__":
    main()
