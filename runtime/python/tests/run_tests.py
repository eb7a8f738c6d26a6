#!/usr/bin/env python3
"""Runs the binding's tests for ctest (python-binding-cpu; with a file
pattern as argument, only those files: python-binding-sparse runs
test_sparse.py).

The environment names the artifact and the library (ATTN_TEST_ARTIFACT,
ATTN_RUNTIME_LIB); this picks a Python that has numpy, because the one CMake
found may not be the one python3-numpy was installed for (a pyenv shim ahead
of /usr/bin/python3, say): $ATTN_PYTHON, this interpreter, /usr/bin/python3,
then python3 on PATH. Exits 77 (ctest's skip) when none has numpy, else with
unittest's status.
"""

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
    candidates = [os.environ.get("ATTN_PYTHON"), sys.executable, "/usr/bin/python3",
                  shutil.which("python3")]
    seen = []
    for python in candidates:
        if not python or python in seen:
            continue
        seen.append(python)
        if has_numpy(python):
            break
    else:
        print("python binding tests: skipped: numpy is missing in %s "
              "(apt-get install python3-numpy, or set ATTN_PYTHON)" % ", ".join(seen))
        return 77
    for var in ("ATTN_TEST_ARTIFACT", "ATTN_SPARSE_ARTIFACT", "ATTN_RUNTIME_LIB"):
        print("%s=%s" % (var, os.environ.get(var, "(unset)")))
    print("python: %s" % python, flush=True)
    pattern = ["-p", sys.argv[1]] if len(sys.argv) > 1 else []
    return subprocess.call([python, "-m", "unittest", "discover", "-s", here, "-v"]
                           + pattern)


if __name__ == "__main__":
    sys.exit(main())
