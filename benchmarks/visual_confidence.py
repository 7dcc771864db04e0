"""Fit the visual sync confidence on benchmark results, or check how well it is calibrated.

The motion method's confidence (:func:`multicam.sync.visual.motion_confidence`) is the probability
that its answer is within one frame of the truth: a logistic model of the evidence behind each
answer (:class:`multicam.sync.visual.MotionEvidence`: peak correlation, sidelobe ratio, z-score
against the out-of-step null). ``fit`` learns its coefficients from the ``visual`` rows of
``sync_accuracy.py`` results (scikit-learn's ``LogisticRegression``); ``check`` tells, for other
results, how often the answers given each confidence were right (reliability table, Brier score,
log loss). A pair is right when it overlaps and the answer is within one reference frame; null
pairs (unrelated clips) are never right.

Usage::

    python benchmarks/visual_confidence.py fit benchmarks/results/sync_accuracy.json \\
        benchmarks/results/sync_accuracy_seeds5-9.json benchmarks/results/sync_accuracy_seeds10-14.json \\
        --json benchmarks/results/visual_confidence.json
    python benchmarks/visual_confidence.py check benchmarks/results/sync_accuracy_seeds15-19.json \\
        benchmarks/results/sync_accuracy_seeds20-24.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss

from multicam.sync.visual import MotionEvidence, motion_confidence

RIGHT_FRAMES = 1.0  # an answer within this many reference frames of the truth is right
C = 50.0  # inverse L2 strength of the fit: barely regularised, the three features are few and bounded
BIN_EDGES = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)


def visual_rows(paths: list[Path]) -> list[dict]:
    """The ``visual`` rows that were answered (refusals carry no evidence) of ``sync_accuracy.py`` result files."""
    rows = []
    for path in paths:
        for r in json.loads(path.read_text())["rows"]:
            if r["method"] == "visual" and "null_z" in r:
                rows.append(r)
    if not rows:
        raise SystemExit(f"no visual rows with evidence in {', '.join(map(str, paths))}: rerun sync_accuracy.py")
    return rows


def evidence(row: dict) -> MotionEvidence:
    """A row's evidence; rows written before the rival peak was recorded have none (the fit does not use it)."""
    return MotionEvidence(row["peak"], row["sidelobe"], row["null_z"], row.get("second_peak", float("nan")))


def features_and_labels(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([evidence(r).features() for r in rows])
    y = np.array([bool(r["overlap"]) and abs(r["error_frames"]) <= RIGHT_FRAMES for r in rows], dtype=int)
    return x, y


def reliability(y: np.ndarray, p: np.ndarray) -> str:
    """Markdown: per confidence bin, how many answers, their mean confidence and how many were right."""
    lines = ["| confidence | answers | mean confidence | right |", "|---|---|---|---|"]
    which = np.clip(np.digitize(p, BIN_EDGES[1:-1]), 0, len(BIN_EDGES) - 2)
    for b, (lo, hi) in enumerate(zip(BIN_EDGES[:-1], BIN_EDGES[1:])):
        sel = which == b
        if sel.any():
            lines.append(
                f"| {lo:.1f}-{hi:.1f} | {sel.sum()} | {p[sel].mean():.2f} | {y[sel].sum()} ({y[sel].mean():.0%}) |"
            )
    return "\n".join(lines)


def summary(y: np.ndarray, p: np.ndarray) -> dict:
    accepted = p >= 0.5
    prob_true, prob_pred = calibration_curve(y, p, n_bins=5)
    return {
        "answers": int(len(y)),
        "right": int(y.sum()),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "accepted": int(accepted.sum()),
        "right_and_accepted": int((accepted & (y == 1)).sum()),
        "right_confidence_median": float(np.median(p[y == 1])) if y.any() else None,
        "right_under_0.1": int(((p < 0.1) & (y == 1)).sum()),
        "calibration_curve": {"mean_confidence": prob_pred.tolist(), "fraction_right": prob_true.tolist()},
        "table": reliability(y, p),
    }


def fit(paths: list[Path]) -> dict:
    rows = visual_rows(paths)
    x, y = features_and_labels(rows)
    if y.min() == y.max():
        raise SystemExit("the rows are all right or all wrong: nothing to fit")
    model = LogisticRegression(C=C).fit(x, y)
    intercept, weights = float(model.intercept_[0]), [float(w) for w in model.coef_[0]]
    p = model.predict_proba(x)[:, 1]
    return {
        "fitted_on": [str(p_) for p_ in paths],
        "intercept": round(intercept, 2),
        "weights": [round(w, 2) for w in weights],
        "features": ["peak", "sidelobe", "null_z"],
        "C": C,
        "on_the_fitted_rows": summary(y, p),
    }


def check(paths: list[Path]) -> dict:
    """The shipped confidence (:func:`motion_confidence`, recomputed from each row's evidence) against the truth."""
    rows = visual_rows(paths)
    x, y = features_and_labels(rows)
    if any("second_peak" not in r for r in rows):
        raise SystemExit("these results have no rival peak (second_peak): rerun sync_accuracy.py")
    p = np.array([motion_confidence(evidence(r)) for r in rows])
    return {"checked_on": [str(p_) for p_ in paths], **summary(y, p)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["fit", "check"])
    parser.add_argument("results", type=Path, nargs="+", help="sync_accuracy.py --json outputs")
    parser.add_argument("--json", type=Path, default=None, help="write the outcome here")
    args = parser.parse_args()
    out = fit(args.results) if args.action == "fit" else check(args.results)
    scores = out.get("on_the_fitted_rows", out)
    print(json.dumps({k: v for k, v in scores.items() if k != "table"}, indent=1))
    if args.action == "fit":
        print(f"intercept {out['intercept']}, weights {out['weights']} ({', '.join(out['features'])})")
    print(scores["table"])
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
