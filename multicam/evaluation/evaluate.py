"""Accuracy of a run against ground truth: DAVIS J/F per object and camera, and identity across cameras.

:func:`evaluate_run` reads two run directories (a processed run and ground truth in the same
format) and scores them with the pure measures of :mod:`multicam.evaluation.davis` and
:mod:`multicam.evaluation.identity`. Frames are paired by camera and 0-based frame index; a
ground-truth frame that the run lacks counts as an empty prediction. An object is scored in a
camera when the ground truth or the run shows it there at least once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from multicam.errors import RunDirError
from multicam.evaluation.davis import BOUND_TH, SequenceScores, boundary_measure, region_similarity, sequence_scores
from multicam.evaluation.identity import (
    IOU_THRESHOLD,
    FrameIds,
    IdentityScores,
    best_mapping,
    identity_scores,
    rle_iou_matrix,
)
from multicam.masks import FrameMasks
from multicam.rundir import Run


@dataclass(frozen=True)
class ObjectCameraResult:
    """J and F of one object in one camera.

    Attributes:
        camera: camera name.
        object_id: the object's id.
        name: the object's name (from the ground truth, else the run).
        scores: per-frame J/F and their statistics.
    """

    camera: str
    object_id: int
    name: str
    scores: SequenceScores

    def to_json(self, per_frame: bool = True) -> dict:
        return {"camera": self.camera, "object_id": self.object_id, "name": self.name, **self.scores.to_json(per_frame)}


@dataclass(frozen=True)
class Evaluation:
    """Everything ``multicam eval`` measures.

    Attributes:
        run: path of the evaluated run.
        ground_truth: path of the ground truth.
        untrained: whether the run's model had random weights.
        reference: the reference camera (where the identity mapping is taken).
        cameras: the cameras evaluated (ground-truth order).
        results: one entry per (camera, object) scored.
        identity: per camera, its identity measures.
        reference_mapping: ``{pred_id: gt_id}`` found on the reference camera.
        missing_frames: per camera, how many ground-truth frames the run lacks.
        notes: warnings about the inputs (cameras missing from the run, extra cameras...).
        settings: the options used.
    """

    run: str
    ground_truth: str
    untrained: bool
    reference: str
    cameras: tuple[str, ...]
    results: tuple[ObjectCameraResult, ...]
    identity: dict[str, IdentityScores]
    reference_mapping: dict[int, int]
    missing_frames: dict[str, int]
    notes: tuple[str, ...] = ()
    settings: dict = field(default_factory=dict)

    def summary(self, camera: str | None = None, object_id: int | None = None) -> dict[str, float]:
        """Mean over the selected (camera, object) results of J-Mean, J-Recall, ..., and J&F."""
        rows = [
            r
            for r in self.results
            if (camera is None or r.camera == camera) and (object_id is None or r.object_id == object_id)
        ]
        keys = {
            "J-Mean": lambda s: s.j_stats.mean,
            "J-Recall": lambda s: s.j_stats.recall,
            "J-Decay": lambda s: s.j_stats.decay,
            "F-Mean": lambda s: s.f_stats.mean,
            "F-Recall": lambda s: s.f_stats.recall,
            "F-Decay": lambda s: s.f_stats.decay,
        }
        out = {k: _mean(fn(r.scores) for r in rows) for k, fn in keys.items()}
        out["J&F-Mean"] = (out["J-Mean"] + out["F-Mean"]) / 2
        return out

    def to_json(self, per_frame: bool = True) -> dict:
        object_ids = sorted({r.object_id for r in self.results})
        return {
            "run": self.run,
            "ground_truth": self.ground_truth,
            "untrained": self.untrained,
            "reference": self.reference,
            "settings": self.settings,
            "notes": list(self.notes),
            "summary": _json_floats(self.summary()),
            "cameras": {
                c: {
                    **_json_floats(self.summary(camera=c)),
                    "missing_frames": self.missing_frames.get(c, 0),
                    "identity": self.identity[c].to_json() if c in self.identity else None,
                }
                for c in self.cameras
            },
            "objects": {str(o): _json_floats(self.summary(object_id=o)) for o in object_ids},
            "reference_mapping": {str(k): v for k, v in sorted(self.reference_mapping.items())},
            "sequences": [r.to_json(per_frame) for r in self.results],
        }


def evaluate_run(
    pred: Run,
    gt: Run,
    *,
    bound_th: float = BOUND_TH,
    iou_threshold: float = IOU_THRESHOLD,
    exclude_first_last: bool = False,
    cameras: Iterable[str] | None = None,
) -> Evaluation:
    """Score a run against ground truth.

    Args:
        pred: the run to evaluate.
        gt: the ground truth (a run directory of kind ``ground_truth``, or any run).
        bound_th: F's boundary tolerance (fraction of the image diagonal, or pixels when >= 1).
        iou_threshold: mask IoU needed to match a predicted id to a ground-truth object.
        exclude_first_last: leave out each camera's first and last ground-truth frame (DAVIS protocol).
        cameras: only these cameras (default: every ground-truth camera).

    Raises:
        RunDirError: a camera's resolution differs between the run and the ground truth, or an
            unknown camera is asked for.
    """
    gt_cams = gt.cameras
    pred_cams = pred.cameras
    names = list(gt_cams) if cameras is None else list(cameras)
    unknown = [c for c in names if c not in gt_cams]
    if unknown:
        raise RunDirError(f"camera(s) {unknown} not in the ground truth {gt.path}; it has {sorted(gt_cams)}")
    notes = []
    extra = sorted(set(pred_cams) - set(gt_cams))
    if extra:
        notes.append(f"cameras without ground truth, not evaluated: {extra}")
    gt_names = {i: o.name for i, o in gt.objects.items()}
    pred_names = {i: o.name for i, o in pred.objects.items()}
    results: list[ObjectCameraResult] = []
    id_frames: dict[str, list[FrameIds]] = {}
    missing: dict[str, int] = {}
    for cam in names:
        if cam not in pred_cams:
            notes.append(f"camera {cam!r} is not in the run: all its frames count as empty predictions")
        elif pred_cams[cam].resolution_wh != gt_cams[cam].resolution_wh:
            raise RunDirError(
                f"camera {cam!r}: the run's resolution {pred_cams[cam].resolution_wh} differs from the ground "
                f"truth's {gt_cams[cam].resolution_wh}; evaluate against ground truth of the same clips"
            )
        gt_frames = gt.frames(cam)
        pred_frames = pred.frames(cam) if cam in pred_cams else {}
        indices = sorted(gt_frames)
        if exclude_first_last:
            indices = indices[1:-1]
        missing[cam] = sum(1 for i in indices if i not in pred_frames)
        w, h = gt_cams[cam].resolution_wh
        empty = FrameMasks(camera=cam, frame=0, time=0.0, resolution_wh=(w, h))
        pairs = [(gt_frames[i], pred_frames.get(i, empty)) for i in indices]
        ids = sorted({o for g, p in pairs for o in (*g.object_ids, *p.object_ids)})
        per_object: dict[int, tuple[list[float], list[float]]] = {o: ([], []) for o in ids}
        frames_ids: list[FrameIds] = []
        for i, (g, p) in zip(indices, pairs):
            for oid in ids:
                go, po = g.get(oid), p.get(oid)
                if go is None and po is None:
                    j = f = 1.0
                else:
                    gm, pm = g.mask(oid), p.mask(oid)
                    if gm.shape != pm.shape:
                        raise RunDirError(
                            f"camera {cam!r} frame {i}: mask sizes differ between the run "
                            f"{pm.shape[::-1]} and the ground truth {gm.shape[::-1]}"
                        )
                    j = region_similarity(gm, pm)
                    f = boundary_measure(gm, pm, bound_th=bound_th)
                per_object[oid][0].append(j)
                per_object[oid][1].append(f)
            frames_ids.append(
                FrameIds(
                    frame=i,
                    gt_ids=g.object_ids,
                    pred_ids=p.object_ids,
                    iou=rle_iou_matrix([o.rle for o in g.objects], [o.rle for o in p.objects]),
                )
            )
        id_frames[cam] = frames_ids
        for oid in ids:
            j, f = per_object[oid]
            results.append(
                ObjectCameraResult(
                    camera=cam,
                    object_id=oid,
                    name=gt_names.get(oid) or pred_names.get(oid, str(oid)),
                    scores=sequence_scores(indices, j, f),
                )
            )
    reference = (
        gt.reference if gt.reference in id_frames else (pred.reference if pred.reference in id_frames else names[0])
    )
    ref_mapping, _ = best_mapping(id_frames.get(reference, []), iou_threshold)
    identity = {
        cam: identity_scores(fr, None if cam == reference else ref_mapping, iou_threshold)
        for cam, fr in id_frames.items()
    }
    return Evaluation(
        run=str(pred.path),
        ground_truth=str(gt.path),
        untrained=pred.untrained,
        reference=reference,
        cameras=tuple(names),
        results=tuple(results),
        identity=identity,
        reference_mapping=ref_mapping,
        missing_frames=missing,
        notes=tuple(notes),
        settings={"bound_th": bound_th, "iou_threshold": iou_threshold, "exclude_first_last": exclude_first_last},
    )


def _mean(values: Iterable[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan


def _json_floats(d: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if math.isnan(v) else round(float(v), 6)) for k, v in d.items()}
