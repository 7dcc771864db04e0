"""Shared helpers of the benchmark scripts: synthetic games, measured subprocesses, tables, results.

Every variant of a benchmark runs in its own Python subprocess, so its wall time and peak
resident memory (``ru_maxrss`` of that process, read with ``os.wait4``) are its own. Games
are generated with :mod:`multicam.synth` into ``benchmarks/out/`` (ignored by git) and
reused across runs; results go to ``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
RESULTS = ROOT / "benchmarks" / "results"
MODEL = "sam2.1_hiera_tiny"
FPS = (25.0, 30.0, 25.0)  # synthetic game: side 25, end 30, corner 25 fps -> 80 sequence frames per second


# -- weights -----------------------------------------------------------------------------------
def checkpoint_for(model: str = MODEL) -> Path | None:
    """The cached checkpoint of ``model``, or None (the benchmarks then use random weights)."""
    from multicam.models import cached_checkpoint

    return cached_checkpoint(model)


def weights_note(checkpoint: Path | None) -> str:
    if checkpoint is None:
        return (
            "RANDOM WEIGHTS: no checkpoint found (`multicam models download` to use real ones); "
            "speed and memory are those of the real architecture, masks are meaningless"
        )
    return f"weights: {checkpoint}"


# -- games -------------------------------------------------------------------------------------
def make_game(
    sequence_frames: int,
    *,
    width: int = 320,
    objects: int = 1,
    players_per_team: int = 5,
    seed: int = 1,
    root: Path | None = None,
    quiet: bool = False,
) -> Path:
    """A 3-camera synthetic game of about ``sequence_frames`` frames (all cameras), reused when present.

    The clips are ``sequence_frames / 80`` seconds long (25, 30 and 25 fps). Only the first
    ``objects`` objects are kept (those prompted on the earliest frames first), in
    ``prompts_<k>obj.yaml``, with ``game_<k>obj.yaml`` pointing to it.

    Returns:
        the game file.
    """
    from ruamel.yaml import YAML

    from multicam.synth import SynthConfig, generate_game
    from multicam.synth.config import DEFAULT_OFFSETS

    duration = sequence_frames / sum(FPS)
    # Under a second the default start offsets (up to 0.35 s) would leave a camera with no time in
    # common with the reference, which the game file check refuses: scale them to the clip length.
    offsets = None if duration >= 1.0 else tuple(o * duration for o in DEFAULT_OFFSETS[:3])
    folder = (root or OUT / "games") / f"synth_{sequence_frames}f_{width}px_s{seed}"
    base = folder / "game.yaml"
    if not (folder / ".complete").is_file():
        if folder.exists():
            shutil.rmtree(folder)
        cfg = SynthConfig(
            seed=seed,
            num_cameras=3,
            players_per_team=players_per_team,
            duration_s=duration,
            width=width,
            fps=FPS,
            durations=(duration,) * 3,
            offsets=offsets,
            audio=False,
            name=folder.name,
        )
        t0 = time.perf_counter()
        if not quiet:
            print(f"generating {folder.name} ({sequence_frames} sequence frames, {width} px) ...", flush=True)
        generate_game(cfg, folder)
        (folder / ".complete").write_text(f"{time.perf_counter() - t0:.1f}\n")
    yaml = YAML()
    game_file = folder / f"game_{objects}obj.yaml"
    if not game_file.is_file():
        prompts = yaml.load((folder / "prompts.yaml").read_text())
        first = sorted(prompts["objects"], key=lambda o: min(p.get("frame") or 0 for p in o["prompts"]))
        if len(first) < objects:
            raise SystemExit(f"{folder} has only {len(first)} objects; ask for fewer or more players")
        with (folder / f"prompts_{objects}obj.yaml").open("w") as fh:
            yaml.dump({"objects": first[:objects]}, fh)
        game = yaml.load(base.read_text())
        game["prompts"] = f"prompts_{objects}obj.yaml"
        game["name"] = f"{folder.name}_{objects}obj"
        with game_file.open("w") as fh:
            yaml.dump(game, fh)
    return game_file


def sequence_frames(game_file: Path) -> int:
    """Frames of all cameras of a game (what one SAM 2 state tracks)."""
    from multicam.session import open_game

    opened = open_game(game_file)
    return sum(c.frame_count for c in opened.timeline.cameras)


# -- measuring ---------------------------------------------------------------------------------
def run_measured(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout_s: float | None = None, log: Path | None = None
) -> dict[str, Any]:
    """Run ``cmd`` in a subprocess; its wall time, peak RSS (MiB) and CPU seconds (via ``os.wait4``).

    Standard output and error go to ``log`` (or are discarded); the last lines are returned.
    """
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    log_fh = log.open("w") if log is not None else subprocess.DEVNULL
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(cmd), stdout=log_fh, stderr=subprocess.STDOUT, env=full_env, cwd=ROOT)
    deadline = None if timeout_s is None else t0 + timeout_s
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if log is not None:
        log_fh.close()
    tail = log.read_text(errors="replace").splitlines()[-15:] if log is not None else []
    return {
        "cmd": list(cmd),
        "rc": proc.returncode,
        "wall_s": round(wall, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "tail": tail,
    }


def python_cmd(*args: str) -> list[str]:
    return [sys.executable, *args]


def multicam_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "multicam", *args]


# -- reporting ---------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import torch

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "note": "shared machine: other work ran at the same time, so timings are noisy",
    }
    try:
        import psutil

        info["memory_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    return info


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A markdown table of ``rows`` (dicts) with ``columns``."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
        return "" if v is None else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def save_results(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def mask_iou(run_a: Path, run_b: Path) -> dict[str, float]:
    """Agreement of two run directories' masks: mean and minimum IoU over every (camera, frame, object).

    IoU by pycocotools on the RLEs. A pair where one run has the object and the other does
    not counts as 0 (both absent is not counted).
    """
    from multicam.evaluation.identity import rle_iou_matrix
    from multicam.rundir import open_run

    a, b = open_run(run_a), open_run(run_b)
    ious: list[float] = []
    for cam in a.cameras:
        fa, fb = a.frames(cam), b.frames(cam)
        for frame in sorted(set(fa) | set(fb)):
            ma, mb = fa.get(frame), fb.get(frame)
            for oid in sorted(set(ma.object_ids if ma else ()) | set(mb.object_ids if mb else ())):
                x = ma.get(oid) if ma else None
                y = mb.get(oid) if mb else None
                ious.append(0.0 if x is None or y is None else float(rle_iou_matrix([x.rle], [y.rle])[0, 0]))
    if not ious:
        return {"mean_iou": 1.0, "min_iou": 1.0, "pairs": 0}
    return {"mean_iou": round(sum(ious) / len(ious), 5), "min_iou": round(min(ious), 5), "pairs": len(ious)}
