"""Peak memory of ``multicam process`` against game length: it must stay flat.

Runs ``multicam process`` on synthetic 3-camera games of 1,000, 4,000 and 16,000 sequence
frames (all cameras together), each in its own subprocess, and reports the peak resident
memory (``ru_maxrss``) with what the run's manifest says the state held at most.

::

    python benchmarks/memory_vs_length.py                         # 1k, 4k, 16k frames, 64 px, 1 object
    python benchmarks/memory_vs_length.py --lengths 500,2000 --image-size 128
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from multicam.rundir import read_manifest  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", default="1000,4000,16000", help="sequence frames of each game, comma-separated")
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--objects", type=int, default=1)
    ap.add_argument("--width", type=int, default=320, help="width of the reference camera of the synthetic games")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--layout", default="interleave")
    ap.add_argument("--multicam-args", default="", help="extra `multicam process` options")
    args = ap.parse_args()

    checkpoint = common.checkpoint_for()
    note = common.weights_note(checkpoint)
    print(note)
    lengths = [int(v) for v in args.lengths.split(",") if v]
    work = common.OUT / "memory_vs_length"
    rows = []
    for n in lengths:
        game = common.make_game(n, width=args.width, objects=args.objects)
        n_seq = common.sequence_frames(game)
        runs = work / f"{n}"
        if runs.exists():
            import shutil

            shutil.rmtree(runs)
        cmd = common.multicam_cmd(
            "process",
            str(game),
            "--image-size",
            str(args.image_size),
            "--device",
            args.device,
            "--layout",
            args.layout,
            "--runs-dir",
            str(runs),
            "--name",
            "mem",
            "-q",
            *(["--untrained"] if checkpoint is None else ["--checkpoint", str(checkpoint)]),
            *args.multicam_args.split(),
        )
        print(f"{n_seq} frames ...", flush=True)
        runs.mkdir(parents=True)
        res = common.run_measured(cmd, log=runs / "log.txt")
        if res["rc"] != 0:
            raise SystemExit(f"multicam process failed on {game}:\n" + "\n".join(res["tail"]))
        manifest = read_manifest(next(runs.glob("*/mem1/manifest.json")))
        memory = {} if manifest.memory is None else manifest.memory.model_dump()
        row = {
            "sequence_frames": n_seq,
            "wall_s": res["wall_s"],
            "frames_per_s": round(n_seq / res["wall_s"], 2),
            "peak_rss_mib": res["peak_rss_mib"],
            "max_held_outputs": memory.get("max_held_outputs"),
            "max_held_state_kib": round(memory.get("max_held_bytes", 0) / 1024, 1),
            "max_held_decoded_frames": memory.get("max_held_decoded_frames"),
        }
        rows.append(row)
        print(common.table([row], list(row)), flush=True)
    rss = [r["peak_rss_mib"] for r in rows]
    spread = (max(rss) - min(rss)) / min(rss) if rss else 0.0
    flat = spread <= 0.10
    print()
    print(common.table(rows, list(rows[0])))
    print(f"\npeak RSS spread (max - min) / min: {spread:.1%} (target <= 10 %: {'met' if flat else 'NOT met'})")
    print(note)
    settings = {
        "image_size": args.image_size,
        "objects": args.objects,
        "device": args.device,
        "layout": args.layout,
        "reference_width": args.width,
        "model": common.MODEL,
        "weights": "random" if checkpoint is None else str(checkpoint),
        "multicam_args": args.multicam_args,
    }
    path = common.save_results(
        "memory_vs_length",
        {
            "settings": settings,
            "machine": common.machine(),
            "weights_note": note,
            "rows": rows,
            "rss_spread": round(spread, 4),
            "flat_within_10pct": flat,
        },
    )
    print(f"saved {path.relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()
