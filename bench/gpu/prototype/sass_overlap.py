#!/usr/bin/env python3
"""How much of the softmax overlaps the P V wgmma, read from the SASS.

The sm_90a key loop issues S(n) = Q K(n)^T and O += P(j) V(j), waits for the
first (wgmma.wait_group 1), runs n's mask and softmax, then waits for the
second (wait_group 0). ptxas keeps that overlap only if nothing between the
two waits makes it wait early; in the SASS the waits are
`WARPGROUP.DEPBAR.LE gsb0, 0x1` and `... 0x0`, and the exps are `MUFU.EX2`.
This counts, per kernel, the MUFU.EX2 found between a `0x1` wait and the
next `0x0` wait, the most of any window and each window's (one per key
loop) (64 for a 64-key tile at 16 rows per warp: every exp
overlapped; 0: none). No GPU needed.

  sass_overlap.py ARTIFACT_DIR...  [--nvdisasm PATH]

nvdisasm ships with the CUDA toolkit; without one, it comes from PyPI:
  pip download --no-deps nvidia-cuda-nvdisasm && unzip the wheel
  (nvidia/cu13/bin/nvdisasm).
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys


def find_nvdisasm(given):
    for path in [given, shutil.which("nvdisasm"), "/usr/local/cuda/bin/nvdisasm"]:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    sys.exit("sass_overlap.py: no nvdisasm (expected --nvdisasm PATH, on PATH "
             "or at /usr/local/cuda/bin/nvdisasm; see this script's help for PyPI)")


def overlap(sass):
    """EX2 count of each 0x1..0x0 window, in code order, and in the kernel."""
    counts, inside, count = [], False, 0
    for line in sass.splitlines():
        if "WARPGROUP.DEPBAR.LE gsb0, 0x1" in line:
            inside, count = True, 0
        elif "WARPGROUP.DEPBAR.LE gsb0, 0x0" in line:
            if inside:
                counts.append(count)
            inside = False
        elif inside and "MUFU.EX2" in line:
            count += 1
    return counts, sass.count("MUFU.EX2")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+")
    parser.add_argument("--nvdisasm")
    args = parser.parse_args()
    tool = find_nvdisasm(args.nvdisasm)
    print(f"{'artifact':32} {'overlapped EX2':>14} {'windows':>8} {'EX2':>6}  per window")
    for d in args.dirs:
        cubins = sorted(glob.glob(os.path.join(d, "*.cubin")))
        if not cubins:
            print(f"{os.path.basename(d.rstrip('/')):32} (no cubin)")
            continue
        for cubin in cubins:
            sass = subprocess.run([tool, "-c", cubin], capture_output=True,
                                  text=True, check=True).stdout
            counts, total = overlap(sass)
            name = os.path.basename(d.rstrip("/"))
            if len(cubins) > 1:
                name += "/" + os.path.basename(cubin)
            print(f"{name:32} {max(counts, default=0):>14} {len(counts):>8} "
                  f"{total:>6}  {' '.join(map(str, counts))}")


if __name__ == "__main__":
    main()
