#!/usr/bin/env python3
"""PyTorch twin of examples/generator_size.rs: the same generators (G(W, B) with nearest 2x
resize + ReflectionPad1 Conv3 upsampling, mirrored padding before the strided convolutions, and
the residual to atanh(photo) before the tanh), timed the same way (one 512x512 forward pass
without gradients, the sizes interleaved per round, median and fastest of the rounds), so a
machine's speed divides out: run the two one after the other and compare the ratios.

    python3 bench/generator_size.py [--rounds N] [--threads T] [W,B ...]
    cargo run --release --example generator_size -- [--rounds N] [--threads T] [W,B ...]

bench/student_speed.sh alternates the two several times.
"""
import argparse
import time

import torch
import torch.nn as nn


class Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.b = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c), nn.ReLU(True),
                               nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c))

    def forward(self, x):
        return x + self.b(x)


class Generator(nn.Module):
    def __init__(self, w, blocks):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, w, 7), nn.InstanceNorm2d(w), nn.ReLU(True)]
        c = w
        for _ in range(2):
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(c, 2 * c, 3, 2), nn.InstanceNorm2d(2 * c), nn.ReLU(True)]
            c *= 2
        layers += [Res(c) for _ in range(blocks)]
        for _ in range(2):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1), nn.Conv2d(c, c // 2, 3),
                       nn.InstanceNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, 3, 7)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return torch.tanh(self.net(x) + torch.atanh(x.clamp(-0.999, 0.999)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("sizes", nargs="*", default=["32,6", "16,3", "8,2"])
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    sizes = [tuple(int(v) for v in s.split(",")) for s in a.sizes]
    nets = [Generator(w, b).eval() for w, b in sizes]
    x = torch.rand(1, 3, 512, 512) * 2 - 1
    times = [[] for _ in nets]
    with torch.no_grad():
        for g in nets:
            g(x)  # warm-up
        for _ in range(a.rounds):
            for i, g in enumerate(nets):
                t = time.perf_counter()
                g(x)
                times[i].append((time.perf_counter() - t) * 1e3)
    print("generator\tparams\tms_512_median\tms_512_min\tvs_first\tfps_512")
    base = sorted(times[0])[len(times[0]) // 2]
    for (w, b), g, t in zip(sizes, nets, times):
        t.sort()
        med = t[len(t) // 2]
        params = sum(p.numel() for p in g.parameters())
        print(f"G({w},{b})\t{params}\t{med:.1f}\t{t[0]:.1f}\t{med / base:.2f}\t{1000 / med:.1f}")


if __name__ == "__main__":
    main()
