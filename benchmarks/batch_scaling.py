"""Many games: `multicam batch` (one Ray task per game) against `multicam process` one game after another.

Side by side in one run, on the same synthetic games, random weights, CPU:

1. **sequential**: ``multicam process GAME`` for each game, one after the other (each process uses
   every core);
2. **batch**: one ``multicam batch GAMES...`` with an embedded Ray, ``--max-parallel`` = cores and one
   CPU (one torch thread) per game, end to end (Ray's start included);
3. **per-task overhead**: one game processed in this process (:func:`multicam.batch.tasks.process_one`,
   imports already paid) against the same call as a Ray task, on a fresh worker (cold: it imports
   torch and SAM 2) and on a reused one (warm); plus an empty Ray task's round trip.

Then a season model (80 games x 4 cameras x 90 min at 30 fps, 11 objects, on 1, 8 and 64 GPUs)
from measured inputs (the per-game overhead here, the object-count factor in
``results/speed_options*.json``) and assumed ones (a GPU's frames/s), printed with each input's source.

::

    python benchmarks/batch_scaling.py                      # 4 games of 160 sequence frames at 128 px
    python benchmarks/batch_scaling.py --frames 80 --image-size 64
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

PUBLISHED_A100_TINY_FPS = 91.0  # SAM 2 paper / README: sam2.1_hiera_tiny, 1 object, A100 (not measured here)
SEASON = {"games": 80, "cameras": 4, "minutes": 90, "fps": 30, "objects": 11}


def object_factor() -> dict:
    """Per-frame cost of 11 objects over 1 object, measured on this CPU (results/speed_options*.json)."""
    out = {}
    for name, option in (("speed_options_bf16_256.json", "fp32"), ("speed_options_batch256.json", "batch")):
        path = common.RESULTS / name
        if not path.is_file():
            continue
        rows = json.loads(path.read_text())["rows"]
        fps = {r["objects"]: r.get("frames_per_s") for r in rows if r.get("option") == option}
        if fps.get(1) and fps.get(11):
            out[option] = {"file": name, "fps_1": fps[1], "fps_11": fps[11], "factor": round(fps[1] / fps[11], 2)}
    return out


def season_model(per_game_overhead_s: float, factors: dict) -> dict:
    """Hours for the season on 1, 8 and 64 GPUs, one game per GPU at a time (games are the unit)."""
    frames_per_game = SEASON["cameras"] * SEASON["minutes"] * 60 * SEASON["fps"]
    factor = (factors.get("batch") or factors.get("fp32") or {"factor": 4.0})["factor"]
    gpu_fps = PUBLISHED_A100_TINY_FPS / factor
    game_h = (frames_per_game / gpu_fps + per_game_overhead_s) / 3600
    rows = []
    for gpus in (1, 8, 64):
        waves = math.ceil(SEASON["games"] / gpus)
        rows.append(
            {
                "gpus": gpus,
                "waves": waves,
                "season_h": round(waves * game_h, 1),
                "gpu_utilisation": round(SEASON["games"] / (waves * gpus), 2),
            }
        )
    return {
        "season": SEASON,
        "frames_per_game": frames_per_game,
        "frames_per_season": frames_per_game * SEASON["games"],
        "inputs": {
            "gpu_fps_1_object": {"value": PUBLISHED_A100_TINY_FPS, "source": "assumed: SAM 2's published A100 figure"},
            "objects_factor_11_vs_1": {"value": factor, "source": "measured on this CPU, --batch-objects", **factors},
            "gpu_fps_11_objects": {"value": round(gpu_fps, 1), "source": "assumed: CPU factor carried over to GPU"},
            "per_game_overhead_s": {"value": round(per_game_overhead_s, 2), "source": "measured here (cold task)"},
        },
        "game_h": round(game_h, 2),
        "rows": rows,
    }


def overhead(game: Path, image_size: int, runs: Path, cores: int) -> dict:
    """One game in-process against the same call as a Ray task (cold and warm worker)."""
    import ray

    from multicam.batch import GameOptions
    from multicam.batch.record import new_record_dir
    from multicam.batch.tasks import GameTask, process_one, process_task
    from multicam.rundir import now_iso

    options = GameOptions(
        untrained=True, image_size=image_size, device="cpu", dtype="float32", feature_cache="off", threads=1
    )
    record_dir = new_record_dir(runs, "overhead")

    def task() -> GameTask:  # `since` = now: never skip, always a new run
        return GameTask(
            key="g", game=str(game), options=options, runs_dir=str(runs), record_dir=str(record_dir), since=now_iso()
        )

    process_one(task())  # imports and first model build paid here
    time.sleep(1.1)  # `since` has a one-second resolution
    t0 = time.perf_counter()
    local = process_one(task())
    in_process = time.perf_counter() - t0
    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=cores, include_dashboard=False, log_to_driver=False)
    ray_init = time.perf_counter() - t0

    @ray.remote
    def noop() -> None:
        return None

    ray.get(noop.remote())
    t0 = time.perf_counter()
    ray.get([noop.remote() for _ in range(100)])
    noop_s = (time.perf_counter() - t0) / 100
    times = []
    for _ in range(2):
        time.sleep(1.1)  # `since` has a one-second resolution
        t0 = time.perf_counter()
        out = ray.get(process_task.options(num_cpus=1).remote(task()))
        times.append(time.perf_counter() - t0)
        assert out.status == "complete", out
    skip_task = GameTask(key="g", game=str(game), options=options, runs_dir=str(runs), record_dir=str(record_dir))
    t0 = time.perf_counter()
    for _ in range(5):
        assert process_one(skip_task).status == "skipped"
    skip_local = (time.perf_counter() - t0) / 5
    skip_ray = []
    for _ in range(6):  # a fresh worker for the first (it imports multicam), then reused ones
        t0 = time.perf_counter()
        assert ray.get(process_task.options(num_cpus=1).remote(skip_task)).status == "skipped"
        skip_ray.append(time.perf_counter() - t0)
    ray.shutdown()
    return {
        "skip_in_process_s": round(skip_local, 3),
        "skip_ray_first_s": round(skip_ray[0], 3),
        "skip_ray_next_s": round(sum(skip_ray[1:]) / 5, 3),
        "skip_overhead_s": round(sum(skip_ray[1:]) / 5 - skip_local, 3),
        "in_process_s": round(in_process, 2),
        "in_process_frames": local.frames,
        "ray_task_cold_s": round(times[0], 2),
        "ray_task_warm_s": round(times[1], 2),
        "overhead_cold_s": round(times[0] - in_process, 2),
        "overhead_warm_s": round(times[1] - in_process, 2),
        "ray_init_s": round(ray_init, 2),
        "empty_task_s": round(noop_s, 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=4)
    parser.add_argument("--frames", type=int, default=160, help="Sequence frames per game (3 cameras).")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--out", type=Path, default=common.RESULTS / "batch_scaling.json")
    parser.add_argument(
        "--overhead-only", action="store_true", help="Measure the per-task overhead again into an existing --out."
    )
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    print(f"cores: {cores}; load average at start: {os.getloadavg()}", flush=True)
    work = common.OUT / "batch_scaling"
    games = [
        common.make_game(args.frames, width=args.width, seed=s, root=work / "games") for s in range(1, args.games + 1)
    ]
    if args.overhead_only:
        result = json.loads(args.out.read_text())
        over = overhead(games[0], args.image_size, work / f"runs_overhead_{time.strftime('%Y%m%d-%H%M%S')}", cores)
        print(f"overhead: {over}", flush=True)
        result["overhead"] = {**over, "load_average": [round(x, 2) for x in os.getloadavg()]}
        result["season_model"] = season_model(max(over["overhead_cold_s"], 0.0), object_factor())
        args.out.write_text(json.dumps(result, indent=1) + "\n")
        return
    opts = ["--untrained", "--image-size", str(args.image_size), "--device", "cpu", "--feature-cache", "off", "-q"]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    runs_seq, runs_batch = work / f"runs_seq_{stamp}", work / f"runs_batch_{stamp}"

    sequential = []
    for game in games:
        r = common.run_measured(common.multicam_cmd("process", str(game), "--runs-dir", str(runs_seq), *opts))
        assert r["rc"] == 0, r["tail"]
        sequential.append(r["wall_s"])
        print(f"sequential {game.parent.name}: {r['wall_s']:.1f} s", flush=True)
    seq_total = sum(sequential)

    load_before_batch = os.getloadavg()
    launched = time.time()
    b = common.run_measured(
        common.multicam_cmd(
            "batch",
            *map(str, games),
            "--runs-dir",
            str(runs_batch),
            "--cpus",
            str(cores),
            "--max-parallel",
            str(cores),
            "--cpus-per-game",
            "1",
            *opts,
        )
    )
    assert b["rc"] == 0, b["tail"]
    (record_dir,) = (runs_batch / "_batches").iterdir()
    record = json.loads((record_dir / "batch.json").read_text())
    from datetime import datetime

    ray_start = datetime.fromisoformat(record["started_at"]).timestamp() - launched  # record starts after Ray
    after_start = b["wall_s"] - ray_start
    print(f"batch: {b['wall_s']:.1f} s for {len(games)} games ({ray_start:.0f} s of it starting Ray)", flush=True)

    over = overhead(games[0], args.image_size, work / f"runs_overhead_{stamp}", cores)
    print(f"overhead: {over}", flush=True)

    speedup = seq_total / b["wall_s"]
    result = {
        "settings": {**vars(args), "out": str(args.out), "cores": cores},
        "machine": common.machine(),
        "weights_note": "RANDOM WEIGHTS (--untrained): speed of the real architecture, masks meaningless",
        "load_average_before_batch": [round(x, 2) for x in load_before_batch],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "sequence_frames_per_game": [common.sequence_frames(g) for g in games],
        "sequential_s": sequential,
        "sequential_total_s": round(seq_total, 2),
        "batch_wall_s": b["wall_s"],
        "batch_ray_start_s": round(ray_start, 1),
        "batch_after_ray_start_s": round(after_start, 1),
        "speedup_after_ray_start": round(seq_total / after_start, 2),
        "batch_games": [
            {k: g[k] for k in ("key", "status", "seconds", "frames", "frames_per_s", "node")} for g in record["games"]
        ],
        "speedup": round(speedup, 2),
        "speedup_target": 1.5,
        "overhead": over,
        "overhead_target_s": 2.0,
        "season_model": season_model(max(over["overhead_cold_s"], 0.0), object_factor()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print()
    print(
        common.table(
            [
                {"variant": f"{len(games)} x multicam process, one after another", "wall_s": round(seq_total, 1)},
                {"variant": f"multicam batch, max-parallel {cores}", "wall_s": b["wall_s"]},
                {"variant": "  of which after Ray started", "wall_s": round(after_start, 1)},
            ],
            ["variant", "wall_s"],
        )
    )
    print(
        f"speed-up: {speedup:.2f}x on {cores} cores (target 1.5x: {'met' if speedup >= 1.5 else 'NOT met'}); "
        f"{seq_total / after_start:.2f}x once Ray runs"
    )
    worst = max(over["overhead_cold_s"], over["overhead_warm_s"])
    print(
        f"Ray per-task overhead: cold {over['overhead_cold_s']:+.2f} s, warm {over['overhead_warm_s']:+.2f} s "
        f"(target <= 2 s: {'met' if worst <= 2 else 'NOT met'}); empty task {over['empty_task_s'] * 1000:.1f} ms; "
        f"ray.init {over['ray_init_s']:.1f} s"
    )
    model = result["season_model"]
    print(f"season model ({model['frames_per_season']:,} frames; {model['game_h']} h per game on one GPU):")
    print(common.table(model["rows"], ["gpus", "waves", "season_h", "gpu_utilisation"]))
    for key, value in model["inputs"].items():
        print(f"  {key}: {value['value']} ({value['source']})")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
