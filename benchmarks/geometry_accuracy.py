"""Accuracy of the court geometry on synthetic games with known cameras and positions.

For each seed a 3-camera synthetic game (FIBA court, 4 players a side and a ball) is generated
(:mod:`multicam.synth`, reused from ``benchmarks/out``). Everything below uses the game's ground
truth masks (tracks.csv), never SAM 2, so the numbers measure the geometry alone.

1. Calibration from clicks: in every camera, 6 well-spread visible landmarks of the
   ``basketball_fiba`` template are "clicked" at their true pixels plus Gaussian noise (2 px std
   per coordinate), ``--draws`` times per seed; :func:`multicam.court.calibrate.calibrate_camera`
   fits each camera. Position error = distance between the fused floor position of every player
   at every step (:func:`multicam.court.positions.compute_positions`) and the true one; also with
   the true calibration side by side (the error of the foot points themselves), and the ball's
   3-D error.
2. Derived prompts: every player's true box on the reference camera, every 10th frame, is a box
   prompt; :func:`multicam.court.assist.derive_prompts` projects it into the other cameras with the
   clicked calibration. A derived box is on the right object when, among the true boxes of that
   camera frame, the object's own box overlaps it most.
3. Swap detection: an identity swap of two players (their tracks exchanged for 10-25 frames in one
   non-reference camera) is injected ``--swaps`` times per seed, one at a time, every other one
   starting where the two players stand within 1.5 m of each other (where real swaps happen);
   :func:`multicam.court.identity.identity_moments` must flag that camera, that pair and that time.
   Precision counts every distinct flag: those on the clean game once, and the new ones of each
   injected game (a flag on the wrong pair, camera or time is a false one).

Usage::

    python benchmarks/geometry_accuracy.py --seeds 0 1 2 3 4 --width 640 --duration 3
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, make_game, save_results, table  # noqa: E402

from multicam.court.assist import SourcePrompt, box_iou, derive_prompts  # noqa: E402
from multicam.court.calibrate import calibrate_camera  # noqa: E402
from multicam.court.files import load_cameras  # noqa: E402
from multicam.court.identity import identity_moments  # noqa: E402
from multicam.court.positions import compute_positions, floor_estimates, read_tracks, steps_from_run  # noqa: E402
from multicam.court.templates import load_template  # noqa: E402
from multicam.rundir import open_run  # noqa: E402

FPS_SUM = 80.0  # benchmarks.common games: 25 + 30 + 25 fps


def clicked_cameras(truth, template, rng, n=6, noise_px=2.0):
    """Every camera calibrated from ``n`` spread, visible landmarks clicked with noise."""
    out = {}
    for name, cam in truth.items():
        names = list(template.landmarks)
        uv = cam.project(template.xy(names))
        w, h = cam.resolution_wh
        vis = [k for k, (x, y) in enumerate(uv) if 3 <= x <= w - 3 and 3 <= y <= h - 3]
        pick = [vis[rng.integers(len(vis))]]
        while len(pick) < min(n, len(vis)):  # farthest point next: clicks spread over the view
            d = np.min(np.linalg.norm(uv[vis][:, None] - uv[pick][None], axis=2), axis=1)
            pick.append(vis[int(np.argmax(d))])
        clicks = {names[k]: tuple(uv[k] + rng.normal(0, noise_px, 2)) for k in pick}
        out[name] = calibrate_camera(name, template, clicks, cam.resolution_wh).camera
    return out


def true_positions(gt: Path, camera: str) -> dict[tuple[int, int], tuple[float, float, float]]:
    out = {}
    with (gt / "positions.csv").open() as fh:
        for r in csv.DictReader(fh):
            if r["camera"] == camera:
                out[(int(r["frame"]), int(r["object_id"]))] = (float(r["x_m"]), float(r["y_m"]), float(r["z_m"]))
    return out


def position_errors(cams, run, steps, names, truth):
    pos = compute_positions(cams, steps, names)
    ref = run.reference
    players, ball = [], []
    for r in pos.rows:
        if r.x_m is None:
            continue
        t = truth.get((steps[r.step].frames.get(ref, -1), r.object_id))
        if t is None:
            continue
        if names[r.object_id] == "ball":
            ball.append(float(np.linalg.norm(np.array([r.x_m, r.y_m, r.z_m]) - t)))
        else:
            players.append(float(np.hypot(r.x_m - t[0], r.y_m - t[1])))
    return players, ball


def prompt_accuracy(cams, run, tracks, names, every=10):
    ref = run.reference
    timing = {c.name: c for c in run.cameras.values()}
    sources = []
    for f in sorted(tracks.get(ref, {}))[::every]:
        for oid, o in tracks[ref][f].items():
            if names[oid] != "ball" and o.box_xyxy[3] < timing[ref].resolution_wh[1]:
                sources.append(SourcePrompt(oid, names[oid], timing[ref].offset + f / timing[ref].fps, f, o.box_xyxy))

    def frame_at(cam, t):
        c = timing[cam]
        k = int(round((t - c.offset) * c.fps))
        return k if 0 <= k < c.frame_count else None

    derived, skipped = derive_prompts(sources, cams, ref, frame_at)
    right = 0
    for d in derived:
        boxes = {oid: o.box_xyxy for oid, o in tracks[d.camera].get(d.frame, {}).items()}
        right += bool(boxes) and max(boxes, key=lambda o: box_iou(d.box_xyxy, boxes[o])) == d.object_id
    return right, len(derived), len(skipped)


def swap_detection(cams, run, tracks, names, rng, n_swaps):
    ref = run.reference
    players = [i for i, n in names.items() if n != "ball"]
    others = [c for c in run.cameras if c != ref]
    exclude = frozenset(i for i, n in names.items() if n == "ball")

    def moments(tr):
        steps = steps_from_run(run, tr)
        est = [
            {
                c: {i: xy for i, xy in e.items() if i not in exclude}
                for c, e in floor_estimates(cams, s.observations).items()
            }
            for s in steps
        ]
        return steps, identity_moments(est, ref, exclude=exclude)

    steps, clean = moments(tracks)
    flags, tp_flags, found, near, injected = len(clean), 0, 0, [], 0
    close = []  # (camera, a, b, frame) where two players stand within 1.5 m: where real swaps happen
    for cam in others:
        for f, by in tracks[cam].items():
            est = floor_estimates(cams, {cam: {i: o for i, o in by.items() if i in players}}).get(cam, {})
            ids = sorted(est)
            close += [
                (cam, a, b, f)
                for k, a in enumerate(ids)
                for b in ids[k + 1 :]
                if np.hypot(est[a][0] - est[b][0], est[a][1] - est[b][1]) < 1.5
            ]
    for k in range(4 * n_swaps):
        if injected == n_swaps:
            break
        length = int(rng.integers(10, 26))
        if k % 2 and close:  # every other swap starts where two players meet
            cam, a, b, start = close[int(rng.integers(len(close)))]
        else:
            cam = others[rng.integers(len(others))]
            a, b = (int(x) for x in rng.choice(players, 2, replace=False))
            frames = sorted(tracks[cam])
            start = frames[int(rng.integers(0, max(1, len(frames) - length)))]
        span = range(start, start + length)
        tr = {c: dict(v) for c, v in tracks.items()}
        tr[cam] = {f: dict(v) for f, v in tracks[cam].items()}
        swapped = 0
        for f in span:
            d = tr[cam].get(f, {})
            if a in d and b in d:
                d[a], d[b] = d[b], d[a]
                swapped += 1
        if swapped < 5:  # one of them is not in view: nothing was exchanged; draw again
            continue
        injected += 1
        steps, ms = moments(tr)
        hit = [
            m
            for m in ms
            if m.camera == cam
            and {m.object_id, m.other_id} == {a, b}
            and steps[m.start_step].frames.get(cam, -1) <= span[-1]
            and steps[m.end_step].frames.get(cam, -1) >= span[0]
        ]
        new = [m for m in ms if not any(_same(m, c) for c in clean)]  # a clean-game flag is counted once, above
        flags += len(new)
        tp_flags += len([m for m in hit if m in new])
        found += bool(hit)
        fa, fb = tracks[cam].get(start, {}).get(a), tracks[cam].get(start, {}).get(b)
        gap = None
        if fa is not None and fb is not None:
            est = floor_estimates(cams, {cam: {a: fa, b: fb}}).get(cam, {})
            if a in est and b in est:
                gap = float(np.hypot(est[a][0] - est[b][0], est[a][1] - est[b][1]))
        near.append((gap, bool(hit)))
        if not hit and os.environ.get("GEOMETRY_DEBUG"):
            print(
                "missed", cam, a, b, span, gap, [(m.camera, m.kind, m.object_id, m.other_id, m.start_step) for m in ms]
            )
    return {
        "injected": n_swaps,
        "found": found,
        "flags": flags,
        "true_flags": tp_flags,
        "clean_flags": len(clean),
        "gaps": near,
    }


def _same(a, b) -> bool:
    """Two identity moments of the same camera, kind and objects that overlap in time."""
    return (a.camera, a.kind, a.object_id, a.other_id) == (b.camera, b.kind, b.object_id, b.other_id) and (
        a.start_step <= b.end_step and b.start_step <= a.end_step
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--duration", type=float, default=3.0, help="seconds of game")
    ap.add_argument("--draws", type=int, default=3, help="click draws per seed")
    ap.add_argument("--swaps", type=int, default=8, help="injected swaps per seed")
    ap.add_argument("--noise-px", type=float, default=2.0)
    ap.add_argument("--name", default="geometry_accuracy")
    args = ap.parse_args()
    template = load_template("basketball_fiba")
    rows, per_seed = [], []
    pos_click, pos_true, ball_click, ball_true = [], [], [], []
    prompts = {"right": 0, "derived": 0, "skipped": 0}
    prompts_true = {"right": 0, "derived": 0, "skipped": 0}
    swaps = {"injected": 0, "found": 0, "flags": 0, "true_flags": 0, "clean_flags": 0, "gaps": []}
    t0 = time.perf_counter()
    for seed in args.seeds:
        game = make_game(int(args.duration * FPS_SUM), width=args.width, players_per_team=4, seed=seed, objects=9)
        gt = game.parent / "ground_truth"
        run = open_run(gt)
        truth_cams = load_cameras(game.parent / "calibration.json")
        names = {i: o.name for i, o in run.objects.items()}
        tracks = read_tracks(gt / "tracks.csv")
        steps = steps_from_run(run, tracks)
        truth = true_positions(gt, run.reference)
        p_true, b_true = position_errors(truth_cams, run, steps, names, truth)
        pos_true += p_true
        ball_true += b_true
        r, n, s = prompt_accuracy(truth_cams, run, tracks, names)
        prompts_true.update(
            right=prompts_true["right"] + r, derived=prompts_true["derived"] + n, skipped=prompts_true["skipped"] + s
        )
        rng = np.random.default_rng(seed)
        seed_err = []
        for _ in range(args.draws):
            cams = clicked_cameras(truth_cams, template, rng, noise_px=args.noise_px)
            p, b = position_errors(cams, run, steps, names, truth)
            pos_click += p
            ball_click += b
            seed_err += p
            r, n, s = prompt_accuracy(cams, run, tracks, names)
            prompts.update(right=prompts["right"] + r, derived=prompts["derived"] + n, skipped=prompts["skipped"] + s)
        sw = swap_detection(cams, run, tracks, names, rng, args.swaps)
        for k in ("injected", "found", "flags", "true_flags", "clean_flags"):
            swaps[k] += sw[k]
        swaps["gaps"] += sw["gaps"]
        per_seed.append(
            {
                "seed": seed,
                "median_m": float(np.median(seed_err)),
                "p95_m": float(np.percentile(seed_err, 95)),
                "true_calibration_median_m": float(np.median(p_true)),
                "swaps_found": f"{sw['found']}/{sw['injected']}",
                "flags": sw["flags"],
            }
        )
        print(f"seed {seed}: median {per_seed[-1]['median_m']:.3f} m, swaps {per_seed[-1]['swaps_found']}", flush=True)

    def stats(v):
        return {"median_m": float(np.median(v)), "p95_m": float(np.percentile(v, 95)), "n": len(v)} if v else {}

    near = [hit for gap, hit in swaps["gaps"] if gap is not None and gap < 1.5]
    far = [hit for gap, hit in swaps["gaps"] if gap is None or gap >= 1.5]
    result = {
        "positions_clicked": stats(pos_click),
        "positions_true_calibration": stats(pos_true),
        "ball_3d_clicked": stats(ball_click),
        "ball_3d_true_calibration": stats(ball_true),
        "prompts_clicked": {**prompts, "right_share": prompts["right"] / max(prompts["derived"], 1)},
        "prompts_true_calibration": {
            **prompts_true,
            "right_share": prompts_true["right"] / max(prompts_true["derived"], 1),
        },
        "swaps": {
            "injected": swaps["injected"],
            "found": swaps["found"],
            "recall": swaps["found"] / max(swaps["injected"], 1),
            "flags": swaps["flags"],
            "flags_on_clean_games": swaps["clean_flags"],
            "precision": swaps["true_flags"] / max(swaps["flags"], 1),
            "recall_pairs_closer_than_1.5m": (sum(near) / len(near)) if near else None,
            "pairs_closer_than_1.5m": len(near),
            "recall_pairs_farther": (sum(far) / len(far)) if far else None,
        },
    }
    rows = [
        {
            "measure": "player position, clicked calibration",
            "median": result["positions_clicked"]["median_m"],
            "p95": result["positions_clicked"]["p95_m"],
            "target": "median <= 0.3 m, p95 <= 0.8 m",
        },
        {
            "measure": "player position, true calibration",
            "median": result["positions_true_calibration"]["median_m"],
            "p95": result["positions_true_calibration"]["p95_m"],
            "target": "(foot points alone)",
        },
        {
            "measure": "ball 3-D, clicked calibration",
            "median": result["ball_3d_clicked"]["median_m"],
            "p95": result["ball_3d_clicked"]["p95_m"],
            "target": "",
        },
        {
            "measure": "ball 3-D, true calibration",
            "median": result["ball_3d_true_calibration"]["median_m"],
            "p95": result["ball_3d_true_calibration"]["p95_m"],
            "target": "",
        },
    ]
    print()
    print(table(per_seed, ["seed", "median_m", "p95_m", "true_calibration_median_m", "swaps_found", "flags"]))
    print()
    print(table(rows, ["measure", "median", "p95", "target"]))
    print(
        f"\nclicked / true calibration median position error: "
        f"{result['positions_clicked']['median_m'] / result['positions_true_calibration']['median_m']:.2f}x"
    )
    pc, pt = result["prompts_clicked"], result["prompts_true_calibration"]
    print(
        f"derived prompts on the right object: {pc['right']}/{pc['derived']} = {pc['right_share']:.3f} (clicked), "
        f"{pt['right']}/{pt['derived']} = {pt['right_share']:.3f} (true); skipped as ambiguous/outside {pc['skipped']} / {pt['skipped']}  (target >= 0.95)"
    )
    s = result["swaps"]
    print(
        f"swap detection: recall {s['found']}/{s['injected']} = {s['recall']:.3f}, precision {s['precision']:.3f} "
        f"({s['flags']} flags); recall for pairs < 1.5 m apart {s['recall_pairs_closer_than_1.5m']} (n={s['pairs_closer_than_1.5m']})  (targets >= 0.9)"
    )
    payload = {
        "benchmark": "geometry_accuracy",
        "args": vars(args),
        "machine": machine(),
        "wall_s": round(time.perf_counter() - t0, 1),
        "per_seed": per_seed,
        "result": result,
        "note": "ground-truth masks of synthetic games (no SAM 2); clicks = true landmark pixels + Gaussian noise",
    }
    print(f"\nwrote {save_results(args.name, payload)}")


if __name__ == "__main__":
    main()
