"""Identity by geometry: does each camera's object stand where the other cameras put that object?

At every step, each camera's floor estimates are matched to the positions the *other* cameras
give (leave-one-out fusion, :func:`multicam.court.positions.fuse_floor`) with
``scipy.optimize.linear_sum_assignment``. A camera whose object ``a`` is matched to ``b`` while ``b``
is matched to ``a`` has exchanged their identities (``swap``); ``a`` matched to ``b`` alone means the
mask of ``a`` sits on ``b`` (``wrong_object``, only when the other cameras place ``a`` elsewhere).
Flags need a clear margin (the other object is nearer by ``margin_m`` than ``a`` itself, plus the
doubt where two other cameras disagree: half their distance) and last ``min_steps`` steps. With
two cameras only the non-reference camera can be blamed (the reference camera's prompts define
who is who).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from multicam.court.positions import fuse_floor


class IdentityOptions(BaseModel):
    """Thresholds of the identity check."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gate_m: float = Field(default=1.5, gt=0, description="Largest distance of a match (m).")
    margin_m: float = Field(default=0.75, ge=0, description="How much nearer the other object must be (m).")
    tolerance_m: float = Field(default=1.5, gt=0, description="Fusion tolerance of the other cameras (m).")
    min_steps: int = Field(default=2, ge=1, description="Consecutive steps a flag needs.")
    max_gap: int = Field(default=1, ge=0, description="Steps a flag may skip and still be one moment.")


@dataclass(frozen=True)
class IdentityFlag:
    """A camera's object matched to another object at one step."""

    step: int
    camera: str
    object_id: int
    other_id: int
    kind: str  # "swap" or "wrong_object"
    own_m: float  # distance to where the other cameras put object_id (inf when they do not place it)
    other_m: float  # distance to where they put other_id


@dataclass(frozen=True)
class IdentityMoment:
    """Consecutive steps with the same flag in one camera."""

    camera: str
    kind: str
    object_id: int
    other_id: int
    start_step: int
    end_step: int
    steps: int
    max_own_m: float


def match_to_positions(
    estimates: Mapping[int, tuple[float, float]], positions: Mapping[int, tuple[float, float]], gate_m: float
) -> dict[int, int]:
    """``{own id: matched id}``: the assignment of one camera's estimates to fused positions within ``gate_m``."""
    from scipy.optimize import linear_sum_assignment

    own, ref = sorted(estimates), sorted(positions)
    if not own or not ref:
        return {}
    a = np.array([estimates[i] for i in own], dtype=np.float64)
    b = np.array([positions[j] for j in ref], dtype=np.float64)
    cost = np.linalg.norm(a[:, None] - b[None], axis=2)
    rows, cols = linear_sum_assignment(np.minimum(cost, gate_m * 10))
    return {own[r]: ref[c] for r, c in zip(rows, cols) if cost[r, c] <= gate_m}


def step_flags(
    step: int,
    estimates: Mapping[str, Mapping[int, tuple[float, float]]],
    reference: str,
    options: IdentityOptions,
    exclude: frozenset[int] = frozenset(),
) -> list[IdentityFlag]:
    """Flags of one step from ``{camera: {object: (x, y)}}``."""
    cams = sorted(estimates)
    out = []
    for cam in cams:
        others = [c for c in cams if c != cam]
        if not others or (len(cams) == 2 and cam == reference):
            continue
        ids = {i for c in others for i in estimates[c]} - exclude
        fused, spread = {}, {}
        for i in ids:
            f = fuse_floor({c: estimates[c][i] for c in others if i in estimates[c]}, options.tolerance_m)
            if f is not None:  # two cameras that disagree give their mean, with their half-distance as doubt
                fused[i], spread[i] = f.xy, (f.spread_m if f.disagree else 0.0)
        own = {i: xy for i, xy in estimates[cam].items() if i not in exclude}
        match = match_to_positions(own, fused, options.gate_m + max(spread.values(), default=0.0))
        for a, b in match.items():
            if a == b:
                continue
            pa = np.asarray(own[a])
            own_m = float(np.linalg.norm(pa - fused[a])) if a in fused else float("inf")
            other_m = float(np.linalg.norm(pa - fused[b]))
            if (
                other_m > options.gate_m + spread[b]
                or own_m - other_m < options.margin_m + spread.get(a, 0.0) + spread[b]
            ):
                continue
            kind = "swap" if match.get(b) == a else "wrong_object"
            if kind == "wrong_object" and a not in fused:
                continue  # the other cameras do not place a: two people close together, not evidence
            out.append(IdentityFlag(step, cam, a, b, kind, own_m, other_m))
    return out


def group_flags(flags: Sequence[IdentityFlag], options: IdentityOptions) -> list[IdentityMoment]:
    """Flags grouped into moments (same camera, kind and objects; swaps counted once per pair)."""
    keyed: dict[tuple, list[IdentityFlag]] = {}
    for f in flags:
        a, b = (
            (min(f.object_id, f.other_id), max(f.object_id, f.other_id))
            if f.kind == "swap"
            else (f.object_id, f.other_id)
        )
        keyed.setdefault((f.camera, f.kind, a, b), []).append(f)
    out = []
    for (cam, kind, a, b), items in sorted(keyed.items()):
        by_step: dict[int, float] = {}
        for f in items:
            by_step[f.step] = max(by_step.get(f.step, 0.0), f.own_m)
        steps = sorted(by_step)
        group = [steps[0]]
        for s in [*steps[1:], None]:
            if s is not None and s - group[-1] <= options.max_gap + 1:
                group.append(s)
                continue
            if len(group) >= options.min_steps:
                out.append(
                    IdentityMoment(cam, kind, a, b, group[0], group[-1], len(group), max(by_step[g] for g in group))
                )
            if s is not None:
                group = [s]
    return sorted(out, key=lambda m: (m.start_step, m.camera, m.object_id))


def identity_moments(
    estimates_per_step: Sequence[Mapping[str, Mapping[int, tuple[float, float]]]],
    reference: str,
    options: IdentityOptions | None = None,
    exclude: frozenset[int] = frozenset(),
) -> list[IdentityMoment]:
    """Every identity moment over the steps (``estimates_per_step[k]`` = ``{camera: {object: (x, y)}}`` at step k)."""
    opts = options or IdentityOptions()
    flags = [f for k, est in enumerate(estimates_per_step) for f in step_flags(k, est, reference, opts, exclude)]
    return group_flags(flags, opts)
