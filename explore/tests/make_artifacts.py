#!/usr/bin/env python3
"""The e2e tests' schedules (ctest fixture explore-artifacts): writes
dense/, uniform6/, local8/ and topk/ (top-1 block of 16) under OUT with explore/make_schedule.py, plus
heads8/ (a dense schedule of 8 heads, which MiniLM cannot use), and
compiles each schedule.mlir into DIR/artifact with attn-compile
--target=native.

  make_artifacts.py ATTN_COMPILE OUT
"""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEDULES = {"dense": ["dense"], "uniform6": ["uniform", "6"], "local8": ["local", "8"],
             "heads8": ["dense", "--heads", "8"], "topk": ["topk", "16:1"]}


def main():
    attn_compile, out = sys.argv[1], Path(sys.argv[2])
    for name, args in SCHEDULES.items():
        d = out / name
        subprocess.run([sys.executable, str(HERE.parent / "make_schedule.py"), *args,
                        "-o", str(d)], check=True)
        subprocess.run([attn_compile, str(d / "schedule.mlir"), "--target=native",
                        "-o", str(d / "artifact")], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
