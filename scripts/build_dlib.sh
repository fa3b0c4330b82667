#!/usr/bin/env bash
# Build dlib from source into the current Python environment, replacing the prebuilt
# dlib-bin CPU wheel. Two reasons to do it:
#   --blas  link OpenBLAS: descriptors ~5.5x faster on a CPU (measured: 73.8 -> 13.4 ms a face),
#           but dlib's HOG ~2.2x slower (README: "Faster dlib")
#   --cuda  CUDA (needs the CUDA toolkit AND cuDNN: without cuDNN dlib silently turns CUDA off)
# The build takes about 7 minutes on two cores.
#
# Usage: scripts/build_dlib.sh --blas|--cuda [--version 20.0.1] [--python .venv/bin/python] [--wheel-dir DIR]
# --wheel-dir keeps a copy of the built wheel, to install on other machines of the same kind.
set -euo pipefail

mode=""
version="20.0.1"
python="${PYTHON:-.venv/bin/python}"
wheel_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --blas) mode=blas ;;
    --cuda) mode=cuda ;;
    --version) version="$2"; shift ;;
    --python) python="$2"; shift ;;
    --wheel-dir) wheel_dir="$2"; shift ;;
    *) echo "usage: $0 --blas|--cuda [--version V] [--python PY] [--wheel-dir DIR]" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$mode" ] || { echo "usage: $0 --blas|--cuda [--version V] [--python PY] [--wheel-dir DIR]" >&2; exit 2; }
[ -x "$python" ] || python="$(command -v python3)"

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq build-essential cmake libopenblas-dev liblapack-dev >/dev/null
else
  echo "needs: a C++ compiler, cmake, and OpenBLAS/LAPACK headers (Debian: libopenblas-dev liblapack-dev)" >&2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# PyPI's cmake has no wheel for some platforms, and pip then compiles CMake itself for half
# an hour: use the system's CMake when there is one.
"$python" -m pip install -q setuptools wheel
command -v cmake >/dev/null || "$python" -m pip install -q cmake
# Only dlib from source: `--no-binary :all:` would compile its build tools (CMake) as well.
"$python" -m pip download -q --no-deps --no-build-isolation --no-binary dlib -d "$work" "dlib==$version"
tar -xzf "$work"/dlib-"$version".tar.gz -C "$work"

# dlib's setup.py passes every DLIB_* environment variable to CMake (its old --set flags are
# gone from the 20.x sdist). AVX is switched on by dlib's CMake when the CPU has it.
export DLIB_USE_BLAS=1 DLIB_USE_LAPACK=1
if [ "$mode" = cuda ]; then
  command -v nvcc >/dev/null || { echo "nvcc not found: install the CUDA toolkit first" >&2; exit 1; }
  export DLIB_USE_CUDA=1
else
  export DLIB_USE_CUDA=0
fi

"$python" -m pip wheel -q --no-deps --no-build-isolation -w "$work/dist" "$work/dlib-$version"
# Both distributions install the same `dlib` module: remove the prebuilt one first.
"$python" -m pip uninstall -y -q dlib-bin dlib 2>/dev/null || true
"$python" -m pip install -q --no-deps "$work"/dist/dlib-*.whl
if [ -n "$wheel_dir" ]; then
  mkdir -p "$wheel_dir" && cp "$work"/dist/dlib-*.whl "$wheel_dir"/
fi
"$python" - <<'PY'
import dlib
print(f"dlib {dlib.__version__}: CUDA={dlib.DLIB_USE_CUDA} BLAS={dlib.DLIB_USE_BLAS} AVX={dlib.USE_AVX_INSTRUCTIONS}")
if dlib.DLIB_USE_CUDA:
    print(f"GPUs: {dlib.cuda.get_num_devices()}")
PY
