"""The engine: SAM 2 over every camera of a game in ONE inference state, masks streamed out.

::

    engine = Engine.build("configs/sam2.1/sam2.1_hiera_t.yaml", checkpoint, options=EngineOptions())
    for frame_masks in engine.track(layout, clips, prompts):
        ...  # one FrameMasks per frame of every camera, at that camera's resolution

Tracking runs backward from the first prompted frame to the start of the sequence
(when there is anything before it), then forward from it to the end, so every frame of
every camera gets exactly one :class:`~multicam.masks.FrameMasks`. Each direction starts
from the prompted frames' memory only.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from multicam.clips import Clip
from multicam.engine.build import build_predictor, resolve_device, resolve_dtype
from multicam.engine.frames import FrameSource
from multicam.engine.predictor import CameraMemory
from multicam.engine.state import TrackingState
from multicam.errors import ModelError, PromptError
from multicam.layout import FramePrompt, SequenceLayout
from multicam.masks import FrameMasks, ObjectMask

@dataclass(frozen=True)
class EngineOptions:
    """How to run SAM 2.

    Attributes:
        device: ``auto`` (cuda, then mps, then cpu), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        image_size: model input size S (multiple of 32); SAM 2 was trained at 1024.
        dtype: autocast dtype: ``auto`` (bfloat16 on CUDA, float32 elsewhere), ``float32``,
            ``bfloat16`` (also on the CPU) or ``float16`` (GPU only).
        compile: ``torch.compile`` the model (sam2's ``vos_optimized``; slow first frames).
        decode_cache: decoded frames each clip keeps (bounds memory; helps backward tracking).
        release_memory: free per-frame outputs older than SAM 2's memory window.
        offload_state_to_cpu: keep per-frame memories in CPU memory (GPU memory for long games).
        seed: seed of the random weights of an untrained model.
    """

    device: str = "auto"
    image_size: int = 1024
    dtype: str = "auto"
    compile: bool = False
    decode_cache: int = 8
    release_memory: bool = True
    offload_state_to_cpu: bool = False
    seed: int = 0


@dataclass(frozen=True)
class EngineInfo:
    """What an engine runs (for run manifests).

    Attributes:
        config: sam2 config name.
        checkpoint: the loaded checkpoint, or None for random weights.
        untrained: True when the weights are random.
        device: the torch device, e.g. ``cpu`` or ``cuda:0``.
        dtype: the autocast dtype name.
        image_size: model input size.
        compiled: whether the model is compiled.
        fill_hole_area: SAM 2's hole filling on masks (0: off; needs sam2's extension).
        params: number of parameters.
        build_s: seconds to build the model.
    """

    config: str
    checkpoint: str | None
    untrained: bool
    device: str
    dtype: str
    image_size: int
    compiled: bool
    fill_hole_area: int
    params: int
    build_s: float


@dataclass
class TrackStats:
    """Counters of one :meth:`Engine.track` call (filled as it runs).

    Attributes:
        frames: frames yielded so far.
        prompt_s: seconds spent adding prompts (prompted frames' image features included).
        track_s: seconds spent tracking and converting masks.
        max_held_outputs: most per-object, per-frame outputs the state held at once.
        max_held_bytes: most bytes of per-frame memory the state held at once.
        max_held_frames: most decoded frames and tensors the frame source held at once.
    """

    frames: int = 0
    prompt_s: float = 0.0
    track_s: float = 0.0
    max_held_outputs: int = 0
    max_held_bytes: int = 0
    max_held_frames: int = 0


class Engine:
    """A built SAM 2 video predictor and how to run it. Use :meth:`build`."""

    def __init__(self, predictor, info: EngineInfo, options: EngineOptions, dtype: torch.dtype):
        self.predictor = predictor
        self.info = info
        self.options = options
        self.dtype = dtype
        self.device = predictor.device
        self.stats = TrackStats()

    @classmethod
    def build(cls, config: str, checkpoint: str | Path | None = None, *, untrained: bool = False,
              options: EngineOptions = EngineOptions()) -> Engine:
        """Build the predictor.

        Args:
            config: sam2 config name (``configs/sam2.1/sam2.1_hiera_t.yaml``).
            checkpoint: the checkpoint file; required unless ``untrained``.
            untrained: build random weights (to try the pipeline; masks are meaningless).
            options: device, size, dtype, compile...

        Raises:
            ModelError: no checkpoint, an unavailable device, a mismatching checkpoint.
        """
        if checkpoint is None and not untrained:
            raise ModelError("no checkpoint given; pass one, or build with untrained=True (random weights)")
        if untrained:
            checkpoint = None
        device = resolve_device(options.device)
        dtype = resolve_dtype(options.dtype, device)
        t0 = time.perf_counter()
        predictor = build_predictor(config, checkpoint, device=device, image_size=options.image_size,
                                    compile=options.compile, seed=options.seed)
        info = EngineInfo(
            config=config, checkpoint=None if checkpoint is None else str(checkpoint), untrained=untrained,
            device=str(device), dtype=str(dtype).removeprefix("torch."), image_size=options.image_size,
            compiled=options.compile, fill_hole_area=int(predictor.fill_hole_area),
            params=sum(p.numel() for p in predictor.parameters()), build_s=round(time.perf_counter() - t0, 3))
        return cls(predictor, info, options, dtype)

    # -- running -----------------------------------------------------------------------------
    def _autocast(self):
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def open_state(self, layout: SequenceLayout, clips: Mapping[str, Clip]) -> TrackingState:
        """A fresh inference state over the layout (the predictor now selects memory for it)."""
        frames = FrameSource(layout, clips, self.options.image_size,
                             device="cpu" if self.device.type == "cpu" else self.device)
        self.predictor.camera_memory = CameraMemory(layout) if layout.camera_memory else None
        return TrackingState(self.predictor, frames, offload_state_to_cpu=self.options.offload_state_to_cpu)

    def track(self, layout: SequenceLayout, clips: Mapping[str, Clip], prompts: Sequence[FramePrompt]
              ) -> Iterator[FrameMasks]:
        """Track the prompted objects through every frame of every camera.

        Args:
            layout: the sequence layout of the game's cameras.
            clips: per camera, its lazy clip (their decoders are released when tracking ends).
            prompts: per (object, frame) prompts, from :func:`multicam.layout.resolve_prompts`.

        Yields:
            One :class:`FrameMasks` per frame of every camera (backward part first, then
            forward), masks at that camera's own resolution, objects ordered by id; an
            object whose mask is empty in a frame is not listed.

        Raises:
            PromptError: no prompts.
        """
        if not prompts:
            raise PromptError("nothing to track: the prompts file has no objects; label at least one "
                              "object (a click or a box) on the reference camera")
        if len(layout) == 0:
            return
        self.stats = stats = TrackStats()
        state = self.open_state(layout, clips)
        t0 = time.perf_counter()
        with self._autocast(), torch.inference_mode():
            for prompt in prompts:
                state.add_prompt(prompt)
            self.predictor.propagate_in_video_preflight(state.raw)
        stats.prompt_s = time.perf_counter() - t0
        start = min(state.prompted_indices)
        passes = []
        if start > 0:
            passes.append((range(start - 1, -1, -1), True))
        passes.append((range(start, len(layout)), False))
        try:
            for k, (order, reverse) in enumerate(passes):
                if k:
                    self.predictor.clear_tracked_outputs(state.raw)
                yield from self._run_pass(state, order, reverse)
        finally:
            state.frames.close()
            self.predictor.camera_memory = None

    def _run_pass(self, state: TrackingState, order: range, reverse: bool) -> Iterator[FrameMasks]:
        stats = self.stats
        object_ids = state.object_ids
        steps = self.predictor.track(state.raw, order, reverse=reverse, release=self.options.release_memory)
        while True:
            t0 = time.perf_counter()
            with self._autocast(), torch.inference_mode():
                try:
                    index, logits, scores = next(steps)
                except StopIteration:
                    return
                where = state.frames.locate(index)
                frame_masks = masks_at_resolution(where.camera, where.frame, where.time,
                                                  state.frames.resolution_wh(where.camera),
                                                  logits, scores, object_ids)
            stats.track_s += time.perf_counter() - t0
            stats.frames += 1
            stats.max_held_outputs = max(stats.max_held_outputs, state.held_outputs())
            stats.max_held_frames = max(stats.max_held_frames, state.frames.max_held_frames)
            if stats.frames % 16 == 1:
                stats.max_held_bytes = max(stats.max_held_bytes, state.held_bytes())
            yield frame_masks


def masks_at_resolution(camera: str, frame: int, time_s: float, resolution_wh: tuple[int, int],
                        logits: torch.Tensor, scores: torch.Tensor, object_ids: Sequence[int]) -> FrameMasks:
    """One frame's SAM 2 output as :class:`FrameMasks` at the camera's resolution.

    Args:
        logits: ``(N, 1, h, w)`` low-res mask logits (object ``k`` is ``object_ids[k]``).
        scores: ``(N,)`` object score logits.
        resolution_wh: ``(W, H)`` of the camera; each mask is resized to it (bilinear) and
            thresholded at 0, as SAM 2 does for its video-resolution output.
    """
    w, h = resolution_wh
    present = (logits.flatten(1) > 0).any(dim=1).tolist()
    objects = []
    for k, oid in enumerate(object_ids):
        if not present[k]:
            continue  # bilinear upsampling of all-negative logits stays negative
        up = F.interpolate(logits[k:k + 1].float(), size=(h, w), mode="bilinear", align_corners=False)
        mask = (up[0, 0] > 0).cpu().numpy()
        if mask.any():
            objects.append(ObjectMask.from_mask(int(oid), mask, score=float(scores[k])))
    objects.sort(key=lambda o: o.object_id)
    return FrameMasks(camera=camera, frame=int(frame), time=float(time_s), resolution_wh=(int(w), int(h)),
                      objects=tuple(objects))
