#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and no internet: build dlib with CUDA from files you bring,
# then print what the GPU gives (detector frames/s, batched descriptors/s) against the CPU.
#
#   scripts/gpu_check.sh --sdist dlib-20.0.1.tar.gz --wheels DIR [--python python3]
#
# DIR holds wheels for everything facetrack needs on that machine's Python (made where there is
# internet, e.g. `pip download -d DIR --only-binary=:all: --python-version 3.12
# --platform manylinux2014_x86_64 facetrack-deps... onnxruntime-gpu`); onnxruntime-gpu among them
# runs CenterFace on CUDA. Needs nvcc, CMake and cuDNN on the machine (dlib turns CUDA off
# silently without cuDNN: the start-up line says which build runs).
set -euo pipefail
cd "$(dirname "$0")/.."

sdist="" wheels="" python="python3"
while [ $# -gt 0 ]; do
  case "$1" in
    --sdist) sdist="$2"; shift ;;
    --wheels) wheels="$2"; shift ;;
    --python) python="$2"; shift ;;
    *) echo "usage: $0 --sdist dlib-X.tar.gz --wheels DIR [--python PY]" >&2; exit 2 ;;
  esac
  shift
done
[ -f "$sdist" ] || { echo "usage: $0 --sdist dlib-X.tar.gz --wheels DIR: the dlib source archive is missing" >&2; exit 2; }
[ -d "$wheels" ] || { echo "usage: $0 --sdist dlib-X.tar.gz --wheels DIR: the wheel folder is missing" >&2; exit 2; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
command -v nvcc >/dev/null || { echo "nvcc not found: dlib's CUDA build needs the CUDA toolkit" >&2; exit 1; }
command -v cmake >/dev/null || { echo "cmake not found" >&2; exit 1; }

venv="$(mktemp -d)/venv"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install -q --no-index --find-links "$wheels")
"${pip[@]}" setuptools wheel
# facetrack and its dependencies from the wheel folder, without dlib-bin (dlib is built below).
"${pip[@]}" --no-build-isolation -e .
"${pip[@]}" onnxruntime-gpu || echo "note: no onnxruntime-gpu wheel: CenterFace runs on the CPU (OpenCV's DNN)"

work="$(mktemp -d)"
tar -xzf "$sdist" -C "$work"
src="$(find "$work" -maxdepth 1 -mindepth 1 -type d | head -1)"
export DLIB_USE_CUDA=1 DLIB_USE_BLAS=1 DLIB_USE_LAPACK=1
"$venv/bin/python" -m pip wheel -q --no-deps --no-build-isolation --no-index -w "$work/dist" "$src"
"$venv/bin/python" -m pip install -q --no-index "$work"/dist/dlib-*.whl

"$venv/bin/python" benchmarks/gpu.py
