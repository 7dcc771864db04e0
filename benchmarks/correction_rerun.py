"""Re-running a game after a prompt correction: fresh, with the feature cache, and incremental (``--from``).

1. ``multicam process`` with ``--feature-cache DIR`` (empty): computes every frame's image
   features and stores them;
2. the analyst adds a prompt to ONE object (a click and a box on a later reference frame,
   taken from the synthetic game's ground truth);
3. the corrected game again: fresh (``--feature-cache off``), with the cache (image encoder
   skipped for every seen frame, every object tracked again), and ``--from`` the first run
   with the cache (only the corrected object tracked, the others' masks copied).

Each run is a subprocess; wall time is end to end. Targets: the cached re-run at least 2x
faster than fresh, the ``--from`` re-run at least 5x faster than fresh, with masks equal to
the fresh run's.

::

    python benchmarks/correction_rerun.py                        # 400 sequence frames, 256 px, 7 objects
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from multicam.rundir import read_manifest  # noqa: E402


def corrected_game(game: Path) -> Path:
    """A copy of ``game`` whose first object gets one more prompt, from the ground truth, mid-game."""
    from ruamel.yaml import YAML

    from multicam.rundir import open_run

    yaml = YAML()
    data = yaml.load(game.read_text())
    prompts = yaml.load((game.parent / data["prompts"]).read_text())
    obj = prompts["objects"][0]
    truth = open_run(game.parent / "ground_truth")
    reference = data["reference"]
    frames = truth.frames(reference)
    for frame in sorted(frames)[len(frames) // 2 :]:
        mask = frames[frame].get(int(obj["id"]))
        if mask is not None and mask.area >= 20:
            break
    else:
        raise SystemExit("no reference frame in the second half shows the object")
    import numpy as np

    m = mask.decode()
    ys, xs = np.nonzero(m)
    k = int(np.argmin((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2))  # the mask pixel nearest its centroid
    obj["prompts"].append(
        {
            "frame": int(frame),
            "positive": [[float(xs[k]) + 0.5, float(ys[k]) + 0.5]],
            "box_xyxy": [float(v) for v in mask.box_xyxy],
        }
    )
    fixed_prompts = game.with_name(game.stem + "_fixed_prompts.yaml")
    with fixed_prompts.open("w") as fh:
        yaml.dump(prompts, fh)
    data["prompts"] = fixed_prompts.name
    fixed = game.with_name(game.stem + "_fixed.yaml")
    with fixed.open("w") as fh:
        yaml.dump(data, fh)
    return fixed


def _same_mask_files(a: Path, b: Path) -> bool:
    """Whether two runs wrote byte-identical ``masks/*.jsonl`` files."""
    names = sorted(p.name for p in (a / "masks").glob("*.jsonl"))
    return names == sorted(p.name for p in (b / "masks").glob("*.jsonl")) and all(
        (a / "masks" / n).read_bytes() == (b / "masks" / n).read_bytes() for n in names
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=400)
    ap.add_argument("--image-size", type=int, default=256)
    ap.add_argument("--objects", type=int, default=7)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--multicam-args", default="", help="extra `multicam process` options, e.g. '--dtype bfloat16'")
    args = ap.parse_args()

    checkpoint = common.checkpoint_for()
    note = common.weights_note(checkpoint)
    print(note)
    game = common.make_game(args.frames, width=args.width, objects=args.objects)
    fixed = corrected_game(game)
    n_seq = common.sequence_frames(game)
    work = common.OUT / "correction_rerun"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    cache = work / "features"
    weights = ["--untrained"] if checkpoint is None else ["--checkpoint", str(checkpoint)]

    def process(name: str, game_file: Path, feature_cache: str, *extra: str) -> dict:
        cmd = common.multicam_cmd(
            "process",
            str(game_file),
            "--image-size",
            str(args.image_size),
            "--device",
            args.device,
            "--runs-dir",
            str(work / "runs"),
            "--name",
            name,
            "-q",
            "--feature-cache",
            feature_cache,
            *weights,
            *extra,
            *args.multicam_args.split(),
        )
        print(f"{name} ...", flush=True)
        res = common.run_measured(cmd, log=work / f"{name}.log")
        if res["rc"] != 0:
            raise SystemExit(f"{name} failed:\n" + "\n".join(res["tail"]))
        run_dir = next((work / "runs").glob(f"*/{name}1"))
        manifest = read_manifest(run_dir / "manifest.json")
        res["run_dir"] = str(run_dir)
        res["timings"] = manifest.timings.model_dump(mode="json", exclude_unset=True)
        res["features"] = None if manifest.features is None else manifest.features.model_dump(mode="json")
        res["correction"] = manifest.correction
        return res

    first = process("first", game, str(cache))
    cache_mib = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file()) / 2**20
    cached = process("corrected_cached", fixed, str(cache))
    fresh = process("corrected_nocache", fixed, "off")
    incremental = process("corrected_from", fixed, str(cache), "--from", first["run_dir"])
    agreement = common.mask_iou(Path(cached["run_dir"]), Path(fresh["run_dir"]))
    agreement_from = common.mask_iou(Path(incremental["run_dir"]), Path(fresh["run_dir"]))
    identical = _same_mask_files(Path(incremental["run_dir"]), Path(fresh["run_dir"]))

    rows = []
    for label, res in (
        ("first run (fills the cache)", first),
        ("corrected, feature cache", cached),
        ("corrected, --feature-cache off (fresh)", fresh),
        ("corrected, --from first run + cache", incremental),
    ):
        feats = res.get("features") or {}
        rows.append(
            {
                "run": label,
                "objects_tracked": len((res.get("correction") or {}).get("retracked") or []) or args.objects,
                "wall_s": res["wall_s"],
                "track_s": (res.get("timings") or {}).get("track_s"),
                "encoder_forwards": feats.get("encoder_forwards"),
                "features_loaded": feats.get("loaded"),
                "peak_rss_mib": res["peak_rss_mib"],
            }
        )
    speedup = round(fresh["wall_s"] / cached["wall_s"], 2)
    track_speedup = None
    if cached.get("timings") and fresh.get("timings"):
        track_speedup = round(fresh["timings"]["track_s"] / cached["timings"]["track_s"], 2)
    print()
    print(common.table(rows, list(rows[0])))
    print(
        f"\nre-run speed-up with the cache: {speedup}x end to end, {track_speedup}x tracking "
        f"(target >= 2x: {'met' if speedup >= 2 else 'NOT met'})"
    )
    print(f"cache on disk: {cache_mib:.1f} MiB for {n_seq} frames ({cache_mib / n_seq * 1024:.0f} KiB per frame)")
    speedup_from = round(fresh["wall_s"] / incremental["wall_s"], 2)
    track_speedup_from = None
    if incremental.get("timings") and fresh.get("timings"):
        track_speedup_from = round(fresh["timings"]["track_s"] / max(incremental["timings"]["track_s"], 1e-3), 2)
    print(
        f"--from re-run ({incremental['correction']['retracked']} tracked, {incremental['correction']['reused']} "
        f"copied): {speedup_from}x end to end, {track_speedup_from}x tracking "
        f"(target >= 5x: {'met' if speedup_from >= 5 else 'NOT met'})"
    )
    print(
        f"masks, cached vs uncached re-run: mean IoU {agreement['mean_iou']}, min {agreement['min_iou']} "
        f"over {agreement['pairs']} masks"
    )
    print(
        f"masks, --from vs fresh re-run: mean IoU {agreement_from['mean_iou']}, min {agreement_from['min_iou']}; "
        f"mask files byte-identical: {identical}"
    )
    print(note)
    settings = {
        "sequence_frames": n_seq,
        "image_size": args.image_size,
        "objects": args.objects,
        "device": args.device,
        "reference_width": args.width,
        "model": common.MODEL,
        "weights": "random" if checkpoint is None else str(checkpoint),
        "multicam_args": args.multicam_args,
    }
    path = common.save_results(
        "correction_rerun" if args.objects == 1 else f"correction_rerun_{args.objects}obj",
        {
            "settings": settings,
            "machine": common.machine(),
            "weights_note": note,
            "rows": rows,
            "speedup_wall": speedup,
            "speedup_track": track_speedup,
            "speedup_from_wall": speedup_from,
            "speedup_from_track": track_speedup_from,
            "mask_agreement_from_vs_fresh": agreement_from,
            "mask_files_identical_from_vs_fresh": identical,
            "cache_mib": round(cache_mib, 1),
            "mask_agreement_cached_vs_uncached": agreement,
            "runs": {"first": first, "cached": cached, "fresh": fresh, "from": incremental},
        },
    )
    print(f"saved {path.relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()
