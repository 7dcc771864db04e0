"""Incremental corrections: re-track only the objects whose prompts changed (``process GAME --from RUN``).

After an analyst fixes one object's prompt, every other object's masks would come out of a
new run exactly as they are in the previous one, provided everything else that determines
them is equal. A correction run therefore tracks only the objects whose resolved prompts
changed (or that are new), copies the other objects' masks line by line from the source
run, and merges the two per frame into a normal run folder.

Why copying is exact. sam2 1.1.0 (``sam2/sam2_video_predictor.py``) keeps every object in
its own slot of the inference state (``output_dict_per_obj[obj_idx]``): ``add_new_points_or_box``
and ``propagate_in_video_preflight`` run the model on "the slice of a single object"
(``batch_size=1``), and ``propagate_in_video`` loops over the objects, each conditioned
only on its own memory bank. The image features of a frame are shared, but they depend on
the frame alone. Nothing couples two objects: ``non_overlap_masks`` and
``non_overlap_masks_for_mem_enc`` are off in the video predictor and its configs. multicam's
tracker keeps that (per-object memory views; ``batch_objects`` batches objects with the same
prompted frames, which can change floating-point rounding, hence part of the comparison).
One more thing couples them: where the tracking passes split (the first prompted frame of
ANY object, :func:`multicam.engine.tracking_passes`); it is part of the comparison, and the
re-tracked objects are tracked with the source run's split.

What must be equal (:data:`DETERMINANTS`, recorded in every run's manifest as
``mask_determinants``): sam2 config, weights (checkpoint SHA-256 or random seed), untrained
flag, image size, autocast dtype, device, compile, hole filling, batched objects, the
sequence layout (kind and order of every camera frame), each clip's identity (path, size,
modification time), the tracking split, and the sam2 and torch versions. When any differs,
the run tracks every object and says why.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from multicam.layout import FramePrompt, SequenceLayout
from multicam.masks import FrameMasks
from multicam.rundir import Run

DETERMINANTS = (
    "model_config",
    "weights",
    "untrained",
    "image_size",
    "dtype",
    "device",
    "compiled",
    "fill_hole_area",
    "batch_objects",
    "layout",
    "sequence_sha256",
    "clips",
    "tracking_start",
    "sam2",
    "torch",
)


def object_prompt_digests(prompts: Sequence[FramePrompt]) -> dict[int, str]:
    """Per object, the SHA-256 of its resolved prompts (frames, clicks, box, camera size), order-free."""
    per_object: dict[int, list[dict]] = {}
    for p in prompts:
        per_object.setdefault(int(p.object_id), []).append(p.__dict__)
    return {
        oid: hashlib.sha256(
            json.dumps(sorted(items, key=lambda d: (d["index"], d["camera"])), sort_keys=True, default=list).encode()
        ).hexdigest()
        for oid, items in sorted(per_object.items())
    }


def sequence_sha256(layout: SequenceLayout) -> str:
    """SHA-256 of the sequence order: each sequence frame's camera and local frame."""
    h = hashlib.sha256(layout.kind.encode())
    h.update(",".join(c.name for c in layout.cameras).encode())
    h.update(layout.camera_ids.astype("<i8").tobytes())
    h.update(layout.frames.astype("<i8").tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class CorrectionPlan:
    """Which objects a correction run tracks and which it copies from its source run.

    Attributes:
        source_run: the run the masks of ``reuse`` come from.
        retrack: objects tracked again (prompts changed, or new).
        reuse: objects whose masks are copied from ``source_run`` (empty: a full run).
        reason: why every object is tracked (None when some are reused).
    """

    source_run: Path
    retrack: tuple[int, ...]
    reuse: tuple[int, ...]
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "source_run": str(self.source_run),
            "retracked": list(self.retrack),
            "reused": list(self.reuse),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CorrectionPlan:
        return cls(
            source_run=Path(data["source_run"]),
            retrack=tuple(int(i) for i in data["retracked"]),
            reuse=tuple(int(i) for i in data["reused"]),
            reason=data.get("reason"),
        )


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def plan_correction(source: Run, determinants: Mapping[str, Any], digests: Mapping[int, str]) -> CorrectionPlan:
    """Compare a new run's mask determinants and per-object prompt digests with its source run's.

    Args:
        source: the previous (complete) run.
        determinants: the new run's :data:`DETERMINANTS` values.
        digests: the new run's :func:`object_prompt_digests`.
    """
    m = source.manifest
    field = m.get if isinstance(m, Mapping) else (lambda key: getattr(m, key, None))
    everything = tuple(sorted(digests))
    before = field("mask_determinants")
    old_digests = field("object_prompts_sha256")
    if not isinstance(before, Mapping) or not isinstance(old_digests, Mapping):
        return CorrectionPlan(
            source.path, everything, (), f"{source.path} has no per-object prompt digests (made by an older multicam)"
        )
    differ = [k for k in DETERMINANTS if before.get(k) != determinants.get(k)]
    if differ:
        what = "; ".join(f"{k} {_short(before.get(k))} -> {_short(determinants.get(k))}" for k in differ)
        return CorrectionPlan(
            source.path, everything, (), f"what determines the masks changed since {source.path}: {what}"
        )
    reuse = tuple(oid for oid in everything if old_digests.get(str(oid)) == digests[oid])
    retrack = tuple(oid for oid in everything if oid not in reuse)
    if not reuse:
        return CorrectionPlan(source.path, everything, (), "every object's prompts changed")
    return CorrectionPlan(source.path, retrack, reuse)


class SourceMasks:
    """The masks of a source run, read camera by camera in file order (bounded memory).

    A correction run asks for frames in the same tracking order as the source run wrote
    them, so each camera's file is read once, front to back; frames asked out of order are
    found by reading ahead (and kept until asked for).
    """

    def __init__(self, run: Run, cameras: Iterable[str]):
        self.run = run
        self._iters: dict[str, Iterator[FrameMasks]] = {c: run.iter_frames(c) for c in cameras}
        self._ahead: dict[tuple[str, int], FrameMasks] = {}

    def get(self, camera: str, frame: int) -> FrameMasks | None:
        """A camera frame's masks in the source run, or None when it has no line for it."""
        key = (camera, int(frame))
        if key in self._ahead:
            return self._ahead.pop(key)
        for fm in self._iters.get(camera, iter(())):
            if fm.frame == frame:
                return fm
            self._ahead[(camera, fm.frame)] = fm
        return None


def merge_frame(tracked: FrameMasks, source: FrameMasks | None, reuse: Iterable[int]) -> FrameMasks:
    """A frame's re-tracked objects' masks with the reused objects' masks copied from the source run."""
    keep = set(reuse)
    copied = () if source is None else tuple(o for o in source.objects if o.object_id in keep)
    if source is not None and source.resolution_wh != tracked.resolution_wh:
        raise ValueError(
            f"{tracked.camera} frame {tracked.frame}: source run has {source.resolution_wh}, now {tracked.resolution_wh}"
        )
    objects = tuple(
        sorted(copied + tuple(o for o in tracked.objects if o.object_id not in keep), key=lambda o: o.object_id)
    )
    return FrameMasks(
        camera=tracked.camera,
        frame=tracked.frame,
        time=tracked.time,
        resolution_wh=tracked.resolution_wh,
        objects=objects,
    )
