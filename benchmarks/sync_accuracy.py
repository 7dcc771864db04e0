"""Accuracy of synchronization without sound on synthetic games, side by side per method and condition.

For each seed and condition a 3-camera game is generated with :mod:`multicam.synth` without audio
(4 s reference clip, about 100 frames at 25 fps; the other cameras start up to 2 s before or after
it and last 3.5 to 4 s, at 30 and 25 fps). Conditions: ``clean`` (the default pixel noise),
``noise`` (pixel noise std 8), ``blur`` (motion blur) and ``portrait`` (the non-reference cameras
cropped to a 9:16 portrait strip, their homographies moved with the crop).

Each non-reference camera is synchronized against the reference by

* ``visual``: the pictures' motion alone (:func:`multicam.sync.visual.visual_match`; its rows
  also hold the evidence its confidence rests on, which ``visual_confidence.py`` fits),
* ``geometry-pixels``: floor occupancy of the pictures' contact pixels
  (:func:`multicam.sync.foreground.read_contact_points` + :func:`multicam.sync.occupancy.occupancy_offset`),
* ``auto``: what ``multicam sync`` / ``offset: auto`` does without sound (the floor occupancy for
  calibrated cameras, then the motion, which must agree with the floor's best guess),
* ``geometry-masks``: floor positions from the ground-truth masks' foot points (what a first run's
  masks would give at best).

Null pairs (a camera of *another seed's* game against the reference: same calibration, unrelated
play) measure how often a wrong answer is accepted. Targets: median |error| <= 0.5
reference frame and confidence >= 0.5 in >= 90 % of the overlapping pairs.

Usage::

    python benchmarks/sync_accuracy.py --seeds 0 1 2 3 4 --json benchmarks/results/sync_accuracy.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from multicam.clips import probe_clip
from multicam.game import load_game
from multicam.masks import read_masks_jsonl
from multicam.sync.errors import SyncError
from multicam.sync.estimate import DEFAULT_MIN_CONFIDENCE, ClipSignals, SyncOptions, estimate_offset
from multicam.sync.foreground import read_contact_points
from multicam.sync.geometric import foot_tracks_from_masks, geometric_offset
from multicam.sync.occupancy import occupancy_offset
from multicam.sync.visual import read_motion_energy, visual_match

CONDITIONS = ("clean", "noise", "blur", "portrait")
METHODS = ("visual", "geometry-pixels", "auto", "geometry-masks")
REF_FPS = 25.0


def crop_portrait(src: Path, dst: Path) -> tuple[int, int]:
    """Re-encode the middle 9:16 strip of a clip; returns the crop's ``(x0, y0)`` in the source pixels."""
    import av

    with av.open(str(src)) as inp:
        vin = inp.streams.video[0]
        w, h = vin.codec_context.width, vin.codec_context.height
        cw = max(16, 2 * int(round(h * 9 / 16 / 2)))
        x0 = (w - cw) // 2
        with av.open(str(dst), "w") as out:
            vout = out.add_stream("libx264", rate=vin.average_rate)
            vout.width, vout.height, vout.pix_fmt = cw, h, "yuv420p"
            vout.options = {"crf": "20"}
            for frame in inp.decode(vin):
                rgb = frame.to_ndarray(format="rgb24")[:, x0 : x0 + cw]
                new = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                new.pts, new.time_base = frame.pts, frame.time_base
                for packet in vout.encode(new):
                    out.mux(packet)
            for packet in vout.encode():
                out.mux(packet)
    return x0, 0


def make_game(seed: int, condition: str, work: Path):
    from multicam.synth import SynthConfig, generate_game

    rng = np.random.default_rng(1000 + seed)
    offsets = (0.0, float(rng.uniform(-2, 2)), float(rng.uniform(-2, 2)))
    durations = (4.0, float(rng.uniform(3.5, 4.0)), float(rng.uniform(3.5, 4.0)))
    cfg = SynthConfig(
        seed=seed,
        num_cameras=3,
        duration_s=4.0,
        width=320,
        fps=(REF_FPS, 30.0, 25.0),
        offsets=offsets,
        durations=durations,
        audio=False,
        noise_std=8.0 if condition == "noise" else 2.0,
        motion_blur=condition == "blur",
    )
    path = generate_game(cfg, work / f"{condition}{seed}")
    game = load_game(path)
    cal = json.loads(game.calibration_path.read_text())["cameras"]
    clips, homs, shifts = {}, {}, {}
    for name in game.config.camera_names:
        clip, h, shift = game.video_path(name), np.asarray(cal[name]["H_image_to_ground"]), (0, 0)
        if condition == "portrait" and name != game.config.reference:
            shift = crop_portrait(clip, work / f"{condition}{seed}_{name}_portrait.mp4")
            clip = work / f"{condition}{seed}_{name}_portrait.mp4"
            h = h @ np.array([[1, 0, shift[0]], [0, 1, shift[1]], [0, 0, 1.0]])
        clips[name], homs[name], shifts[name] = clip, h, shift
    truths = dict(zip(game.config.camera_names, offsets))
    return game, clips, homs, shifts, truths


def masks_tracks(game, name: str, fps: float, shift: tuple[int, int], width: int | None):
    """Ground-truth foot points in the clip's pixels; with a crop, only the objects inside it."""
    tracks = foot_tracks_from_masks(read_masks_jsonl(game.root / "ground_truth" / "masks" / f"{name}.jsonl"), fps)
    tracks = tracks.scaled(1.0, 1.0, -shift[0], -shift[1])
    if width is None:
        return tracks
    inside = (tracks.xy[:, 0] >= 0) & (tracks.xy[:, 0] < width)
    return dataclasses.replace(tracks, frame=tracks.frame[inside], xy=tracks.xy[inside], ids=tracks.ids[inside])


def row(method, est_or_exc, truth, fps, overlap) -> dict:
    if isinstance(est_or_exc, SyncError):
        return {"method": method, "overlap": overlap, "refused": str(est_or_exc)[:100], "confidence": 0.0}
    est = est_or_exc
    return {
        "method": method,
        "overlap": overlap,
        "offset": est.offset,
        "truth": truth,
        "error_frames": (est.offset - truth) * fps if truth is not None else None,
        "confidence": est.confidence,
        "accepted": est.confidence >= DEFAULT_MIN_CONFIDENCE,
        "peak": est.peak,  # geometry-pixels: the maps' correlation; visual: the motion curves'
        "psr": est.psr,  # geometry-pixels: the peak's z; visual: the sidelobe ratio
    }


def visual_row(ref, cam, truth, fps, overlap) -> dict:
    """The ``visual`` row, with the :class:`~multicam.sync.visual.MotionEvidence` behind its confidence."""
    match = attempt(lambda: visual_match(ref, cam))
    if isinstance(match, SyncError):
        return row("visual", match, truth, fps, overlap)
    return row("visual", match.estimate, truth, fps, overlap) | dataclasses.asdict(match.evidence)


def attempt(fn):
    try:
        return fn()
    except SyncError as exc:
        return exc


def measure_pair(ref: dict, cam: dict, truth: float | None) -> list[dict]:
    """Every method on one pair; ``ref``/``cam`` hold each clip's signals, ``truth`` None for a null pair."""
    overlap = truth is not None
    out = [
        visual_row(ref["motion"], cam["motion"], truth, REF_FPS, overlap),
        row(
            "geometry-pixels",
            attempt(lambda: occupancy_offset(ref["contacts"], cam["contacts"], ref["h"], cam["h"]).estimate),
            truth,
            REF_FPS,
            overlap,
        ),
        row(
            "geometry-masks",
            attempt(lambda: geometric_offset(ref["masks"], cam["masks"], ref["h"], cam["h"]).estimate),
            truth,
            REF_FPS,
            overlap,
        ),
    ]

    def auto():
        res = estimate_offset("cam", cam["signals"], "ref", ref["signals"], SyncOptions())
        return dataclasses.replace(res.used, offset=res.offset, confidence=res.confidence)

    out.append(row("auto", attempt(auto), truth, REF_FPS, overlap))
    return out


def clip_signals(game, name, clip, h, shift):
    info = probe_clip(clip)
    signals = ClipSignals(info, SyncOptions(), h)
    # decode once, share between the methods
    signals._motion = read_motion_energy(clip)
    signals._contacts = read_contact_points(clip)
    return {
        "motion": signals._motion,
        "contacts": signals._contacts,
        "masks": masks_tracks(game, name, info.fps, shift, info.width if shift != (0, 0) else None),
        "h": h,
        "signals": signals,
    }


def run(seeds: list[int], conditions: list[str], work: Path) -> list[dict]:
    rows: list[dict] = []
    for condition in conditions:
        games = {}
        for seed in seeds:
            t0 = time.perf_counter()
            game, clips, homs, shifts, truths = make_game(seed, condition, work)
            sig = {n: clip_signals(game, n, clips[n], homs[n], shifts[n]) for n in game.config.camera_names}
            games[seed] = (game, sig, truths)
            ref_name = game.config.reference
            for name in game.config.camera_names[1:]:
                for r in measure_pair(sig[ref_name], sig[name], truths[name]):
                    rows.append({"condition": condition, "seed": seed, "camera": name} | r)
            print(f"{condition} seed {seed}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        for seed in seeds:  # null pairs: the next seed's first camera against this reference
            other = seeds[(seeds.index(seed) + 1) % len(seeds)]
            if other == seed:
                continue
            game, sig, _ = games[seed]
            cam = games[other][1][games[other][0].config.camera_names[1]]
            for r in measure_pair(sig[game.config.reference], cam, None):
                rows.append({"condition": condition, "seed": seed, "camera": f"seed{other}"} | r)
    return rows


BLOB_CAMERAS = ((-2.0, 10.0, 30, 1), (2.5, 10.0, 24, 2), (1.3, 4.0, 30, 1), (14.0, 6.0, 30, 3), (-9.0, 6.0, 24, 2))


def blob_rows(seeds: list[int], work: Path) -> list[dict]:
    """The visual method on the tests' moving-blobs scene (large objects, play in bursts): a 12 s
    reference, cameras from other views at 30 and 24 fps (one of 4 s, 120 frames), two that do not overlap."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.sync.conftest import World, write_sync_clip

    rows = []
    for seed in seeds:
        world = World(seed=seed)
        ref = read_motion_energy(
            write_sync_clip(work / f"bref{seed}.mp4", world, offset=0.0, duration=12.0, audio=False)
        )
        for offset, duration, fps, view in BLOB_CAMERAS:
            clip = write_sync_clip(
                work / f"b{seed}_{offset}.mp4", world, offset=offset, duration=duration, fps=fps, view=view, audio=False
            )
            overlap = offset < 12.0 and offset + duration > 0
            rows.append(
                {"condition": "blobs", "seed": seed, "camera": f"view{view}"}
                | visual_row(ref, read_motion_energy(clip), offset if overlap else None, 25.0, overlap)
            )
    return rows


def summarize(rows: list[dict]) -> str:
    lines = [
        "| condition | method | pairs | median abs error (frames) | p90 abs error | "
        "confidence >= 0.5 | right (<= 1 frame) and accepted | null pairs accepted | null max confidence |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for condition in [*CONDITIONS, "all", "blobs"]:
        for method in METHODS:
            sel = [
                r
                for r in rows
                if r["method"] == method
                and (r["condition"] == condition or (condition == "all" and r["condition"] in CONDITIONS))
            ]
            pos = [r for r in sel if r["overlap"]]
            neg = [r for r in sel if not r["overlap"]]
            if not pos:
                continue
            err = np.array([abs(r["error_frames"]) if r.get("error_frames") is not None else 999.0 for r in pos])
            acc = np.array([r["confidence"] >= DEFAULT_MIN_CONFIDENCE for r in pos])
            good = acc & (err <= 1.0)
            lines.append(
                f"| {condition} | {method} | {len(pos)} | {np.median(err):.2f} | {np.percentile(err, 90):.2f} | "
                f"{100 * acc.mean():.0f} % | {100 * good.mean():.0f} % | "
                f"{sum(r['confidence'] >= DEFAULT_MIN_CONFIDENCE for r in neg)}/{len(neg)} | "
                f"{max((r['confidence'] for r in neg), default=0):.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=CONDITIONS)
    parser.add_argument("--json", type=Path, default=None, help="write every pair's result here")
    args = parser.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        rows = run(args.seeds, args.conditions, Path(tmp)) + blob_rows(args.seeds, Path(tmp))
    table = summarize(rows)
    print(table)
    print(f"\n{len(rows)} measurements in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"seeds": args.seeds, "conditions": args.conditions, "table": table, "rows": rows}, indent=1)
        )


if __name__ == "__main__":
    main()
