#!/usr/bin/env python3
"""Colour shares of images (docs/quality.md, "Colour jitter and multi-scale crops"): per image,
the mean and spread of each channel and the share of its pixels that are blue (blue above red
by 0.1, not darker than luminance 0.15), warm (the mean of red and green above blue by 0.1) and
dark (luminance under 0.15). Needs pillow and numpy.

    bench/colour_shares.py ../shared/images/starry_night.jpg out/cj50/*.png
"""
import sys

import numpy as np
from PIL import Image


def shares(path):
    a = np.asarray(Image.open(path).convert("RGB")).astype(float) / 255
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    blue = ((b > r + 0.1) & (b >= g) & (y >= 0.15)).mean()
    warm = ((r + g) / 2 > b + 0.1).mean()
    dark = (y < 0.15).mean()
    mean = a.reshape(-1, 3).mean(0)
    sd = a.reshape(-1, 3).std(0)
    return (
        f"rgb mean {mean[0]:.2f} {mean[1]:.2f} {mean[2]:.2f}  sd {sd[0]:.2f} {sd[1]:.2f} {sd[2]:.2f}  "
        f"blue {blue:.2f}  warm {warm:.2f}  dark {dark:.2f}"
    )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for p in sys.argv[1:]:
        print(f"{p}: {shares(p)}")
