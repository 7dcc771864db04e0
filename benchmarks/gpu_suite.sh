#!/usr/bin/env bash
# The GPU suite: stock SAM 2 video predictor against `multicam process`'s engine on the same frames.
#
#   bash benchmarks/gpu_suite.sh                        # CUDA: tiny and large, 1024 px, 1 and 11 objects,
#                                                       # fp32 and bf16, with and without compile (< 8 min)
#   bash benchmarks/gpu_suite.sh --device cpu --quick   # the same code end to end on the CPU (< 1 min)
#
# Any option of benchmarks/gpu_suite.py passes through (--models tiny, --frames 90, --budget-s 300...).
# Prints a table (frames/s, peak GPU memory, mask agreement with fp32) and writes
# benchmarks/results/gpu_suite.json (gpu_suite_quick.json with --quick).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
exec "${PYTHON:-python}" benchmarks/gpu_suite.py "$@"
