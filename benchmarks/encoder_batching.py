"""The image encoder batched across cameras against one frame at a time, on the CPU.

Two measurements per image size, side by side in one run:

1. the encoder alone: ``forward_image`` on 3 frames one by one against
   ``forward_image_batch`` on the 3 frames at once (what the engine does for the 3 cameras'
   frames of one game time), best of ``--repeats``;
2. ``multicam process`` end to end on a short 3-camera synthetic game (1 object, feature
   cache off) with ``--encoder-batch 1`` (one by one), ``0`` (auto: the 3 cameras) and ``6``;
   tracking frames/s from each run's manifest, masks compared with the unbatched run's.

::

    python benchmarks/encoder_batching.py                          # 256 and 512 px, 48 sequence frames
    python benchmarks/encoder_batching.py --sizes 64 --frames 24   # a quick look
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


def encoder_only(size: int, repeats: int, checkpoint: Path | None) -> dict:
    import torch

    from multicam.engine import Engine, EngineOptions
    from multicam.models import get_model

    engine = Engine.build(
        get_model(common.MODEL).config,
        checkpoint,
        untrained=checkpoint is None,
        options=EngineOptions(device="cpu", image_size=size, dtype="float32"),
    )
    images = torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(0))
    p = engine.predictor
    one, batched = [], []
    with torch.inference_mode():
        p.forward_image_batch(images)  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            for k in range(3):
                p.forward_image(images[k : k + 1])
            one.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            p.forward_image_batch(images)
            batched.append(time.perf_counter() - t0)
    return {"one_by_one_s": round(min(one), 4), "batched_s": round(min(batched), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--frames", type=int, default=48, help="sequence frames of the game (all cameras)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batches", default="1,0,6", help="--encoder-batch values (1 first: the reference)")
    args = ap.parse_args()

    checkpoint = common.checkpoint_for()
    note = common.weights_note(checkpoint)
    print(note)
    game = common.make_game(args.frames, width=320, objects=1)
    work = common.OUT / "encoder_batching"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    weights = ["--untrained"] if checkpoint is None else ["--checkpoint", str(checkpoint)]
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        enc = encoder_only(size, args.repeats, checkpoint)
        rows.append(
            {
                "size": size,
                "variant": "encoder alone, 3 frames",
                "one_by_one_s": enc["one_by_one_s"],
                "batched_s": enc["batched_s"],
                "speedup": round(enc["one_by_one_s"] / enc["batched_s"], 2),
            }
        )
        print(rows[-1], flush=True)
        reference = None
        for batch in [int(b) for b in args.batches.split(",")]:
            name = f"s{size}_b{batch}_"
            cmd = common.multicam_cmd(
                "process", str(game), "--image-size", str(size), "--device", "cpu", "--runs-dir",
                str(work / "runs"), "--name", name, "-q", "--feature-cache", "off", "--encoder-batch", str(batch),
                *weights,
            )  # fmt: skip
            res = common.run_measured(cmd, log=work / f"{name}.log")
            if res["rc"] != 0:
                raise SystemExit(f"{name} failed:\n" + "\n".join(res["tail"]))
            run_dir = next((work / "runs").glob(f"*/{name}1"))
            m = json.loads((run_dir / "manifest.json").read_text())
            row = {
                "size": size,
                "variant": f"multicam process --encoder-batch {batch}" + (" (auto: 3 cameras)" if batch == 0 else ""),
                "frames_per_s": m["timings"]["frames_per_s"],
                "track_s": m["timings"]["track_s"],
                "encoder_passes": m["features"]["encoder_batches"],
            }
            if reference is None:
                reference = (run_dir, row["track_s"])
            else:
                row["speedup"] = round(reference[1] / row["track_s"], 2)
                agreement = common.mask_iou(reference[0], run_dir)
                row["masks_equal"] = agreement["min_iou"] == 1.0
                row["min_iou"] = agreement["min_iou"]
            rows.append(row)
            print(row, flush=True)
    columns = [
        "size",
        "variant",
        "one_by_one_s",
        "batched_s",
        "frames_per_s",
        "track_s",
        "encoder_passes",
        "speedup",
        "min_iou",
    ]
    print()
    print(common.table(rows, columns))
    print(note)
    path = common.save_results(
        "encoder_batching",
        {
            "settings": {"sizes": args.sizes, "sequence_frames": common.sequence_frames(game), "objects": 1},
            "machine": common.machine(),
            "weights_note": note,
            "rows": rows,
        },
    )
    print(f"saved {path.relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()
