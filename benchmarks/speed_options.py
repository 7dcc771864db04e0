"""Tracking speed of each ``multicam process`` speed option against objects and image size.

For every (image size, objects, option) it runs ``multicam process`` (Python API) in its own
subprocess on a synthetic 3-camera game, skips ``--warmup`` frames (model build, first
frames, compilation) and times the next ``--measure`` frames as they are written. It also
compares the masks with those of the default (``float32``, objects one by one) on the same
frames: mean and minimum IoU.

Options (``--options``, comma-separated):

* ``fp32``: the default (``--dtype float32``);
* ``bf16``: ``--dtype bfloat16`` (autocast);
* ``batch``: ``--batch-objects`` (every object of a frame in one batch);
* ``bf16+batch``;
* ``compile``: ``--compile`` (sam2's ``vos_optimized``; slow first frames, so give a bigger ``--warmup``);
* ``fp32-spin``: the default with ``OMP_WAIT_POLICY=ACTIVE`` (OpenMP threads spin while they wait,
  instead of multicam's default PASSIVE).

::

    python benchmarks/speed_options.py                                    # reduced table (CPU)
    python benchmarks/speed_options.py --sizes 512,1024 --objects 1,5,11 --device cuda \\
        --options fp32,bf16,batch,bf16+batch,compile --models sam2.1_hiera_tiny,sam2.1_hiera_large
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

import common  # noqa: E402

OPTIONS = {
    "fp32": ([], {}),
    "bf16": (["--dtype", "bfloat16"], {}),
    "batch": (["--batch-objects"], {}),
    "bf16+batch": (["--dtype", "bfloat16", "--batch-objects"], {}),
    "compile": (["--compile"], {}),
    "bf16+batch+compile": (["--dtype", "bfloat16", "--batch-objects", "--compile"], {}),
    "fp32-spin": ([], {"OMP_WAIT_POLICY": "ACTIVE"}),
}
PUBLISHED = {"sam2.1_hiera_tiny": 91.2, "sam2.1_hiera_large": 39.5}  # frames/s, A100, SAM 2.1 paper/README


def child(args) -> None:
    """Run one configuration; print per-frame write times as JSON."""
    from multicam.pipeline import ProcessOptions, process_game

    cli = args.child_options.split()
    dtype = cli[cli.index("--dtype") + 1] if "--dtype" in cli else "float32"
    stamps: list[float] = []
    stop_after = args.warmup + args.measure

    class Enough(Exception):
        pass

    def on_frame(_):
        stamps.append(time.perf_counter())
        if len(stamps) >= stop_after:
            raise Enough

    options = ProcessOptions(
        model=args.model,
        untrained=args.checkpoint is None,
        checkpoint=args.checkpoint,
        device=args.device,
        image_size=args.image_size,
        dtype=dtype,
        compile="--compile" in cli,
        batch_objects="--batch-objects" in cli,
        feature_cache="off",
        runs_dir=args.out,
        name="speed",
        progress=False,
        layout="interleave",
    )
    with contextlib.suppress(Enough):
        process_game(args.game, options, on_frame=on_frame)
    w = args.warmup
    per_frame = (stamps[-1] - stamps[w - 1]) / (len(stamps) - w) if len(stamps) > w else None
    print("RESULT " + json.dumps({"frames": len(stamps), "s_per_frame": per_frame}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="128,256")
    ap.add_argument("--objects", default="1,5,11")
    ap.add_argument("--options", default="fp32,bf16,batch,bf16+batch")
    ap.add_argument("--models", default=common.MODEL)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--warmup", type=int, default=6)
    ap.add_argument("--measure", type=int, default=12)
    ap.add_argument("--frames", type=int, default=240, help="sequence frames of the synthetic game")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--tag", default="", help="suffix of the results file (speed_options_<tag>.json)")
    ap.add_argument("--child-options", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--game", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--image-size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--model", default=common.MODEL, help=argparse.SUPPRESS)
    ap.add_argument("--checkpoint", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_options is not None:
        child(args)
        return

    unknown = [o for o in args.options.split(",") if o not in OPTIONS]
    if unknown:
        raise SystemExit(f"unknown option(s) {unknown}; known: {list(OPTIONS)}")
    work = common.OUT / "speed_options"
    rows = []
    notes = set()
    for model in args.models.split(","):
        checkpoint = common.checkpoint_for(model)
        note = common.weights_note(checkpoint)
        notes.add(note)
        print(f"{model}: {note}", flush=True)
        for n_obj in [int(v) for v in args.objects.split(",")]:
            game = common.make_game(args.frames, width=args.width, objects=n_obj)
            for size in [int(v) for v in args.sizes.split(",")]:
                baseline_run = None
                for name in args.options.split(","):
                    cli, env = OPTIONS[name]
                    out = work / f"{model}_{size}px_{n_obj}obj_{name}"
                    if out.exists():
                        import shutil

                        shutil.rmtree(out)
                    out.mkdir(parents=True)
                    cmd = common.python_cmd(
                        __file__,
                        f"--child-options={' '.join(cli)}",
                        "--game",
                        str(game),
                        "--out",
                        str(out),
                        "--image-size",
                        str(size),
                        "--model",
                        model,
                        "--device",
                        args.device,
                        "--warmup",
                        str(args.warmup),
                        "--measure",
                        str(args.measure),
                    )
                    if checkpoint is not None:
                        cmd += ["--checkpoint", str(checkpoint)]
                    res = common.run_measured(cmd, env=env, log=out / "log.txt")
                    result = next((json.loads(line[7:]) for line in res["tail"] if line.startswith("RESULT ")), None)
                    if res["rc"] != 0 or result is None or result["s_per_frame"] is None:
                        print(f"  {name}: FAILED\n" + "\n".join(res["tail"][-6:]), flush=True)
                        rows.append(
                            {
                                "model": model,
                                "image_size": size,
                                "objects": n_obj,
                                "option": name,
                                "frames_per_s": None,
                                "note": "failed",
                            }
                        )
                        continue
                    run_dir = next(out.glob("*/speed1"))
                    if name == "fp32":
                        baseline_run = run_dir
                    agreement = common.mask_iou(baseline_run, run_dir) if baseline_run is not None else None
                    row = {
                        "model": model,
                        "image_size": size,
                        "objects": n_obj,
                        "option": name,
                        "s_per_frame": round(result["s_per_frame"], 4),
                        "frames_per_s": round(1 / result["s_per_frame"], 2),
                        "mean_iou_vs_fp32": None if agreement is None else agreement["mean_iou"],
                        "min_iou_vs_fp32": None if agreement is None else agreement["min_iou"],
                        "peak_rss_mib": res["peak_rss_mib"],
                    }
                    if args.device.startswith("cuda") and model in PUBLISHED:
                        row["published_a100_fps"] = PUBLISHED[model]
                    rows.append(row)
                    print("  " + json.dumps(row), flush=True)
    cols = [
        "model",
        "image_size",
        "objects",
        "option",
        "frames_per_s",
        "s_per_frame",
        "mean_iou_vs_fp32",
        "min_iou_vs_fp32",
    ]
    if args.device.startswith("cuda"):
        cols.append("published_a100_fps")
    print()
    print(common.table(rows, cols))
    for note in sorted(notes):
        print(note)
    settings = {
        "sizes": args.sizes,
        "objects": args.objects,
        "options": args.options,
        "models": args.models,
        "device": args.device,
        "warmup_frames": args.warmup,
        "measured_frames": args.measure,
        "game_frames": args.frames,
        "reference_width": args.width,
        "layout": "interleave",
        "feature_cache": "off",
    }
    suffix = ("" if args.device == "cpu" else "_" + args.device.replace(":", "")) + (f"_{args.tag}" if args.tag else "")
    path = common.save_results(
        f"speed_options{suffix}",
        {"settings": settings, "machine": common.machine(), "weights_note": sorted(notes), "rows": rows},
    )
    print(f"saved {path.relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()
