"""``multicam eval RUN --gt GT_DIR``: DAVIS J/F per object and camera, and identity across cameras."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from multicam.cli import app
from multicam.manifest import UNTRAINED_WARNING


@app.command("eval")
def eval_command(
    run: Path = typer.Argument(..., help="The run directory to evaluate."),
    gt: Path | None = typer.Option(
        None,
        "--gt",
        help="Ground-truth folder (run-directory format, e.g. from "
        "`multicam synth`) [default: the game's ground_truth, if it names one].",
    ),
    json_out: Path | None = typer.Option(
        None, "--json", help="Also write every measure (with per-frame values) to this JSON file."
    ),
    camera: list[str] | None = typer.Option(None, "--camera", help="Only this camera (repeatable)."),
    iou_threshold: float = typer.Option(
        0.5, "--iou-threshold", min=0.0, max=1.0, help="Mask IoU that matches a predicted id to a ground-truth object."
    ),
    exclude_first_last: bool = typer.Option(
        False, "--exclude-first-last", help="Leave out each camera's first and last frame (DAVIS protocol)."
    ),
) -> None:
    """Score a run's masks against ground truth: J, F (Mean, Recall, Decay), J&F and cross-camera identity."""
    from multicam.evaluation.evaluate import evaluate_run
    from multicam.integrity import usable_run
    from multicam.rundir import open_run

    pred, warnings = usable_run(run, what="eval")
    for line in warnings:
        typer.secho(f"warning: {line}", fg=typer.colors.YELLOW, err=True)
    gt_dir = gt if gt is not None else _game_ground_truth(pred)
    result = evaluate_run(
        pred,
        open_run(gt_dir),
        iou_threshold=iou_threshold,
        exclude_first_last=exclude_first_last,
        cameras=camera or None,
    )
    if result.untrained:
        typer.secho(UNTRAINED_WARNING, fg=typer.colors.RED, bold=True)
    for note in result.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW)
    typer.echo(f"run {result.run}\nground truth {result.ground_truth}   reference camera: {result.reference}")
    cols = ("J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay", "J&F-Mean")
    header = f"{'camera':<12} {'object':<16} " + " ".join(f"{c:>8}" for c in cols)
    typer.echo(header)
    typer.echo("-" * len(header))
    for r in result.results:
        s = r.scores
        vals = (
            s.j_stats.mean,
            s.j_stats.recall,
            s.j_stats.decay,
            s.f_stats.mean,
            s.f_stats.recall,
            s.f_stats.decay,
            s.jf_mean,
        )
        typer.echo(f"{r.camera:<12} {f'{r.object_id} {r.name}'[:16]:<16} " + " ".join(_fmt(v) for v in vals))
    typer.echo("-" * len(header))
    for cam in result.cameras:
        summ = result.summary(camera=cam)
        typer.echo(f"{cam:<12} {'(all objects)':<16} " + " ".join(_fmt(summ[c]) for c in cols))
    summ = result.summary()
    typer.echo(f"{'all':<12} {'(all objects)':<16} " + " ".join(_fmt(summ[c]) for c in cols))
    typer.echo("")
    typer.echo(
        f"{'camera':<12} {'IDF1':>6} {'IDF1-own':>8} {'ID-sw':>6} {'matched':>8} {'missing':>8}  wrong identities"
    )
    for cam in result.cameras:
        ids = result.identity[cam]
        wrong = [
            f"object {g} carries id {o.own_pred_id} (reference: {o.expected_pred_id})"
            for g, o in ids.per_object.items()
            if not o.same_identity and o.own_pred_id is not None
        ]
        matched = ids.matches / ids.n_gt if ids.n_gt else math.nan
        typer.echo(
            f"{cam:<12} {ids.idf1:>6.3f} {ids.idf1_own:>8.3f} {ids.id_switches:>6d} {_fmt(matched):>8} "
            f"{result.missing_frames.get(cam, 0):>8d}  {', '.join(wrong) or '-'}"
        )
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_json(), indent=1) + "\n", encoding="utf-8")
        typer.echo(f"wrote {json_out}")


def _game_ground_truth(run) -> Path:
    """The ground-truth folder named by the run's game file, or a clear error."""
    from multicam.errors import RunDirError
    from multicam.report.calibration import game_config

    game_path, game = game_config(run)
    rel = None if game is None else game.ground_truth
    if rel is not None and game_path is not None:
        path = rel if rel.is_absolute() else game_path.parent / rel
        if path.is_dir():
            return path
    raise RunDirError(
        f"no ground truth given for {run.path}: pass --gt GT_DIR (a folder made by `multicam synth`, "
        "or any run directory to compare with)"
    )


def _fmt(v: float) -> str:
    return f"{'-':>8}" if v is None or math.isnan(v) else f"{v:>8.3f}"
