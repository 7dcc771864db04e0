"""Refine the offsets of calibrated cameras from a previous run's masks.

A first run's masks give each object's foot point in every frame, with object ids shared by
the cameras: cleaner floor positions than what the pictures' foreground gives
(:mod:`multicam.sync.occupancy`). :func:`offsets_from_run` builds each camera's
foot tracks from its masks (:func:`multicam.sync.geometric.foot_tracks_from_masks`) and looks
for the offset at which it and the reference put the objects on the same floor spots
(:func:`multicam.sync.geometric.geometric_offset`), within ``window_s`` of the offset the run
was made with.

No file is read here: the caller (``multicam sync GAME --from RUN``) opens the run and the
calibration and hands over each camera's :class:`CameraMasks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from multicam.masks import FrameMasks
from multicam.sync.errors import SyncError
from multicam.sync.estimate import DEFAULT_MIN_CONFIDENCE, SyncResult
from multicam.sync.geometric import FootTracks, foot_tracks_from_masks, geometric_offset

DEFAULT_WINDOW_S = 1.0  # the answer lies within this many seconds of the run's own offset
SCAN_MARGIN_S = 1.0  # offsets this far beyond the window are scanned too: the confidence's baseline


@dataclass(frozen=True)
class CameraMasks:
    """One camera of a run, as :func:`offsets_from_run` needs it.

    Attributes:
        frames: the camera's masks, frame by frame (read once; frame ``i`` is at clip time ``i / fps``).
        fps: the camera's frame rate.
        offset: the camera's offset (s) in the run, on the run's game clock.
        homography: ``(3, 3)`` image-to-floor homography for the masks' pixels; None: not calibrated.
    """

    frames: Iterable[FrameMasks] = field(compare=False, repr=False)
    fps: float
    offset: float
    homography: np.ndarray | None = field(default=None, compare=False, repr=False)


def offsets_from_run(
    reference: str,
    cameras: Mapping[str, CameraMasks],
    names: Iterable[str] | None = None,
    *,
    window_s: float = DEFAULT_WINDOW_S,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    min_overlap_s: float = 1.0,
) -> dict[str, SyncResult | SyncError]:
    """Each camera's offset against ``reference`` from the floor positions of their masks' objects.

    For each camera the answer is searched within ``window_s`` of the run's offset of that camera
    relative to the run's offset of the reference. A camera without a homography (or when the
    reference has none), one missing from ``cameras``, one whose masks place nothing on the floor or
    whose best match is below ``min_confidence`` gets a :class:`SyncError` naming it and why; so
    does one whose floor positions fit better just outside the window (up to ``SCAN_MARGIN_S``
    beyond it): the run's offset is further off than ``window_s``.

    Args:
        reference: the reference camera's name (its offset is 0).
        cameras: the run's cameras by name, the reference included.
        names: which cameras to synchronize, in this order (default: every camera but the reference).
        window_s: largest change (s) from the run's offset.
        min_confidence: answers below this confidence (0..1) are refused.
        min_overlap_s: shortest shared stretch (s) an answer may rest on (lowered for shorter clips).

    Returns:
        Per camera, its :class:`SyncResult` (method ``"geometry"``) or its :class:`SyncError`.

    Raises:
        ValueError: ``reference`` is not in ``cameras`` or ``window_s`` is not positive.
    """
    if reference not in cameras:
        raise ValueError(f"the reference camera {reference!r} is not among the cameras {sorted(cameras)}")
    if not window_s > 0:
        raise ValueError(f"window_s must be positive (seconds), got {window_s}")
    ref = cameras[reference]
    todo = [n for n in (names if names is not None else cameras) if n != reference]
    ref_tracks: FootTracks | None = None
    out: dict[str, SyncResult | SyncError] = {}
    for name in todo:
        cam = cameras.get(name)
        why = _unusable(cam, reference, ref)
        if why is not None or cam is None or cam.homography is None or ref.homography is None:
            out[name] = SyncError(f"camera {name!r}: {why}")
            continue
        if ref_tracks is None:
            ref_tracks = foot_tracks_from_masks(ref.frames, ref.fps)
        center = cam.offset - ref.offset
        try:
            geo = geometric_offset(
                ref_tracks,
                foot_tracks_from_masks(cam.frames, cam.fps),
                ref.homography,
                cam.homography,
                center=center,
                window_s=window_s,
                scan_s=window_s + SCAN_MARGIN_S,
                min_overlap_s=min_overlap_s,
            )
        except SyncError as exc:
            out[name] = SyncError(f"camera {name!r}: the masks' floor positions give no offset: {exc}")
            continue
        est = geo.estimate
        outside = _better_outside(geo.offsets, geo.costs, center, window_s)
        if outside is not None:
            out[name] = SyncError(
                f"camera {name!r}: the masks' floor positions fit better at {outside:+.4f} s, more than "
                f"{window_s:g} s from the run's offset {center:+.4f} s (best within: {est.offset:+.4f} s); "
                "allow a larger change (--max-offset), or synchronize it without --from"
            )
            continue
        if est.confidence < min_confidence:
            out[name] = SyncError(
                f"camera {name!r}: the masks' floor positions give no reliable match within "
                f"{window_s:g} s of the run's offset {center:+.4f} s (best guess {est.offset:+.4f} s, "
                f"confidence {est.confidence:.2f} < {min_confidence:.2f}); check the calibration, "
                "or write the camera's offset in seconds in the game file"
            )
            continue
        out[name] = SyncResult(
            camera=name,
            reference=reference,
            offset=est.offset,
            confidence=est.confidence,
            method="geometry",
            reference_fps=ref.fps,
            estimates=(est,),
            notes=(
                f"masks: {est.offset - center:+.4f} s from the run's offset {center:+.4f} s "
                f"(searched within {window_s:g} s; floor disagreement {geo.cost_m:.2f} m)",
            ),
        )
    return out


def _better_outside(offsets: np.ndarray, costs: np.ndarray, center: float, window_s: float) -> float | None:
    """The scanned offset outside ``center ± window_s`` that fits better than every one inside, or None.

    An answer on the window's edge with the cost still falling beyond it is not a minimum.
    """
    inside = np.abs(offsets - center) <= window_s + 1e-9
    finite = np.isfinite(costs)
    if not (finite & ~inside).any():
        return None
    best_in = float(np.min(costs[finite & inside])) if (finite & inside).any() else np.inf
    j = int(np.argmin(np.where(finite & ~inside, costs, np.inf)))
    return float(offsets[j]) if costs[j] < best_in else None


def _unusable(cam: CameraMasks | None, reference: str, ref: CameraMasks) -> str | None:
    """Why a camera cannot be synchronized from the masks before looking at them, or None."""
    if cam is None:
        return "the run has no masks of it"
    if cam.homography is None:
        return (
            "not in the game's calibration (no image-to-floor homography); calibrate it "
            "(multicam calibrate) or write its offset in seconds in the game file"
        )
    if ref.homography is None:
        return f"the reference camera {reference!r} is not in the game's calibration (no image-to-floor homography)"
    return None


__all__ = ["DEFAULT_WINDOW_S", "CameraMasks", "offsets_from_run"]
