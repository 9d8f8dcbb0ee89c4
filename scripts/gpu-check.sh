#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds perase with the CUDA profile, runs the unit and parity tests
# on the GPU (libtorch's default device when it sees one) and prints ./perase bench on the GPU.
# Not run here yet: the development machine has no GPU (README, "Running at Stable Diffusion scale").
# Usage: scripts/gpu-check.sh [MODEL_DIR]   (default: the built-in world model)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvidia-smi > /dev/null || ! nvidia-smi -L > /dev/null 2>&1; then
  echo "gpu-check: no NVIDIA GPU visible (nvidia-smi -L failed)" >&2
  exit 2
fi
nvidia-smi -L
model="${1:-models/world}"
# the fast tier: unit and parity tests, with the tolerances set for float32 on the CPU; cuDNN's TF32
# convolutions (on by default on Ampere and newer) may exceed them, which this check is here to show
mvn -B -Pcu124 test -Dtest.excluded=slow,bench 2>&1 | tee target/gpu-check-tests.log | \
  grep -E "Tests run:|FAIL" | tail -5
mvn -B -q -Pcu124 -DskipTests package
java -jar target/perase.jar bench --device gpu --model "$model" --repeats 10
