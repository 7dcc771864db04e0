"""Accuracy of ``multicam sync`` on synthetic games with known offsets.

For each seed, a game is generated with :mod:`multicam.synth` (4 cameras at 25/30/24/30 fps,
offsets of several seconds both ways, and one camera that starts after the reference ends).
Every camera is synchronized against the reference camera

* by its sound (the clips as generated),
* by its pictures alone (the audio track removed, as ``--method auto`` does for mute clips),

and the error against the true offset, the confidence and whether the answer was accepted
(confidence >= the default threshold) are recorded. A second part measures the visual method on
the moving-blobs scene used by the tests (large objects, bursts of play), where there is enough
motion to match.

Usage::

    python benchmarks/sync_accuracy.py --seeds 0 1 2 --duration 8 --width 320 --json sync.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from multicam.clips import probe_clip
from multicam.game import load_game
from multicam.sync.audio import audio_offset, decode_audio
from multicam.sync.errors import SyncError
from multicam.sync.estimate import DEFAULT_MIN_CONFIDENCE
from multicam.sync.visual import read_motion_energy, visual_offset

REPO = Path(__file__).resolve().parents[1]


def remux_without_audio(src: Path, dst: Path) -> Path:
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream_from_template(vin)
        for packet in inp.demux(vin):
            if packet.dts is not None:
                packet.stream = vout
                out.mux(packet)
    return dst


def measure(method: str, fn, truth: float, fps: float, overlap: bool) -> dict:
    try:
        est = fn()
    except SyncError as exc:
        return {"method": method, "overlap": overlap, "refused": str(exc)[:80], "confidence": 0.0, "accepted": False}
    return {
        "method": method,
        "overlap": overlap,
        "offset": est.offset,
        "truth": truth,
        "error_ms": 1000 * (est.offset - truth),
        "error_frames": (est.offset - truth) * fps,
        "confidence": est.confidence,
        "accepted": est.confidence >= DEFAULT_MIN_CONFIDENCE,
    }


def synth_rows(seeds: list[int], duration: float, width: int, work: Path) -> list[dict]:
    from multicam.synth import SynthConfig, generate_game

    rows = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        early, late = -rng.uniform(1.5, 3.0), rng.uniform(1.5, 3.0)
        offsets = (0.0, float(early), float(late), duration + 1.0)
        durations = (duration, duration - 1.0, duration - 1.0, 3.0)
        cfg = SynthConfig(
            seed=seed,
            num_cameras=4,
            duration_s=duration,
            width=width,
            fps=(25, 30, 24, 30),
            offsets=offsets,
            durations=durations,
        )
        t0 = time.perf_counter()
        game = load_game(generate_game(cfg, work / f"game{seed}"))
        print(f"seed {seed}: generated in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        names = game.config.camera_names
        ref_audio = decode_audio(game.video_path(names[0]))
        ref_motion = read_motion_energy(remux_without_audio(game.video_path(names[0]), work / f"ref{seed}.mp4"))
        for name, truth in zip(names[1:], offsets[1:]):
            fps = probe_clip(game.video_path(name)).fps
            overlap = truth < duration
            cam_audio = decode_audio(game.video_path(name))
            cam_motion = read_motion_energy(remux_without_audio(game.video_path(name), work / f"{name}{seed}.mp4"))
            for method, fn in (
                ("audio", lambda ra=ref_audio, ca=cam_audio: audio_offset(ra, ca)),
                ("visual", lambda rm=ref_motion, cm=cam_motion: visual_offset(rm, cm)),
            ):
                rows.append(
                    {"scene": "synth", "seed": seed, "camera": name, "fps": fps}
                    | measure(method, fn, truth, fps, overlap)
                )
    return rows


def blob_rows(seeds: list[int], work: Path) -> list[dict]:
    sys.path.insert(0, str(REPO))
    from tests.sync.conftest import World, write_sync_clip

    rows = []
    for seed in seeds:
        world = World(seed=seed)
        ref = read_motion_energy(
            write_sync_clip(work / f"bref{seed}.mp4", world, offset=0.0, duration=12.0, audio=False)
        )
        for offset, duration, fps, view in ((-2.0, 10.0, 30, 1), (2.5, 10.0, 24, 2), (14.0, 6.0, 30, 3)):
            cam = read_motion_energy(
                write_sync_clip(
                    work / f"b{seed}_{offset}.mp4",
                    world,
                    offset=offset,
                    duration=duration,
                    fps=fps,
                    view=view,
                    audio=False,
                )
            )
            rows.append(
                {"scene": "blobs", "seed": seed, "camera": f"view{view}", "fps": fps}
                | measure("visual", lambda r=ref, c=cam: visual_offset(r, c), offset, fps, offset < 12.0)
            )
    return rows


def summarize(rows: list[dict]) -> str:
    lines = [
        "| scene | method | pairs | accepted | median abs error | max abs error (accepted) | "
        "confidence (median) | no-overlap pairs | no-overlap accepted | no-overlap max confidence |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scene in ("synth", "blobs"):
        for method in ("audio", "visual"):
            sel = [r for r in rows if r["scene"] == scene and r["method"] == method]
            if not sel:
                continue
            ok = [r for r in sel if r["overlap"]]
            null = [r for r in sel if not r["overlap"]]
            acc = [r for r in ok if r["accepted"]]
            unit, key = ("ms", "error_ms") if method == "audio" else ("frames", "error_frames")
            errs = [abs(r[key]) for r in ok if key in r]
            acc_errs = [abs(r[key]) for r in acc]
            lines.append(
                f"| {scene} | {method} | {len(ok)} | {len(acc)} | "
                f"{np.median(errs) if errs else float('nan'):.3f} {unit} | "
                f"{max(acc_errs) if acc_errs else float('nan'):.3f} {unit} | "
                f"{np.median([r['confidence'] for r in ok]):.2f} | {len(null)} | "
                f"{sum(r['accepted'] for r in null)} | {max((r['confidence'] for r in null), default=0):.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--duration", type=float, default=8.0, help="reference clip length (s)")
    parser.add_argument("--width", type=int, default=320, help="widest camera's width (px)")
    parser.add_argument("--json", type=Path, default=None, help="also write every row here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = synth_rows(args.seeds, args.duration, args.width, work) + blob_rows(args.seeds, work)
    print(summarize(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
