"""Render speed: `multicam render` against a plain decode -> encode of the same clips, in one run.

A synthetic 4-camera game (``multicam.synth``, 60 fps) is turned into PORTRAIT 1080x1920 clips
(each camera's frames rotated a quarter turn, scaled to 1080x1920 and given sensor-like grain, so
the encoder has real work), and its ground truth, transformed the same way, is the run whose masks
are drawn (3 and 11 objects; no SAM 2 needed). Side by side, timed in this process:

- ``transcode``: plain PyAV decode -> RGB ``uint8`` -> libx264 (veryfast, crf 23) of every clip,
  one clip after the other (the cost of the video alone);
- ``render``: :func:`multicam.render.render_run` without the mosaic (what ``multicam render
  --no-mosaic`` does): one annotated video per camera;
- ``render+mosaic``: the same with the synchronized mosaic (at most 1920 px wide) in the same pass.

Frames/s counts the cameras' frames (all cameras together) per second of wall time, so the ratios
are "how much longer than the video work itself". Targets: render >= 0.7x the transcode,
render+mosaic >= 0.5x.

    python benchmarks/render_speed.py            # 2 s of game (480 camera frames)
    python benchmarks/render_speed.py --seconds 1 --repeat 2

Results: ``benchmarks/results/render_speed.json``; figures in ``docs/benchmarks/render.md``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT, machine, save_results, table  # noqa: E402

PORTRAIT_WH = (1080, 1920)
FPS = 60.0
GRAIN_STD = 3.0


def _encode(frames, path: Path, fps: float, wh: tuple[int, int], crf: int = 18) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = wh[0], wh[1], "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _portrait(image: np.ndarray, interpolation: int) -> np.ndarray:
    import cv2

    return cv2.resize(cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE), PORTRAIT_WH, interpolation=interpolation)


def make_portrait_game(seconds: float, seed: int = 3, root: Path | None = None) -> Path:
    """A 4-camera 1080x1920 60 fps game folder with ``truth/`` (ground truth as a run); reused when present."""
    import cv2
    from ruamel.yaml import YAML

    from multicam.clips import Clip
    from multicam.masks import FrameMasks, ObjectMask
    from multicam.rundir import CameraInfo, RunWriter, open_run
    from multicam.synth import SynthConfig, generate_game

    folder = (root or OUT / "games") / f"portrait_{seconds:g}s_s{seed}"
    if (folder / ".complete").is_file():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    t0 = time.perf_counter()
    print(f"generating {folder.name} ...", flush=True)
    cfg = SynthConfig(
        seed=seed,
        num_cameras=4,
        players_per_team=5,  # 10 players and the ball: 11 objects
        duration_s=seconds,
        width=640,
        fps=(FPS,),
        offsets=(0.0, 0.05, -0.03, 0.02),
        durations=(seconds,) * 4,
        audio=False,
        noise_std=0.0,
    )
    landscape = folder / "landscape"
    generate_game(cfg, landscape)
    source = open_run(landscape / "ground_truth")
    rng = np.random.default_rng(seed)
    (folder / "clips").mkdir(parents=True)
    cameras = []
    for cam in source.cameras.values():

        def frames(cam=cam):
            with Clip(landscape / "clips" / f"{cam.name}.mp4") as clip:
                for _, image in clip.iter_frames():
                    grain = rng.normal(0.0, GRAIN_STD, (PORTRAIT_WH[1], PORTRAIT_WH[0], 1)).astype(np.float32)
                    big = _portrait(image, cv2.INTER_LINEAR).astype(np.float32) + grain
                    yield np.clip(big, 0, 255).astype(np.uint8)

        _encode(frames(), folder / "clips" / f"{cam.name}.mp4", cam.fps, PORTRAIT_WH)
        cameras.append(CameraInfo(cam.name, PORTRAIT_WH, cam.fps, cam.frame_count, cam.offset))
    game = YAML().load((landscape / "game.yaml").read_text())
    game = {"name": folder.name, "reference": game["reference"], "cameras": list(game["cameras"])}
    with (folder / "game.yaml").open("w") as fh:
        YAML().dump(game, fh)
    manifest = {"game_path": str((folder / "game.yaml").resolve()), "reference": source.manifest.reference}
    with RunWriter(folder / "truth", manifest, cameras, list(source.objects.values()), kind="ground_truth") as w:
        for cam in cameras:
            for index, fm in sorted(source.frames(cam.name).items()):
                objs = tuple(
                    ObjectMask.from_mask(o.object_id, _portrait(o.decode().astype(np.uint8), cv2.INTER_NEAREST) > 0)
                    for o in fm.objects
                )
                w.write(FrameMasks(cam.name, index, fm.time, PORTRAIT_WH, objs))
    shutil.rmtree(landscape)
    (folder / ".complete").write_text(f"{time.perf_counter() - t0:.1f}\n")
    return folder


def run_with_objects(folder: Path, objects: int) -> Path:
    """A copy of the game's truth keeping only its first ``objects`` objects (the run to render)."""
    from multicam.masks import FrameMasks
    from multicam.rundir import RunWriter, open_run

    path = folder / f"run_{objects}obj"
    if (path / "manifest.json").is_file():
        return path
    truth = open_run(folder / "truth")
    keep = sorted(truth.objects)[:objects]
    if len(keep) < objects:
        raise SystemExit(f"{folder} has only {len(keep)} objects")
    manifest = {"game_path": str(truth.manifest.game_path), "reference": truth.manifest.reference}
    with RunWriter(path, manifest, list(truth.cameras.values()), [truth.objects[k] for k in keep]) as w:
        for cam in truth.cameras:
            for _, fm in sorted(truth.frames(cam).items()):
                w.write(
                    FrameMasks(cam, fm.frame, fm.time, fm.resolution_wh, tuple(fm.get(k) for k in keep if fm.get(k)))
                )
    return path


def transcode(clips: list[Path], out: Path) -> int:
    """Plain PyAV decode -> RGB -> libx264 (veryfast, crf 23) of each clip; frames done."""
    import av

    count = 0
    out.mkdir(parents=True, exist_ok=True)
    for clip in clips:
        with av.open(str(clip)) as src, av.open(str(out / clip.name), "w") as dst:
            vin = src.streams.video[0]
            vin.thread_type = "AUTO"
            vout = dst.add_stream("libx264", rate=vin.average_rate)
            vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
            vout.options = {"crf": "23", "preset": "veryfast"}
            vout.thread_type = "AUTO"
            for frame in src.decode(vin):
                image = frame.to_ndarray(format="rgb24")
                for packet in vout.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    dst.mux(packet)
                count += 1
            for packet in vout.encode(None):
                dst.mux(packet)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="game length (each camera: seconds * 60 frames)")
    parser.add_argument("--objects", type=int, nargs="+", default=[3, 11])
    parser.add_argument("--repeat", type=int, default=1, help="rounds of all variants (the best round counts)")
    args = parser.parse_args()

    from multicam.render import render_run

    folder = make_portrait_game(args.seconds)
    clips = sorted((folder / "clips").glob("*.mp4"))
    work = OUT / "render_speed"
    rows = []
    for objects in args.objects:
        run = run_with_objects(folder, objects)
        best: dict[str, dict] = {}
        for _ in range(args.repeat):
            variants = {
                "transcode": lambda: transcode(clips, work / "transcode"),
                "render": lambda run=run: render_run(run, out_dir=work / "render", with_mosaic=False).camera_frames,
                "render+mosaic": lambda run=run: render_run(run, out_dir=work / "mosaic").camera_frames,
            }
            for name, fn in variants.items():
                t0 = time.perf_counter()
                frames = fn()
                wall = time.perf_counter() - t0
                row = {"objects": objects, "variant": name, "camera_frames": frames, "wall_s": round(wall, 2)}
                row["frames_per_s"] = round(frames / wall, 2)
                print(f"{objects:>2} objects  {name:<14} {frames} frames  {wall:6.1f} s  {frames / wall:6.1f} frames/s")
                if name not in best or row["frames_per_s"] > best[name]["frames_per_s"]:
                    best[name] = row
        base = best["transcode"]["frames_per_s"]
        for row in best.values():
            row["ratio_to_transcode"] = round(row["frames_per_s"] / base, 3)
            rows.append(row)
    columns = ["objects", "variant", "camera_frames", "wall_s", "frames_per_s", "ratio_to_transcode"]
    print(table(rows, columns))
    path = save_results(
        "render_speed",
        {
            "game": {"cameras": len(clips), "resolution_wh": PORTRAIT_WH, "fps": FPS, "seconds": args.seconds},
            "targets": {"render": 0.7, "render+mosaic": 0.5},
            "rows": rows,
            "machine": machine(),
        },
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
