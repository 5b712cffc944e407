#!/usr/bin/env python3
"""atelier vs PyTorch on the same workloads, same machine, same thread count, one session.

Runs the PyTorch reference (shared/bench/torch_reference.py: pip install torch) and
`atelier bench`, then prints atelier/PyTorch per workload: throughput ratio for training
(images/s), speed ratio for stylize512 (PyTorch ms / atelier ms); > 1 means atelier is faster.

usage: bench/compare.py [--atelier PATH] [--reference PATH] [--threads N] [--seconds S]
                        [--backend flex] [--device cpu|cuda] [--workload all|NAME]
"""
import argparse, json, os, platform, subprocess, sys, datetime

ap = argparse.ArgumentParser()
here = os.path.dirname(os.path.abspath(__file__))
ap.add_argument("--atelier", default=os.path.join(here, "..", "target", "release", "atelier"))
ap.add_argument("--reference", default=os.path.join(here, "..", "..", "shared", "bench", "torch_reference.py"))
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--seconds", type=float, default=20.0)
ap.add_argument("--backend", default="flex")
ap.add_argument("--device", default="cpu")
ap.add_argument("--workload", default="all")
args = ap.parse_args()
workloads = ["single_style", "cyclegan", "stylize512"] if args.workload == "all" else [args.workload]


def lines(cmd):
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


rows = []
for w in workloads:
    torch = lines([sys.executable, args.reference, "--threads", str(args.threads), "--device", args.device,
                   "--workload", w, "--seconds", str(args.seconds)])[0]
    ours = lines([args.atelier, "bench", "--workload", w, "--backend", args.backend, "--threads", str(args.threads),
                  "--seconds", str(args.seconds)])[0]
    if "images_per_s" in torch:
        ratio = ours["images_per_s"] / torch["images_per_s"]
        rows.append((w, f'{torch["images_per_s"]:.3f} img/s', f'{ours["images_per_s"]:.3f} img/s', ratio, torch))
    else:
        ratio = torch["ms_per_image"] / ours["ms_per_image"]
        rows.append((w, f'{torch["ms_per_image"]:.1f} ms', f'{ours["ms_per_image"]:.1f} ms', ratio, torch))

t = rows[0][4]
print(f"\n{datetime.date.today()}  {platform.node()}  {platform.processor() or platform.machine()}  "
      f"threads={args.threads}  torch {t.get('torch')} on {t.get('device')}  atelier backend={args.backend}")
print(f"{'workload':<14} {'PyTorch':>16} {'atelier':>16} {'atelier/PyTorch':>16}")
for w, a, b, r, _ in rows:
    print(f"{w:<14} {a:>16} {b:>16} {r:>15.2f}x")
