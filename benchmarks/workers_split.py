"""One game across workers: `multicam process --workers N` against one process, side by side in one run.

The same synthetic 3-camera game, random weights, CPU:

1. **one worker**: ``multicam process GAME`` (one SAM 2 state, every core as torch threads,
   feature cache off: the image encoder runs for every frame);
2. **N workers**: ``multicam process GAME --workers N`` with an embedded Ray (started by the
   command: its start is included), a fresh feature cache: stage 1 encodes chunks of frames in
   N tasks, stage 2 tracks N groups of objects in N states, stage 3 merges.

Wall times are end to end (process start to exit); the masks of the two runs are compared
(mean and minimum IoU over every mask; the split's workers run 1 thread each, the single run
all cores, so the scores differ in the last bits; see tests/test_workers.py). Target: N=2
at least 1.3x faster than one worker.

::

    python benchmarks/workers_split.py                        # 240 sequence frames, 4 objects, 256 px
    python benchmarks/workers_split.py --objects 11 --frames 160

Results: ``benchmarks/results/workers_split.json``; figures in ``docs/benchmarks/batch.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

TARGET = 1.3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=240, help="sequence frames (3 cameras)")
    ap.add_argument("--objects", type=int, default=4)
    ap.add_argument("--image-size", type=int, default=256)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=common.RESULTS / "workers_split.json")
    args = ap.parse_args()

    checkpoint = common.checkpoint_for()
    note = common.weights_note(checkpoint)
    print(note)
    print(f"cores: {os.cpu_count()}")
    game = common.make_game(args.frames, width=args.width, objects=args.objects)
    work = common.OUT / "workers_split"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    weights = ["--untrained"] if checkpoint is None else ["--checkpoint", str(checkpoint)]
    base = ["--image-size", str(args.image_size), "--device", "cpu", "--runs-dir", str(work / "runs"), "-q"]

    def process(name: str, *extra: str) -> dict:
        cmd = common.multicam_cmd("process", str(game), *base, "--name", name, *weights, *extra)
        print(f"{name} ...", flush=True)
        res = common.run_measured(cmd, log=work / f"{name}.log")
        if res["rc"] != 0:
            raise SystemExit(f"{name} failed:\n" + "\n".join(res["tail"]))
        res["run_dir"] = str(next((work / "runs").glob(f"*/{name}1")))
        return res

    machine = common.machine()
    single = process("single", "--feature-cache", "off")
    split = process("split", "--workers", str(args.workers), "--feature-cache", str(work / "features"))
    from multicam.rundir import open_run

    info = open_run(split["run_dir"]).manifest.workers
    agreement = common.mask_iou(Path(single["run_dir"]), Path(split["run_dir"]))
    speedup = round(single["wall_s"] / split["wall_s"], 2)
    rows = [
        {"run": "one worker (1 state, all cores)", "wall_s": single["wall_s"], "peak_rss_mib": single["peak_rss_mib"]},
        {
            "run": f"--workers {args.workers} (Ray start included)",
            "wall_s": split["wall_s"],
            "peak_rss_mib": split["peak_rss_mib"],
        },
    ]
    print()
    print(common.table(rows, list(rows[0])))
    print(
        f"\nstages of the split run: features {info.encode_s}s ({info.frames_encoded} frames in "
        f"{info.feature_chunks} chunks), tracking {info.track_s}s "
        f"({', '.join(str(p.objects) for p in info.parts)}), merge {info.merge_s}s; "
        f"{info.threads_per_worker} thread(s) per worker"
    )
    print(
        f"speed-up: {speedup}x on {os.cpu_count()} cores (target >= {TARGET}x: "
        f"{'met' if speedup >= TARGET else 'NOT met'})"
    )
    print(f"masks: mean IoU {agreement['mean_iou']}, min {agreement['min_iou']} over {agreement['pairs']} masks")
    print(note)
    payload = {
        "settings": {
            "sequence_frames": common.sequence_frames(game),
            "objects": args.objects,
            "image_size": args.image_size,
            "workers": args.workers,
            "model": common.MODEL,
            "weights": note,
        },
        "rows": rows,
        "stages": info.model_dump(mode="json"),
        "speedup": speedup,
        "target": TARGET,
        "masks": agreement,
        "machine": machine,
    }
    print(f"results: {common.save_results(args.out.stem, payload)}")


if __name__ == "__main__":
    main()
