"""Shared helpers of explore/'s tests."""
import os
import sys
import tempfile
from pathlib import Path

EXPLORE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(EXPLORE))
sys.path.insert(0, str(EXPLORE.parent / "runtime" / "python"))

import minilm  # noqa: E402

_MODEL = None


def model():
    """The real model, loaded once per process (from the package that
    scripts/setup-python.sh installs; a clear error if it is missing)."""
    global _MODEL
    if _MODEL is None:
        _MODEL = minilm.MiniLM.load()
    return _MODEL


def tmpdir(prefix):
    base = os.environ.get("ATTN_EXPLORE_TMP")
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix, dir=base)


def artifacts():
    """The directory of the compiled test schedules (ctest fixture
    explore-artifacts), or None."""
    d = os.environ.get("ATTN_EXPLORE_ARTIFACTS")
    return Path(d) if d else None
