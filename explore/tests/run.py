#!/usr/bin/env python3
"""Runs explore/'s tests for ctest: `run.py test_forward.py` runs that file
with unittest under a Python that has numpy ($ATTN_PYTHON, this interpreter,
/usr/bin/python3, python3 on PATH; as runtime/python/tests/run_tests.py
does). Without numpy anywhere it fails: explore/ needs it (install-deps.sh
installs python3-numpy)."""
import os
import shutil
import subprocess
import sys


def has_numpy(python):
    try:
        return subprocess.run([python, "-c", "import numpy"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    seen = []
    for python in (os.environ.get("ATTN_PYTHON"), sys.executable, "/usr/bin/python3",
                   shutil.which("python3")):
        if python and python not in seen:
            seen.append(python)
            if has_numpy(python):
                break
    else:
        print("explore tests: numpy is missing in %s (apt-get install python3-numpy, "
              "or set ATTN_PYTHON)" % ", ".join(seen))
        return 1
    print("python: %s" % python, flush=True)
    return subprocess.call([python, "-m", "unittest", "discover", "-s", here, "-v",
                            "-p", sys.argv[1]])


if __name__ == "__main__":
    sys.exit(main())
