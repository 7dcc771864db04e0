"""Identity measures across cameras: does id k mean the same object in every camera?

Per frame, predicted masks are matched to ground-truth masks one-to-one by mask IoU
(``scipy.optimize.linear_sum_assignment``, a match needs IoU >= ``iou_threshold``). From these:

- identity switches: a ground-truth object whose matched predicted id changes from its previous
  matched id (MOTChallenge's IDSW, counted per camera);
- IDF1 (Ristani et al. 2016): ``2 IDTP / (n_gt + n_pred)`` where IDTP counts the frames in which a
  predicted id overlaps (IoU >= threshold) the ground-truth object it is mapped to. ``idf1_own``
  uses the best one-to-one mapping for the camera alone (the standard IDF1); ``idf1`` uses the
  mapping found on the reference camera, so an id that means another object in this camera than
  in the reference counts as wrong - the cross-camera identity score.

All functions are pure: masks or IoU matrices in, numbers out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

IOU_THRESHOLD = 0.5


def iou_matrix(gt_masks: Sequence[np.ndarray], pred_masks: Sequence[np.ndarray]) -> np.ndarray:
    """IoU of every ground-truth mask against every predicted mask: shape ``(G, P)``.

    Masks are boolean ``(H, W)``; a pair of empty masks has IoU 0 (nothing to match).
    """
    g = len(gt_masks)
    p = len(pred_masks)
    out = np.zeros((g, p), dtype=np.float64)
    if g == 0 or p == 0:
        return out
    gt = np.stack([np.asarray(m, dtype=bool).reshape(-1) for m in gt_masks]).astype(np.float32)
    pr = np.stack([np.asarray(m, dtype=bool).reshape(-1) for m in pred_masks]).astype(np.float32)
    inter = gt @ pr.T
    union = gt.sum(1)[:, None] + pr.sum(1)[None, :] - inter
    np.divide(inter, union, out=out, where=union > 0)
    return out


@dataclass(frozen=True)
class FrameIds:
    """One frame of one camera for identity scoring.

    Attributes:
        frame: 0-based frame index.
        gt_ids: ground-truth object ids present, shape ``(G,)``.
        pred_ids: predicted object ids present, shape ``(P,)``.
        iou: IoU matrix, shape ``(G, P)``.
    """

    frame: int
    gt_ids: tuple[int, ...]
    pred_ids: tuple[int, ...]
    iou: np.ndarray

    def __post_init__(self) -> None:
        iou = np.asarray(self.iou, dtype=np.float64).reshape(len(self.gt_ids), len(self.pred_ids))
        object.__setattr__(self, "iou", iou)


def match_frame(frame: FrameIds, iou_threshold: float = IOU_THRESHOLD) -> dict[int, int]:
    """One-to-one matching of a frame: ``{gt_id: pred_id}`` for pairs with IoU >= threshold."""
    if frame.iou.size == 0:
        return {}
    rows, cols = linear_sum_assignment(frame.iou, maximize=True)
    return {frame.gt_ids[r]: frame.pred_ids[c] for r, c in zip(rows, cols) if frame.iou[r, c] >= iou_threshold}


@dataclass(frozen=True)
class IdentityScores:
    """Identity measures of one camera.

    Attributes:
        n_gt: ground-truth object-frames (detections).
        n_pred: predicted object-frames.
        matches: object-frames matched one-to-one with IoU >= threshold.
        correct: matched object-frames whose predicted id is the one the reference mapping expects.
        id_switches: number of identity switches (summed over ground-truth objects).
        switch_frames: ``(frame, gt_id, previous_pred_id, new_pred_id)`` for each switch.
        mapping_own: ``{pred_id: gt_id}``, best one-to-one mapping on this camera alone.
        idtp_own: frames agreeing with ``mapping_own``.
        idf1_own: standard IDF1 of this camera.
        idtp: frames agreeing with the reference mapping.
        idf1: IDF1 under the reference camera's mapping (cross-camera identity score).
        per_object: ``{gt_id: ObjectIdentity}``.
    """

    n_gt: int
    n_pred: int
    matches: int
    correct: int
    id_switches: int
    switch_frames: tuple[tuple[int, int, int, int], ...]
    mapping_own: dict[int, int]
    idtp_own: int
    idf1_own: float
    idtp: int
    idf1: float
    per_object: dict[int, ObjectIdentity]

    def to_json(self) -> dict:
        return {
            "n_gt": self.n_gt,
            "n_pred": self.n_pred,
            "matches": self.matches,
            "correct": self.correct,
            "id_switches": self.id_switches,
            "switches": [{"frame": f, "gt_id": g, "from_id": a, "to_id": b} for f, g, a, b in self.switch_frames],
            "mapping_own": {str(k): v for k, v in sorted(self.mapping_own.items())},
            "idtp_own": self.idtp_own,
            "idf1_own": self.idf1_own,
            "idtp": self.idtp,
            "idf1": self.idf1,
            "per_object": {str(k): v.to_json() for k, v in sorted(self.per_object.items())},
        }


@dataclass(frozen=True)
class ObjectIdentity:
    """Identity of one ground-truth object in one camera.

    Attributes:
        gt_id: the ground-truth object.
        expected_pred_id: the predicted id the reference mapping assigns to it (None: unmapped).
        own_pred_id: the predicted id this camera's own best mapping assigns to it (None: unmapped).
        same_identity: whether both agree (the id means the same object here as in the reference).
        frames: frames where the object is in the ground truth.
        matched: frames where some predicted mask matches it.
        correct: frames where the expected predicted id matches it.
        id_switches: identity switches of this object.
    """

    gt_id: int
    expected_pred_id: int | None
    own_pred_id: int | None
    same_identity: bool
    frames: int
    matched: int
    correct: int
    id_switches: int

    def to_json(self) -> dict:
        return {
            "expected_pred_id": self.expected_pred_id,
            "own_pred_id": self.own_pred_id,
            "same_identity": self.same_identity,
            "frames": self.frames,
            "matched": self.matched,
            "correct": self.correct,
            "id_switches": self.id_switches,
        }


def best_mapping(frames: Sequence[FrameIds], iou_threshold: float = IOU_THRESHOLD) -> tuple[dict[int, int], int]:
    """IDF1's one-to-one ``{pred_id: gt_id}`` maximising agreeing frames, and that count (IDTP).

    A pair agrees in a frame when its IoU is >= ``iou_threshold``; pairs that never agree stay unmapped.
    """
    counts = _agreement_counts(frames, iou_threshold)
    if not counts:
        return {}, 0
    gts = sorted({g for g, _ in counts})
    preds = sorted({p for _, p in counts})
    table = np.zeros((len(gts), len(preds)))
    for (g, p), n in counts.items():
        table[gts.index(g), preds.index(p)] = n
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = {preds[c]: gts[r] for r, c in zip(rows, cols) if table[r, c] > 0}
    return mapping, int(sum(table[r, c] for r, c in zip(rows, cols)))


def identity_scores(
    frames: Sequence[FrameIds], reference_mapping: Mapping[int, int] | None = None, iou_threshold: float = IOU_THRESHOLD
) -> IdentityScores:
    """Identity measures of one camera's frames (in frame order).

    Args:
        frames: the camera's frames.
        reference_mapping: ``{pred_id: gt_id}`` established on the reference camera; None uses this
            camera's own best mapping (for the reference camera itself).
        iou_threshold: IoU needed for a match.
    """
    mapping_own, idtp_own = best_mapping(frames, iou_threshold)
    mapping = dict(mapping_own if reference_mapping is None else reference_mapping)
    expected = {g: p for p, g in mapping.items()}
    own = {g: p for p, g in mapping_own.items()}
    n_gt = sum(len(f.gt_ids) for f in frames)
    n_pred = sum(len(f.pred_ids) for f in frames)
    gt_ids = sorted({g for f in frames for g in f.gt_ids})
    per_frames = dict.fromkeys(gt_ids, 0)
    per_matched = dict.fromkeys(gt_ids, 0)
    per_correct = dict.fromkeys(gt_ids, 0)
    per_switches = dict.fromkeys(gt_ids, 0)
    last: dict[int, int] = {}
    switches: list[tuple[int, int, int, int]] = []
    matches = correct = idtp = 0
    for fr in frames:
        for g in fr.gt_ids:
            per_frames[g] += 1
        for g, p in match_frame(fr, iou_threshold).items():
            matches += 1
            per_matched[g] += 1
            if expected.get(g) == p:
                correct += 1
                per_correct[g] += 1
            if g in last and last[g] != p:
                switches.append((fr.frame, g, last[g], p))
                per_switches[g] += 1
            last[g] = p
        for gi, g in enumerate(fr.gt_ids):  # IDTP: the mapped id overlaps enough (no one-to-one per frame)
            p = expected.get(g)
            if p is not None and p in fr.pred_ids and fr.iou[gi, fr.pred_ids.index(p)] >= iou_threshold:
                idtp += 1
    per_object = {
        g: ObjectIdentity(
            gt_id=g,
            expected_pred_id=expected.get(g),
            own_pred_id=own.get(g),
            same_identity=expected.get(g) is not None and expected.get(g) == own.get(g),
            frames=per_frames[g],
            matched=per_matched[g],
            correct=per_correct[g],
            id_switches=per_switches[g],
        )
        for g in gt_ids
    }
    return IdentityScores(
        n_gt=n_gt,
        n_pred=n_pred,
        matches=matches,
        correct=correct,
        id_switches=len(switches),
        switch_frames=tuple(switches),
        mapping_own=mapping_own,
        idtp_own=idtp_own,
        idf1_own=_idf1(idtp_own, n_gt, n_pred),
        idtp=idtp,
        idf1=_idf1(idtp, n_gt, n_pred),
        per_object=per_object,
    )


def _agreement_counts(frames: Sequence[FrameIds], iou_threshold: float) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = {}
    for fr in frames:
        rows, cols = np.nonzero(fr.iou >= iou_threshold)
        for r, c in zip(rows, cols):
            key = (fr.gt_ids[r], fr.pred_ids[c])
            counts[key] = counts.get(key, 0) + 1
    return counts


def _idf1(idtp: int, n_gt: int, n_pred: int) -> float:
    """``2 IDTP / (n_gt + n_pred)``; 1.0 when both are empty (nothing to get wrong)."""
    total = n_gt + n_pred
    return 1.0 if total == 0 else 2 * idtp / total


def rle_iou_matrix(gt_rles: Sequence[Mapping], pred_rles: Sequence[Mapping]) -> np.ndarray:
    """:func:`iou_matrix` on COCO RLE masks (pycocotools), shape ``(G, P)``, without decoding."""
    import pycocotools.mask as mask_utils

    if not gt_rles or not pred_rles:
        return np.zeros((len(gt_rles), len(pred_rles)), dtype=np.float64)

    def as_bytes(rle: Mapping) -> dict:
        counts = rle["counts"]
        return {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}

    iou = mask_utils.iou([as_bytes(r) for r in pred_rles], [as_bytes(r) for r in gt_rles], [0] * len(gt_rles))
    return np.asarray(iou, dtype=np.float64).reshape(len(pred_rles), len(gt_rles)).T.copy()
