#!/usr/bin/env bash
# Installs every system package attn needs to build and test, with apt,
# then the pinned Python packages of explore/ (scripts/setup-python.sh).
#
# Idempotent: when everything is already present it checks with dpkg and returns
# in well under a second without touching the network. Run as root (or with sudo
# available). Set ATTN_DEPS_FORCE=1 to run apt-get even when all looks installed.
set -euo pipefail

packages=(
  # Compiler, build, test.
  cmake ninja-build g++ git python3 python3-numpy python3-pip
  # LLVM/MLIR 22: headers, CMake configs, libMLIR.so, mlir-tblgen, lit, FileCheck.
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  # C++ test and benchmark frameworks.
  libgtest-dev libbenchmark-dev
  # clang with libFuzzer: the runtime's manifest fuzzer (runtime-fuzz-manifest) and
  # scripts/test-sanitizers.sh (the ASan+UBSan build and test/fuzz targets).
  clang-22 libclang-rt-22-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 && "${ATTN_DEPS_FORCE:-0}" != 1 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exec "$(dirname "$0")/setup-python.sh"
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "install-deps: missing packages (${missing[*]}) and not root, no sudo" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
exec "$(dirname "$0")/setup-python.sh"
