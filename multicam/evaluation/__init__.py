"""Accuracy against ground truth: DAVIS J/F (:mod:`.davis`), identity across cameras (:mod:`.identity`)
and the run-level evaluation that combines them (:mod:`.evaluate`)."""

from multicam.evaluation.davis import (
    BOUND_TH,
    SequenceScores,
    Statistics,
    boundary_measure,
    region_similarity,
    sequence_scores,
    statistics,
)
from multicam.evaluation.identity import FrameIds, IdentityScores, best_mapping, identity_scores, iou_matrix

__all__ = [
    "BOUND_TH",
    "FrameIds",
    "IdentityScores",
    "SequenceScores",
    "Statistics",
    "best_mapping",
    "boundary_measure",
    "identity_scores",
    "iou_matrix",
    "region_similarity",
    "sequence_scores",
    "statistics",
]
