"""PyTorch peer of benches/vgg_small.rs: vgg-small (features [16,M,32,M,64,64,M] with BatchNorm
after every convolution, avgpool 4x4, classifier [128,128], 2 classes) on B=32 batches of
1x64x64, CPU; with `3d`, vgg-small-3d (Conv3d features [8,M,16,M,32,M] with BatchNorm3d,
avgpool 2x2x2, classifier [64,64]) on B=8 batches of 1x24x24x24, as the quick3d profile trains.

usage: python vgg_small_torch.py train|infer [steps] [3d]
Prints one JSON line: mode, images_per_s, threads, torch version.
Run under /usr/bin/time -v for the peak resident memory.
"""
import json
import sys
import time

import torch
import torch.nn as nn


def vgg(cfg, avgpool, hidden, dims):
    """A torchvision-layout VGG with BatchNorm after every convolution, 2-D or 3-D."""
    conv, norm, pool, adaptive = {
        2: (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d),
        3: (nn.Conv3d, nn.BatchNorm3d, nn.MaxPool3d, nn.AdaptiveAvgPool3d),
    }[dims]
    layers, c = [], 1
    for v in cfg:
        if v == "M":
            layers.append(pool(2, 2))
        else:
            layers += [conv(c, v, 3, padding=1), norm(v), nn.ReLU(inplace=True)]
            c = v
    return nn.Sequential(
        nn.Sequential(*layers),
        adaptive((avgpool,) * dims),
        nn.Flatten(1),
        nn.Linear(c * avgpool**dims, hidden), nn.ReLU(True), nn.Dropout(0.5),
        nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(0.5),
        nn.Linear(hidden, 2),
    )


def vgg_small():
    return vgg([16, "M", 32, "M", 64, 64, "M"], 4, 128, 2)


def vgg_small_3d():
    return vgg([8, "M", 16, "M", 32, "M"], 2, 64, 3)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "train"
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    volumes = len(sys.argv) > 3 and sys.argv[3] == "3d"
    torch.manual_seed(0)
    b = 8 if volumes else 32
    model = vgg_small_3d() if volumes else vgg_small()
    x = torch.rand(b, 1, 24, 24, 24) if volumes else torch.rand(b, 1, 64, 64)
    y = torch.randint(0, 2, (b,))
    if mode == "train":
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                model(x)
    for _ in range(5):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    dt = time.perf_counter() - t
    print(json.dumps({"mode": mode, "images_per_s": steps * b / dt, "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
