"""benchmarks/visual_confidence.py: the fit of the motion confidence and its calibration check, on small row files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

REPO = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("visual_confidence", REPO / "benchmarks" / "visual_confidence.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(count: int, right: bool, seed: int) -> list[dict]:
    """``visual`` rows as sync_accuracy.py writes them: strong evidence for right answers, weak for wrong ones."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        peak = rng.uniform(0.6, 0.95) if right else rng.uniform(0.2, 0.6)
        out.append(
            {
                "method": "visual",
                "overlap": True,
                "error_frames": float(rng.uniform(-0.5, 0.5) if right else rng.uniform(5, 40)),
                "confidence": 0.0,
                "peak": peak,
                "sidelobe": rng.uniform(4, 10) if right else rng.uniform(1.5, 4.5),
                "null_z": rng.uniform(1, 6) if right else rng.uniform(-2, 3),
                "second_peak": peak - rng.uniform(0.05, 0.3),
            }
        )
    return out


def write(path: Path, rows_: list[dict]) -> Path:
    path.write_text(json.dumps({"rows": rows_}))
    return path


def test_fit_learns_that_more_evidence_means_right_and_check_tabulates_it(tmp_path):
    script = load_script()
    data = write(tmp_path / "rows.json", rows(40, True, 0) + rows(60, False, 1) + [{"method": "audio"}])
    fitted = script.fit([data])
    assert fitted["features"] == ["peak", "sidelobe", "null_z"]
    assert all(w > 0 for w in fitted["weights"])  # each piece of evidence raises the probability
    assert fitted["on_the_fitted_rows"]["answers"] == 100 and fitted["on_the_fitted_rows"]["right"] == 40
    checked = script.check([data])  # the shipped coefficients, on these rows
    assert checked["answers"] == 100
    assert checked["table"].startswith("| confidence | answers | mean confidence | right |")
    assert sum(int(line.split("|")[2]) for line in checked["table"].splitlines()[2:]) == 100


def test_null_pairs_are_never_right(tmp_path):
    script = load_script()
    null = rows(5, True, 2)
    for r in null:
        r.update(overlap=False, error_frames=None)
    _, labels = script.features_and_labels(null + rows(3, True, 3))
    assert labels.tolist() == [0] * 5 + [1] * 3


@pytest.mark.parametrize(
    "content, action, message",
    [
        ([], "fit", "no visual rows with evidence"),
        ([{"method": "visual", "overlap": True, "refused": "static", "confidence": 0.0}], "fit", "no visual rows"),
        (rows(10, True, 4), "fit", "all right or all wrong"),
        ([{k: v for k, v in r.items() if k != "second_peak"} for r in rows(4, True, 5)], "check", "no rival peak"),
    ],
)
def test_bad_rows_stop_with_one_line(tmp_path, content, action, message):
    script = load_script()
    data = write(tmp_path / "rows.json", content)
    with pytest.raises(SystemExit, match=message):
        getattr(script, action)([data])
