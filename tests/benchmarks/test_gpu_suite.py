"""The GPU suite runs end to end on the CPU (``--device cpu --quick``), so that it cannot rot before a GPU is at hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.sam2
def test_gpu_suite_quick_on_the_cpu(tmp_path):
    out = tmp_path / "gpu_suite.json"
    cmd = ["bash", str(REPO / "benchmarks" / "gpu_suite.sh"), "--device", "cpu", "--quick", "--out", str(out)]
    done = subprocess.run(
        [*cmd, "--games", str(tmp_path / "games")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| model | pipeline | objects | dtype |" in done.stdout
    data = json.loads(out.read_text())
    rows = [r for r in data["rows"] if "skipped" not in r]
    variants = {(r["pipeline"], r["objects"], r["dtype"]) for r in rows}
    assert variants == {(p, n, d) for p in ("stock", "multicam") for n in (1, 3) for d in ("float32", "bfloat16")}
    for r in rows:
        assert r["frames"] == data["settings"]["sequence_frames"] and r["frames_per_s"] > 0
        assert r["peak_gpu_mib"] is None  # CPU: no GPU memory figure
        assert 0.0 <= r["iou_vs_fp32"] <= 1.0
        if r["dtype"] == "float32":
            assert r["iou_vs_fp32"] == 1.0  # the reference itself
    assert "random weights" in " ".join(data["weights"])
