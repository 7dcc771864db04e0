"""A typed wrapper around SAM 2's untyped inference-state dict.

SAM 2 keeps a video's tracking state in a plain ``dict`` (``init_state``) whose
``images`` it reads from disk. :class:`TrackingState` builds that dict directly over a
lazy :class:`~multicam.engine.frames.FrameSource` (every camera of a game in ONE state)
and gives named, typed access to what multicam needs from it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch

from multicam.engine.frames import FrameSource
from multicam.layout import FramePrompt


class TrackingState:
    """One SAM 2 inference state over every camera's frames.

    Args:
        predictor: the video predictor (:class:`~multicam.engine.predictor.MulticamVideoPredictor`).
        frames: the lazy frame source of the sequence.
        offload_state_to_cpu: keep per-frame memories in CPU memory (saves GPU memory).

    Attributes:
        raw: SAM 2's inference-state dict (pass it to the predictor's methods).
        frames: the frame source.
    """

    def __init__(self, predictor: Any, frames: FrameSource, *, offload_state_to_cpu: bool = False):
        device = predictor.device
        size = int(predictor.image_size)
        self.predictor = predictor
        self.frames = frames
        self.raw: dict[str, Any] = {
            "images": frames,
            "num_frames": len(frames),
            "offload_video_to_cpu": frames.device.type == "cpu",
            "offload_state_to_cpu": offload_state_to_cpu,
            # Prompts are normalised per camera and masks resized per camera by multicam, so
            # SAM 2's single "video size" is set to the model's own input size.
            "video_height": size,
            "video_width": size,
            "device": device,
            "storage_device": torch.device("cpu") if offload_state_to_cpu else device,
            "point_inputs_per_obj": {},
            "mask_inputs_per_obj": {},
            "cached_features": {},
            "constants": {},
            "obj_id_to_idx": OrderedDict(),
            "obj_idx_to_id": OrderedDict(),
            "obj_ids": [],
            "output_dict_per_obj": {},
            "temp_output_dict_per_obj": {},
            "frames_tracked_per_obj": {},
        }

    # -- reading -----------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return int(self.raw["num_frames"])

    @property
    def object_ids(self) -> tuple[int, ...]:
        """Object ids in SAM 2's object order (the order of the mask batch)."""
        return tuple(int(i) for i in self.raw["obj_ids"])

    def _outputs(self, object_id: int) -> dict[str, dict[int, dict]]:
        idx = self.raw["obj_id_to_idx"].get(object_id)
        if idx is None:
            raise KeyError(f"object {object_id} has no prompt in this state; objects: {self.object_ids}")
        return self.raw["output_dict_per_obj"][idx]

    def conditioning_frames(self, object_id: int) -> tuple[int, ...]:
        """Sequence indices of an object's prompted frames (after preflight)."""
        out = self._outputs(object_id)
        idx = self.raw["obj_id_to_idx"][object_id]
        temp = self.raw["temp_output_dict_per_obj"][idx]["cond_frame_outputs"]
        return tuple(sorted(set(out["cond_frame_outputs"]) | set(temp)))

    @property
    def prompted_indices(self) -> tuple[int, ...]:
        """Every sequence index that holds a prompt of any object."""
        return tuple(sorted({t for oid in self.object_ids for t in self.conditioning_frames(oid)}))

    def tracked_outputs(self, object_id: int) -> dict[int, dict]:
        """An object's tracked (non-prompted) frame outputs still held, by sequence index."""
        return self._outputs(object_id)["non_cond_frame_outputs"]

    def held_outputs(self) -> int:
        """Number of per-object, per-frame outputs held (prompted and tracked)."""
        return sum(
            len(o["cond_frame_outputs"]) + len(o["non_cond_frame_outputs"])
            for o in self.raw["output_dict_per_obj"].values()
        )

    def held_bytes(self) -> int:
        """Bytes of the per-frame memories, masks and pointers held by the state."""
        total = 0
        for per_obj in self.raw["output_dict_per_obj"].values():
            for outputs in per_obj.values():
                for out in outputs.values():
                    for key in ("maskmem_features", "pred_masks", "obj_ptr", "object_score_logits"):
                        t = out.get(key)
                        if isinstance(t, torch.Tensor):
                            total += t.numel() * t.element_size()
        return total

    # -- prompting ---------------------------------------------------------------------------
    def add_prompt(self, prompt: FramePrompt) -> None:
        """Add one object's clicks and/or box on one frame, in that camera's pixels."""
        add_prompt(self.predictor, self.raw, prompt)


def add_prompt(predictor: Any, inference_state: dict, prompt: FramePrompt) -> None:
    """Add a prompt to any SAM 2 video predictor's state (coordinates normalised by the prompt's camera size)."""
    w, h = prompt.resolution_wh
    points = [(x / w, y / h) for x, y in prompt.positive] + [(x / w, y / h) for x, y in prompt.negative]
    labels = [1] * len(prompt.positive) + [0] * len(prompt.negative)
    box = None
    if prompt.box_xyxy is not None:
        x0, y0, x1, y1 = prompt.box_xyxy
        box = torch.tensor([x0 / w, y0 / h, x1 / w, y1 / h], dtype=torch.float32)
    predictor.add_new_points_or_box(
        inference_state,
        frame_idx=prompt.index,
        obj_id=prompt.object_id,
        points=torch.tensor(points, dtype=torch.float32).reshape(-1, 2) if points else None,
        labels=torch.tensor(labels, dtype=torch.int32) if points else None,
        clear_old_points=True,
        normalize_coords=False,
        box=box,
    )
