"""GPU suite: the stock SAM 2 video predictor against multicam's engine on the same frames, in one process.

For each model (tiny, large), dtype (float32, bfloat16), compile (off, on) and object count
(1, 11), on a 3-camera synthetic game at 1024 px:

* ``stock``: sam2's own ``SAM2VideoPredictor`` (``init_state`` on a JPEG folder of every
  camera's frames, one camera after the other, then ``propagate_in_video`` forward and
  backward), one object at a time as sam2 does;
* ``multicam``: :class:`multicam.engine.Engine` (``track_frames``) on the same clips, with its
  defaults for the device (interleave layout, per-camera memory, objects batched on CUDA,
  image encoder batched across cameras).

Both use the same weights (the cached checkpoint, else random weights with one seed: then
the masks mean nothing and the report says so). Reported per variant: tracking frames/s
(frames of all cameras per second, prompts and ``init_state`` not included), the time of
``init_state`` (stock) / prompts (multicam), peak GPU memory (``torch.cuda.max_memory_allocated``)
and mask agreement (mean IoU of the low-res masks) with the same pipeline's float32 run
without compile. Targets, checked on CUDA: tiny with 1 object at least 91 frames/s (SAM 2.1's
published A100 figure), 11 objects at least 3x the stock predictor.

::

    bash benchmarks/gpu_suite.sh                          # on a GPU machine (under 8 minutes)
    bash benchmarks/gpu_suite.sh --device cpu --quick     # end to end on the CPU in under a minute
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

MODELS = {"tiny": "sam2.1_hiera_tiny", "large": "sam2.1_hiera_large"}


def synthetic_game(frames: int, width: int, objects: int, root: Path | None) -> Path:
    return common.make_game(frames, width=width, objects=objects, players_per_team=5, root=root, quiet=True)


def resolved(game_file: Path, layout_kind: str):
    """(opened game, layout, resolved prompts) of a game file."""
    from multicam.layout import build_layout, resolve_prompts
    from multicam.session import open_game

    opened = open_game(game_file)
    layout = build_layout(opened.timeline, layout_kind)
    prompts = resolve_prompts(
        opened.prompts, layout, opened.reference, {n: i.resolution_wh for n, i in opened.clips.items()}
    )
    return opened, layout, prompts


def jpeg_folder(opened, layout, folder: Path) -> Path:
    """Every sequence frame (concat layout: one camera after the other) as JPEG, for sam2's ``init_state``."""
    import cv2

    if (folder / ".complete").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(len(layout)):
        where = layout[i]
        rgb = opened.clip(where.camera).frame(where.frame)
        cv2.imwrite(str(folder / f"{i:06d}.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    (folder / ".complete").write_text("ok\n")
    return folder


def stock_predictor(engine, compile: bool):
    """sam2's own video predictor with the engine's configuration and weights."""
    import torch
    from hydra.utils import instantiate

    from multicam.engine.build import model_config

    cfg = model_config(engine.info.config, image_size=engine.info.image_size, compile=compile)
    cfg.model._target_ = (
        "sam2.sam2_video_predictor.SAM2VideoPredictorVOS" if compile else "sam2.sam2_video_predictor.SAM2VideoPredictor"
    )
    model = instantiate(cfg.model, _recursive_=True)
    model.load_state_dict(engine.predictor.state_dict())
    model.fill_hole_area = engine.info.fill_hole_area
    return model.to(torch.device(engine.info.device)).eval()


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_stock(predictor, folder: Path, prompts, dtype, device) -> tuple[dict, dict]:
    """Track with the stock predictor; returns (figures, {(index, object): low-res mask})."""
    import torch

    from multicam.engine.state import add_prompt

    autocast = torch.autocast(device.type, dtype=dtype) if dtype != torch.float32 else _null()
    masks = {}
    with torch.inference_mode(), autocast:
        t0 = time.perf_counter()
        state = predictor.init_state(video_path=str(folder))
        s4 = predictor.image_size // 4
        state["video_height"] = state["video_width"] = s4  # low-res masks out, as multicam's engine
        for p in prompts:
            add_prompt(predictor, state, p)  # what multicam's TrackingState does, on the stock predictor
        sync(device)
        init_s = time.perf_counter() - t0
        start = min(p.index for p in prompts)
        frames = 0
        t0 = time.perf_counter()
        for reverse in [False] + ([True] if start > 0 else []):
            for idx, obj_ids, out in predictor.propagate_in_video(state, start_frame_idx=start, reverse=reverse):
                frames += 1
                found = (out > 0).cpu().numpy()
                for k, oid in enumerate(obj_ids):
                    masks[(int(idx), int(oid))] = found[k, 0]
        sync(device)
        track_s = time.perf_counter() - t0
    # the backward pass starts on the prompted frame again: frames/s counts each sequence frame once
    frames = len({idx for idx, _ in masks}) or frames
    return {"frames": frames, "track_s": track_s, "setup_s": init_s}, masks


def run_multicam(engine, opened, layout, prompts, device) -> tuple[dict, dict]:
    masks = {}
    clips = {n: opened.clip(n, cache_size=engine.options.decode_cache) for n in layout.camera_names}
    frames = 0
    t0 = time.perf_counter()
    for tracked in engine.track_frames(layout, clips, prompts):
        frames += 1
        found = (tracked.logits > 0).numpy()
        for k, oid in enumerate(tracked.object_ids):
            masks[(tracked.index, int(oid))] = found[k, 0]
    sync(device)
    wall = time.perf_counter() - t0
    return {"frames": frames, "track_s": wall - engine.stats.prompt_s, "setup_s": engine.stats.prompt_s}, masks


def agreement(masks: dict, reference: dict | None) -> float | None:
    """Mean IoU over (frame, object) of two runs' masks (both empty: not counted)."""
    if reference is None:
        return None
    ious = []
    for key, ref in reference.items():
        m = masks.get(key)
        if m is None:
            ious.append(0.0)
            continue
        union = (m | ref).sum()
        if union:
            ious.append(float((m & ref).sum() / union))
    return round(sum(ious) / len(ious), 4) if ious else 1.0


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="64 px, a few frames, tiny only, random weights, no compile")
    ap.add_argument("--image-size", type=int, default=1024)
    ap.add_argument("--frames", type=int, default=150, help="sequence frames of the game (3 cameras)")
    ap.add_argument("--width", type=int, default=1280, help="reference camera width of the synthetic game")
    ap.add_argument("--models", default="tiny,large")
    ap.add_argument("--objects", default="1,11")
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--compile", default="off,on")
    ap.add_argument("--budget-s", type=float, default=420.0, help="no new variant starts after this many seconds")
    ap.add_argument("--out", type=Path, default=None, help="results JSON (default benchmarks/results/gpu_suite.json)")
    ap.add_argument("--games", type=Path, default=None, help="where synthetic games are written")
    args = ap.parse_args()
    if args.quick:
        args.image_size, args.frames, args.width = 64, 9, 160
        args.models, args.objects, args.compile = "tiny", "1,3", "off"

    import torch

    from multicam.engine import Engine, EngineOptions, resolve_device
    from multicam.models import cached_checkpoint, get_model

    t_start = time.perf_counter()
    device = resolve_device(args.device)
    counts = [int(n) for n in args.objects.split(",")]
    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16}
    rows: list[dict] = []
    notes = []
    game_max = synthetic_game(args.frames, args.width, max(counts), args.games)
    opened_s, layout_s, prompts_all_s = resolved(game_max, "concat")
    folder = jpeg_folder(opened_s, layout_s, game_max.parent / f"jpeg_concat_{game_max.stem}")
    opened_m, layout_m, prompts_all_m = resolved(game_max, "interleave")
    ids = sorted({p.object_id for p in prompts_all_m})
    for short in args.models.split(","):
        name = MODELS[short]
        checkpoint = None if args.quick else cached_checkpoint(name)
        notes.append(
            f"{short}: " + ("random weights (no cached checkpoint)" if checkpoint is None else str(checkpoint))
        )
        for compile in [c == "on" for c in args.compile.split(",")]:
            if time.perf_counter() - t_start > args.budget_s:
                rows.append({"model": short, "compile": compile, "skipped": "time budget"})
                continue
            base = Engine.build(
                get_model(name).config,
                checkpoint,
                untrained=checkpoint is None,
                options=EngineOptions(device=str(device), image_size=args.image_size, dtype="float32", compile=compile),
            )
            stock = stock_predictor(base, compile)
            for dtype_name in args.dtypes.split(","):
                engine = Engine(base.predictor, base.info, dataclasses.replace(base.options), dtypes[dtype_name])
                for n in counts:
                    keep = set(ids[:n])
                    for pipeline in ("stock", "multicam"):
                        row = {"model": short, "pipeline": pipeline, "objects": n, "dtype": dtype_name}
                        row["compile"] = compile
                        if time.perf_counter() - t_start > args.budget_s:
                            rows.append({**row, "skipped": "time budget"})
                            continue
                        if device.type == "cuda":
                            torch.cuda.empty_cache()
                            torch.cuda.reset_peak_memory_stats(device)
                        if pipeline == "stock":
                            prompts = [p for p in prompts_all_s if p.object_id in keep]
                            figures, masks = run_stock(stock, folder, prompts, dtypes[dtype_name], device)
                        else:
                            prompts = [p for p in prompts_all_m if p.object_id in keep]
                            figures, masks = run_multicam(engine, opened_m, layout_m, prompts, device)
                        ref_key = (short, pipeline, n)
                        if dtype_name == "float32" and not compile:
                            reference_masks[ref_key] = masks
                        row.update(
                            frames=figures["frames"],
                            frames_per_s=round(figures["frames"] / figures["track_s"], 2),
                            setup_s=round(figures["setup_s"], 2),
                            peak_gpu_mib=round(torch.cuda.max_memory_allocated(device) / 2**20)
                            if device.type == "cuda"
                            else None,
                            iou_vs_fp32=agreement(masks, reference_masks.get(ref_key)),
                        )
                        rows.append(row)
                        print(json.dumps(row), flush=True)
            del stock, base
    wall = time.perf_counter() - t_start
    columns = ["model", "pipeline", "objects", "dtype", "compile", "frames_per_s", "setup_s", "peak_gpu_mib"]
    columns += ["iou_vs_fp32", "skipped"]
    print()
    print(common.table(rows, columns))
    checks = targets(rows) if device.type == "cuda" else []
    for line in checks:
        print(line)
    for line in notes:
        print("weights:", line)
    print(f"suite wall time: {wall:.0f} s on {device}")
    out = args.out or common.RESULTS / ("gpu_suite_quick.json" if args.quick else "gpu_suite.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "settings": {**{k: str(v) for k, v in vars(args).items()}, "sequence_frames": len(layout_m)},
        "machine": common.machine(),
        "weights": notes,
        "rows": rows,
        "targets": checks,
        "wall_s": round(wall, 1),
    }
    out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"saved {out}")


reference_masks: dict = {}


def targets(rows: list[dict]) -> list[str]:
    """The targets, met or not (CUDA runs only)."""
    done = [r for r in rows if "skipped" not in r]
    lines = []
    for r in done:
        if (r["model"], r["pipeline"], r["objects"]) == ("tiny", "multicam", 1):
            ok = r["frames_per_s"] >= 91
            lines.append(f"target tiny 1 object >= 91 frames/s ({r['dtype']}, compile {r['compile']}): "
                         f"{r['frames_per_s']} {'met' if ok else 'NOT met'}")  # fmt: skip
    for r in done:
        if r["pipeline"] == "multicam" and r["objects"] >= 11:
            stock = next(
                (
                    s
                    for s in done
                    if s["pipeline"] == "stock" and all(s[k] == r[k] for k in ("model", "objects", "dtype", "compile"))
                ),
                None,
            )
            if stock:
                ratio = r["frames_per_s"] / stock["frames_per_s"]
                lines.append(f"target {r['model']} 11 objects >= 3x stock ({r['dtype']}, compile {r['compile']}): "
                             f"{ratio:.2f}x {'met' if ratio >= 3 else 'NOT met'}")  # fmt: skip
    return lines


if __name__ == "__main__":
    main()
