"""The known multi-camera SAM 2 recipe against ``multicam process``: wall time and peak memory.

The recipe (what one writes with SAM 2's and supervision's examples):

1. extract every clip's frames to JPEG with ``sv.get_video_frames_generator`` and
   ``sv.ImageSink``, the clips one after the other in ONE folder (reference first), so
   that one SAM 2 state sees every camera;
2. ``predictor.init_state(folder)`` (SAM 2 loads every frame into one tensor);
3. prompts on the reference camera, ``propagate_in_video`` (backward too when a prompt is
   not on the first frame);
4. each frame's masks resized to its camera's resolution and written (same run-directory
   format as multicam, through :class:`multicam.rundir.RunWriter`).

multicam runs ``multicam process GAME --layout concat`` (the same sequence, so the masks can
be compared too). Each side runs in its own subprocess; wall time is end to end (Python
start, imports, model build, everything), peak RSS is that process's ``ru_maxrss``.

::

    python benchmarks/recipe_vs_multicam.py --image-size 512     # 2,000 sequence frames, 512 px, 1 object
    python benchmarks/recipe_vs_multicam.py                      # the same at 256 px
    python benchmarks/recipe_vs_multicam.py --frames 400 --image-size 128
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

import common  # noqa: E402


# -- the recipe, run inside the child process ----------------------------------------------------
def run_recipe(
    game_file: Path, out: Path, image_size: int, device: str, checkpoint: str | None, stop_after: int | None = None
) -> dict:
    import cv2
    import numpy as np
    import supervision as sv
    import torch
    from sam2.build_sam import build_sam2_video_predictor

    from multicam.game import load_game
    from multicam.masks import FrameMasks, ObjectMask
    from multicam.models import get_model
    from multicam.prompts import load_prompts
    from multicam.rundir import CameraInfo, ObjectInfo, RunWriter

    t_start = time.perf_counter()
    game = load_game(game_file)
    cfg = game.config
    names = [cfg.reference] + [n for n in cfg.camera_names if n != cfg.reference]

    # 1. frames to JPEG, all clips in one folder
    frames_dir = out / "jpeg"
    counts, sizes, fps = {}, {}, {}
    t0 = time.perf_counter()
    with sv.ImageSink(target_dir_path=str(frames_dir), overwrite=True, image_name_pattern="{:06d}.jpg") as sink:
        for name in names:
            video = sv.VideoInfo.from_video_path(str(game.video_path(name)))
            sizes[name], fps[name] = (video.width, video.height), video.fps
            n = 0
            for frame in sv.get_video_frames_generator(str(game.video_path(name))):
                sink.save_image(frame)
                n += 1
            counts[name] = n
    extract_s = time.perf_counter() - t0
    seq = [(name, i) for name in names for i in range(counts[name])]
    start_of = {name: sum(counts[m] for m in names[:k]) for k, name in enumerate(names)}

    # 2. model and state
    t0 = time.perf_counter()
    spec = get_model(cfg.model.name)
    s16 = image_size // 16
    torch.manual_seed(0)
    predictor = build_sam2_video_predictor(
        spec.config,
        checkpoint,
        device=device,
        hydra_overrides_extra=[
            f"++model.image_size={image_size}",
            f"++model.memory_attention.layer.self_attention.feat_sizes=[{s16},{s16}]",
            f"++model.memory_attention.layer.cross_attention.feat_sizes=[{s16},{s16}]",
        ],
    )
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with torch.inference_mode():
        state = predictor.init_state(video_path=str(frames_dir))
    init_s = time.perf_counter() - t0

    # 3. prompts (reference camera) and propagation; 4. masks written
    prompts = load_prompts(game.prompts_path)
    cameras = [
        CameraInfo(
            name=n, resolution_wh=sizes[n], fps=fps[n], frame_count=counts[n], offset=float(cfg.camera(n).offset)
        )
        for n in names
    ]
    objects = [ObjectInfo(object_id=o.id, name=o.name, team=o.team) for o in prompts.merged()]
    manifest = {"kind_of_run": "recipe", "image_size": image_size, "device": device}
    first = None
    t0 = time.perf_counter()
    written = 0
    with RunWriter(out / "run", manifest, cameras, objects) as writer, torch.inference_mode():
        for obj in prompts.merged():
            for p in obj.prompts:
                idx = start_of[p.camera or cfg.reference] + int(p.frame)
                points = [*p.positive, *p.negative]
                labels = [1] * len(p.positive) + [0] * len(p.negative)
                predictor.add_new_points_or_box(
                    state,
                    frame_idx=idx,
                    obj_id=obj.id,
                    points=np.array(points, np.float32) if points else None,
                    labels=np.array(labels, np.int32) if points else None,
                    box=np.array(p.box_xyxy, np.float32) if p.box_xyxy is not None else None,
                )
                first = idx if first is None else min(first, idx)
        passes = [False] + ([True] if first else [])
        for reverse in passes:
            for idx, obj_ids, logits in predictor.propagate_in_video(state, reverse=reverse):
                if reverse and idx == first:
                    continue  # already written by the forward pass
                name, local = seq[idx]
                w, h = sizes[name]
                masks = (logits[:, 0] > 0).cpu().numpy()
                objs = []
                for k, oid in enumerate(obj_ids):
                    m = masks[k]
                    if m.shape != (h, w):
                        m = cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
                    if m.any():
                        objs.append(ObjectMask.from_mask(int(oid), m))
                game_time = float(cfg.camera(name).offset) + local / fps[name]
                writer.write(
                    FrameMasks(
                        camera=name,
                        frame=local,
                        time=game_time,
                        resolution_wh=(w, h),
                        objects=tuple(sorted(objs, key=lambda o: o.object_id)),
                    )
                )
                written += 1
                if stop_after is not None and written >= stop_after:
                    break
            if stop_after is not None and written >= stop_after:
                break
    track_s = time.perf_counter() - t0
    return {
        "frames": written,
        "sequence_frames": len(seq),
        "extract_s": round(extract_s, 2),
        "build_s": round(build_s, 2),
        "init_state_s": round(init_s, 2),
        "track_and_write_s": round(track_s, 2),
        "total_in_process_s": round(time.perf_counter() - t_start, 2),
    }


def run_multicam_stopping(
    game_file: Path, out: Path, image_size: int, device: str, checkpoint: str | None, stop_after: int
) -> dict:
    """``multicam process`` through its Python API, stopped after ``stop_after`` frames (memory-only runs)."""
    from multicam.pipeline import ProcessOptions, process_game

    class Enough(Exception):
        pass

    written = []

    def on_frame(frame_masks):
        written.append(frame_masks.frame)
        if len(written) >= stop_after:
            raise Enough

    options = ProcessOptions(
        untrained=checkpoint is None,
        checkpoint=None if checkpoint is None else Path(checkpoint),
        image_size=image_size,
        device=device,
        layout="concat",
        runs_dir=out / "runs",
        name="multicam",
        progress=False,
    )
    with contextlib.suppress(Enough):
        process_game(game_file, options, on_frame=on_frame)
    return {"frames": len(written)}


def run_floor(image_size: int, device: str) -> dict:
    """What any SAM 2 process holds before tracking: torch imported and the model built."""
    from multicam.engine import Engine, EngineOptions
    from multicam.models import get_model

    Engine.build(
        get_model(common.MODEL).config, untrained=True, options=EngineOptions(device=device, image_size=image_size)
    )
    return {}


# -- the orchestration ---------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=2000, help="sequence frames (all cameras together)")
    ap.add_argument("--image-size", type=int, default=256)
    ap.add_argument("--objects", type=int, default=1)
    ap.add_argument("--width", type=int, default=960, help="width of the reference camera of the synthetic game")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--multicam-args", default="", help="extra `multicam process` options, e.g. '--dtype bfloat16'")
    ap.add_argument("--skip-recipe", action="store_true", help="reuse the recipe numbers of the last results file")
    ap.add_argument("--recipe-only", action="store_true", help="measure the recipe only (saved for --skip-recipe)")
    ap.add_argument(
        "--stop-after",
        type=int,
        default=None,
        help="memory-only comparison: stop both sides after this many tracked frames",
    )
    ap.add_argument(
        "--floor-only",
        action="store_true",
        help="only measure the floor (torch + model, no tracking) into the last results file",
    )
    ap.add_argument("--child", choices=["recipe", "multicam", "floor"], help=argparse.SUPPRESS)
    ap.add_argument("--game", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--checkpoint", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child == "recipe":
        result = run_recipe(args.game, args.out, args.image_size, args.device, args.checkpoint, args.stop_after)
        print("RESULT " + json.dumps(result), flush=True)
        return
    if args.child == "floor":
        print("RESULT " + json.dumps(run_floor(args.image_size, args.device)), flush=True)
        return
    if args.child == "multicam":
        result = run_multicam_stopping(
            args.game, args.out, args.image_size, args.device, args.checkpoint, args.stop_after
        )
        print("RESULT " + json.dumps(result), flush=True)
        return

    checkpoint = common.checkpoint_for()
    note = common.weights_note(checkpoint)
    print(note)
    game = common.make_game(args.frames, width=args.width, objects=args.objects)
    n_seq = common.sequence_frames(game)
    work = common.OUT / "recipe_vs_multicam" / f"{game.parent.name}_{args.objects}obj_{args.image_size}px"
    import shutil

    for part in ["runs"] if args.skip_recipe else ["runs", "recipe"]:
        shutil.rmtree(work / part, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    settings = {
        "game": str(game.relative_to(common.ROOT)),
        "sequence_frames": n_seq,
        "objects": args.objects,
        "stop_after_frames": args.stop_after,
        "image_size": args.image_size,
        "device": args.device,
        "model": common.MODEL,
        "weights": "random" if checkpoint is None else str(checkpoint),
        "reference_width": args.width,
        "multicam_args": args.multicam_args,
        "layout": "concat (both)",
    }
    # the same OpenMP wait policy on both sides (multicam's default, see docs/guide/long-games.md)
    omp = {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    settings["env"] = omp
    print(f"settings: {settings}", flush=True)

    floor_cmd = common.python_cmd(
        __file__, "--child", "floor", "--image-size", str(args.image_size), "--device", args.device
    )
    results_name = (
        f"recipe_vs_multicam_{args.image_size}px_{n_seq}f"
        if not args.stop_after
        else f"recipe_vs_multicam_memory_{args.image_size}px_{n_seq}f"
    )
    previous = common.RESULTS / f"{results_name}.json"
    if args.floor_only:
        data = json.loads(previous.read_text())
        data["floor"] = common.run_measured(floor_cmd, env=omp)
        common.save_results(results_name, data)
        print(f"floor (torch + model built, nothing tracked): {data['floor']['peak_rss_mib']} MiB")
        return
    rows = []
    if args.skip_recipe and previous.is_file():
        recipe = json.loads(previous.read_text())["recipe"]
    else:
        cmd = common.python_cmd(
            __file__,
            "--child",
            "recipe",
            "--game",
            str(game),
            "--out",
            str(work / "recipe"),
            "--image-size",
            str(args.image_size),
            "--device",
            args.device,
        )
        if args.stop_after:
            cmd += ["--stop-after", str(args.stop_after)]
        if checkpoint is not None:
            cmd += ["--checkpoint", str(checkpoint)]
        print("running the recipe ...", flush=True)
        recipe = common.run_measured(cmd, env=omp, log=work / "recipe.log")
        if recipe["rc"] != 0:
            raise SystemExit("recipe failed:\n" + "\n".join(recipe["tail"]))
        recipe["detail"] = next(json.loads(line[7:]) for line in recipe["tail"] if line.startswith("RESULT "))
    rows.append(
        {
            "variant": "recipe (JPEG folder + stock init_state)",
            "wall_s": recipe["wall_s"],
            "peak_rss_mib": recipe["peak_rss_mib"],
            "cpu_s": recipe["cpu_s"],
            "frames_per_s": round(n_seq / recipe["wall_s"], 2),
        }
    )
    if args.recipe_only:
        print(common.table(rows, ["variant", "wall_s", "peak_rss_mib", "cpu_s", "frames_per_s"]))
        common.save_results(
            results_name,
            {"settings": settings, "machine": common.machine(), "weights_note": note, "recipe": recipe, "rows": rows},
        )
        return

    cmd = common.multicam_cmd(
        "process",
        str(game),
        "--untrained" if checkpoint is None else "--no-download",
        "--image-size",
        str(args.image_size),
        "--device",
        args.device,
        "--layout",
        "concat",
        "--runs-dir",
        str(work / "runs"),
        "--name",
        "multicam",
        "-q",
        *args.multicam_args.split(),
    )
    if checkpoint is not None:
        cmd += ["--checkpoint", str(checkpoint)]
    if args.stop_after:
        cmd = common.python_cmd(
            __file__,
            "--child",
            "multicam",
            "--game",
            str(game),
            "--out",
            str(work),
            "--image-size",
            str(args.image_size),
            "--device",
            args.device,
            "--stop-after",
            str(args.stop_after),
        )
        if checkpoint is not None:
            cmd += ["--checkpoint", str(checkpoint)]
    print("running multicam process ...", flush=True)
    mc = common.run_measured(cmd, env=omp, log=work / "multicam.log")
    if mc["rc"] != 0:
        raise SystemExit("multicam failed:\n" + "\n".join(mc["tail"]))
    run_dir = next((work / "runs").glob("*/multicam1"))
    mc["manifest_timings"] = json.loads((run_dir / "manifest.json").read_text()).get("timings")
    rows.append(
        {
            "variant": f"multicam process {args.multicam_args}".strip(),
            "wall_s": mc["wall_s"],
            "peak_rss_mib": mc["peak_rss_mib"],
            "cpu_s": mc["cpu_s"],
            "frames_per_s": round(n_seq / mc["wall_s"], 2),
        }
    )

    floor = common.run_measured(floor_cmd, env=omp)
    rows.append(
        {
            "variant": "floor: torch imported, model built, nothing tracked",
            "wall_s": floor["wall_s"],
            "peak_rss_mib": floor["peak_rss_mib"],
            "cpu_s": floor["cpu_s"],
        }
    )
    ratios = {
        "time_multicam_over_recipe": round(mc["wall_s"] / recipe["wall_s"], 3),
        "rss_recipe_over_multicam": round(recipe["peak_rss_mib"] / mc["peak_rss_mib"], 2),
    }
    agreement = None
    if (work / "recipe" / "run").is_dir():
        agreement = common.mask_iou(work / "recipe" / "run", run_dir)
    targets = {
        "time_no_worse": ratios["time_multicam_over_recipe"] <= 1.0,
        "rss_at_least_5x_smaller": ratios["rss_recipe_over_multicam"] >= 5.0,
    }
    print()
    print(common.table(rows, ["variant", "wall_s", "peak_rss_mib", "cpu_s", "frames_per_s"]))
    if args.stop_after:
        print(
            f"\nmemory-only comparison: both sides stopped after {args.stop_after} tracked frames "
            f"(wall times are not comparable: the recipe extracted and loaded all {n_seq} frames)"
        )
        targets.pop("time_no_worse")
    else:
        print(
            f"\nmulticam / recipe wall time: {ratios['time_multicam_over_recipe']:.2f} "
            f"(target <= 1: {'met' if targets['time_no_worse'] else 'NOT met'})"
        )
    print(
        f"recipe / multicam peak RSS: {ratios['rss_recipe_over_multicam']:.1f}x "
        f"(target >= 5x: {'met' if targets['rss_at_least_5x_smaller'] else 'NOT met'})"
    )
    if agreement is not None:
        print(
            f"mask agreement recipe vs multicam (IoU): mean {agreement['mean_iou']}, min {agreement['min_iou']} "
            f"over {agreement['pairs']} masks (inputs differ: the recipe reads JPEG re-encodes)"
        )
    print(note)
    path = common.save_results(
        results_name,
        {
            "settings": settings,
            "machine": common.machine(),
            "weights_note": note,
            "recipe": recipe,
            "multicam": mc,
            "floor": floor,
            "rows": rows,
            "ratios": ratios,
            "targets": targets,
            "mask_agreement": agreement,
        },
    )
    print(f"saved {path.relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()
