"""The engine: SAM 2 over every camera of a game in ONE inference state, masks streamed out.

::

    engine = Engine.build("configs/sam2.1/sam2.1_hiera_t.yaml", checkpoint, options=EngineOptions())
    for frame_masks in engine.track(layout, clips, prompts):
        ...  # one FrameMasks per frame of every camera, at that camera's resolution

Tracking runs backward from the first prompted frame to the start of the sequence
(when there is anything before it), then forward from it to the end, so every frame of
every camera gets exactly one :class:`~multicam.masks.FrameMasks`. Each direction starts
from the prompted frames' memory only (:func:`tracking_passes`).

:meth:`Engine.track_frames` yields each frame's raw output (:class:`TrackedFrame`), so that
the caller can turn it into masks on another thread; :meth:`Engine.save_snapshot` (between
two frames) and ``resume=`` continue an interrupted run with the same masks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from multicam.clips import Clip
from multicam.engine.build import build_predictor, resolve_batch_objects, resolve_device, resolve_dtype, versions
from multicam.engine.features import FeatureCache, FeatureSpace, FeatureStore
from multicam.engine.frames import FrameSource
from multicam.engine.predictor import CameraMemory
from multicam.engine.state import TrackingState
from multicam.errors import ModelError, PromptError
from multicam.io import atomic_path
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
        batch_objects: track the objects that share their prompted frames as one batch per
            frame (masks equal to one-by-one tracking up to floating-point rounding); None:
            auto, on for CUDA (many small kernels become few large ones), off elsewhere (on
            the CPU the batch gains little and one by one gives bit-exact corrections).
        prefetch: frames decoded (or read from the feature cache) ahead on a thread; 0: none.
        threads: CPU threads of torch (None: torch's default, one per core).
        encoder_batch: frames that go through the image encoder in one forward pass, taken
            from the tracking order (needs ``prefetch``); 0: auto: 1 on the CPU (bit-exact runs),
            on CUDA the number of cameras (in the
            interleave layout, the cameras' frames at one game time), twice that with a
            feature cache (its files are written on a thread, so a wider window costs the
            model nothing); 1: one frame at a time.
    """

    device: str = "auto"
    image_size: int = 1024
    dtype: str = "auto"
    compile: bool = False
    decode_cache: int = 8
    release_memory: bool = True
    offload_state_to_cpu: bool = False
    seed: int = 0
    batch_objects: bool | None = None
    prefetch: int = 4
    threads: int | None = None
    encoder_batch: int = 0


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
        encoder_forwards: frames whose image features the model computed.
        encoder_batches: forward passes of the image encoder (several frames each when batched).
        features_loaded: frames whose image features came from the feature cache.
        replayed: frames tracked again without being yielded (resuming).
    """

    frames: int = 0
    prompt_s: float = 0.0
    track_s: float = 0.0
    max_held_outputs: int = 0
    max_held_bytes: int = 0
    max_held_frames: int = 0
    encoder_forwards: int = 0
    encoder_batches: int = 0
    features_loaded: int = 0
    replayed: int = 0


@dataclass(frozen=True)
class TrackedFrame:
    """One frame's raw SAM 2 output, before it becomes masks (:meth:`to_masks`).

    Attributes:
        index: sequence index.
        camera: camera name.
        frame: the camera's 0-based frame.
        time: game time (s).
        resolution_wh: the camera's ``(W, H)``.
        logits: ``(N, 1, S/4, S/4)`` float32 low-res mask logits on the CPU, object ``k`` is ``object_ids[k]``.
        scores: ``(N,)`` object score logits.
        object_ids: the objects, in SAM 2's order.
    """

    index: int
    camera: str
    frame: int
    time: float
    resolution_wh: tuple[int, int]
    logits: torch.Tensor
    scores: torch.Tensor
    object_ids: tuple[int, ...]

    def to_masks(self) -> FrameMasks:
        """The frame's masks at the camera's resolution (safe to call on another thread)."""
        with torch.inference_mode():
            return masks_at_resolution(
                self.camera, self.frame, self.time, self.resolution_wh, self.logits, self.scores, self.object_ids
            )


@dataclass(frozen=True)
class ResumePoint:
    """Where an interrupted tracking run continues.

    Attributes:
        done: frames of the tracking order already finished (not yielded again).
        snapshot: a file from :meth:`Engine.save_snapshot` taken at or before ``done``, or
            None: the tracking direction (pass) that ``done`` falls in is then tracked again
            from its start without yielding, which gives the same masks at a higher cost.
    """

    done: int
    snapshot: Path | None = None


def tracking_passes(
    layout: SequenceLayout, prompts: Sequence[FramePrompt], start: int | None = None
) -> list[tuple[range, bool]]:
    """The tracking order: ``[(sequence indices, reverse)]``, backward from the first prompt, then forward.

    Args:
        start: the sequence index the passes split at (default: the first prompted frame).
            A run that tracks only some of a game's objects (a correction) passes the first
            prompted frame of ALL objects, so that each object sees the same passes as in a
            run of every object: its masks depend on where the passes split.
    """
    if not prompts or len(layout) == 0:
        return []
    start = min(p.index for p in prompts) if start is None else int(start)
    passes = []
    if start > 0:
        passes.append((range(start - 1, -1, -1), True))
    passes.append((range(start, len(layout)), False))
    return passes


def feature_space(info: EngineInfo, seed: int, checkpoint_sha256: str | None = None) -> FeatureSpace:
    """The feature-cache key part that names the model, its weights, the image size and dtype."""
    if info.checkpoint is None:
        weights = f"random-seed-{seed}"
    else:
        weights = checkpoint_sha256 or f"{Path(info.checkpoint).resolve()}|{os.path.getsize(info.checkpoint)}"
    return FeatureSpace(
        config=info.config,
        weights=weights,
        image_size=info.image_size,
        dtype=info.dtype,
        compiled=info.compiled,
        sam2=versions()["sam2"],
    )


class Engine:
    """A built SAM 2 video predictor and how to run it. Use :meth:`build`."""

    def __init__(self, predictor, info: EngineInfo, options: EngineOptions, dtype: torch.dtype):
        self.predictor = predictor
        self.info = info
        self.options = options
        self.dtype = dtype
        self.device = predictor.device
        self.stats = TrackStats()
        self._state: TrackingState | None = None
        self._cursor = 0  # frames of the tracking order done (tracked or replayed)
        self._pass = 0

    @classmethod
    def build(
        cls,
        config: str,
        checkpoint: str | Path | None = None,
        *,
        untrained: bool = False,
        options: EngineOptions = EngineOptions(),
    ) -> Engine:
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
        options = dataclasses.replace(options, batch_objects=resolve_batch_objects(options.batch_objects, device))
        if options.threads is not None:
            if options.threads < 1:
                raise ModelError(f"threads must be at least 1, got {options.threads}")
            torch.set_num_threads(int(options.threads))
        t0 = time.perf_counter()
        predictor = build_predictor(
            config, checkpoint, device=device, image_size=options.image_size, compile=options.compile, seed=options.seed
        )
        info = EngineInfo(
            config=config,
            checkpoint=None if checkpoint is None else str(checkpoint),
            untrained=untrained,
            device=str(device),
            dtype=str(dtype).removeprefix("torch."),
            image_size=options.image_size,
            compiled=options.compile,
            fill_hole_area=int(predictor.fill_hole_area),
            params=sum(p.numel() for p in predictor.parameters()),
            build_s=round(time.perf_counter() - t0, 3),
        )
        return cls(predictor, info, options, dtype)

    # -- running -----------------------------------------------------------------------------
    def _autocast(self):
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def open_state(
        self, layout: SequenceLayout, clips: Mapping[str, Clip], features: FeatureStore | None = None
    ) -> TrackingState:
        """A fresh inference state over the layout (the predictor now selects memory for it)."""
        batch = self.encoder_batch(layout, features is not None)
        prefetch = max(self.options.prefetch, batch) if self.options.prefetch > 0 else 0
        frames = self._frame_source(layout, clips, features, prefetch, batch)
        self.predictor.camera_memory = CameraMemory(layout) if layout.camera_memory else None
        return TrackingState(self.predictor, frames, offload_state_to_cpu=self.options.offload_state_to_cpu)

    def _frame_source(
        self,
        layout: SequenceLayout,
        clips: Mapping[str, Clip],
        features: FeatureStore | None,
        prefetch: int,
        batch: int,
    ) -> FrameSource:
        device = "cpu" if self.device.type == "cpu" else self.device
        return FrameSource(
            layout,
            clips,
            self.options.image_size,
            device=device,
            features=features,
            prefetch=prefetch,
            encoder_batch=batch,
        )

    def encoder_batch(self, layout: SequenceLayout, cached: bool) -> int:
        """Frames per image-encoder forward pass (:attr:`EngineOptions.encoder_batch` resolved)."""
        if self.options.encoder_batch > 0:
            return int(self.options.encoder_batch)
        if self.device.type != "cuda":
            return 1  # CPU: batched frames' features can differ in the last bit (see the docs); keep runs bit-exact
        return max(len(layout.cameras), 1) * (2 if cached else 1)

    def feature_store(
        self, cache: FeatureCache, clips: Mapping[str, Clip], checkpoint_sha256: str | None = None
    ) -> FeatureStore:
        """The feature cache bound to this engine's model and the given clips."""
        space = feature_space(self.info, self.options.seed, checkpoint_sha256)
        return FeatureStore(cache, space, {name: clip.path for name, clip in clips.items()})

    def encode_frames(
        self,
        layout: SequenceLayout,
        clips: Mapping[str, Clip],
        indices: Sequence[int],
        features: FeatureStore,
    ) -> int:
        """Compute the image features of some sequence frames into the feature cache.

        Frames already cached are skipped (a retried chunk continues where it stopped). The
        features are those tracking computes (same model, image size, dtype and encoder
        batching), so tracking then reads them instead of running the image encoder.

        Returns:
            the number of frames encoded.
        """
        todo = [int(i) for i in indices if not features.contains(layout[i].camera, layout[i].frame)]
        if not todo:
            return 0
        batch = self.encoder_batch(layout, True)
        frames = self._frame_source(layout, clips, None, max(self.options.prefetch, batch, 1), batch)
        predictor = self.predictor
        try:
            frames.prefetch(todo)
            with self._autocast(), torch.inference_mode():
                for index in todo:
                    _, out = frames.image_features(
                        index, predictor.forward_image, self.device, forward_batch=predictor.forward_image_batch
                    )
                    where = layout[index]
                    features.store(where.camera, where.frame, out)
            features.flush()
        finally:
            frames.close()
        return len(todo)

    def track(
        self,
        layout: SequenceLayout,
        clips: Mapping[str, Clip],
        prompts: Sequence[FramePrompt],
        *,
        features: FeatureStore | None = None,
    ) -> Iterator[FrameMasks]:
        """Track the prompted objects through every frame of every camera.

        Args:
            layout: the sequence layout of the game's cameras.
            clips: per camera, its lazy clip (their decoders are released when tracking ends).
            prompts: per (object, frame) prompts, from :func:`multicam.layout.resolve_prompts`.
            features: the feature cache (:meth:`feature_store`), or None.

        Yields:
            One :class:`FrameMasks` per frame of every camera (backward part first, then
            forward), masks at that camera's own resolution, objects ordered by id; an
            object whose mask is empty in a frame is not listed.

        Raises:
            PromptError: no prompts.
        """
        for tracked in self.track_frames(layout, clips, prompts, features=features):
            yield tracked.to_masks()

    def track_frames(
        self,
        layout: SequenceLayout,
        clips: Mapping[str, Clip],
        prompts: Sequence[FramePrompt],
        *,
        features: FeatureStore | None = None,
        resume: ResumePoint | None = None,
        start: int | None = None,
    ) -> Iterator[TrackedFrame]:
        """Like :meth:`track`, yielding each frame's raw output (:meth:`TrackedFrame.to_masks` makes its masks).

        Args:
            resume: continue after the first ``resume.done`` frames of the tracking order.
            start: where the tracking passes split (:func:`tracking_passes`); default: the
                first frame of ``prompts``.

        Raises:
            PromptError: no prompts.
            ModelError: a resume snapshot that does not belong to this game and prompts.
        """
        if not prompts:
            raise PromptError(
                "nothing to track: the prompts file has no objects; label at least one "
                "object (a click or a box) on the reference camera"
            )
        if len(layout) == 0:
            return
        self.stats = stats = TrackStats()
        state = self.open_state(layout, clips, features)
        self._state, self._cursor, self._pass = state, 0, 0
        try:
            t0 = time.perf_counter()
            with self._autocast(), torch.inference_mode():
                for prompt in prompts:
                    state.add_prompt(prompt)
                self.predictor.propagate_in_video_preflight(state.raw)
            stats.prompt_s = time.perf_counter() - t0
            done = resume.done if resume is not None else 0
            snapshot = self._read_snapshot(resume.snapshot, layout, state) if resume is not None else None
            position = 0
            tracked_before = False
            for k, (order, reverse) in enumerate(tracking_passes(layout, prompts, start)):
                if position + len(order) <= done:
                    position += len(order)
                    continue  # finished before the interruption
                if tracked_before:
                    self.predictor.clear_tracked_outputs(state.raw)
                begin = 0
                if snapshot is not None and snapshot["pass"] == k and position <= snapshot["position"] <= done:
                    self.predictor.restore_outputs(state.raw, snapshot["outputs"])
                    begin = snapshot["position"] - position
                self._pass = k
                discard = max(done - position, 0) - begin
                yield from self._run_pass(state, order[begin:], reverse, position + begin, discard)
                tracked_before = True
                position += len(order)
        finally:
            state.frames.close()
            self.predictor.camera_memory = None
            self._state = None

    def _run_pass(
        self, state: TrackingState, order: range, reverse: bool, position: int, discard: int
    ) -> Iterator[TrackedFrame]:
        stats = self.stats
        object_ids = state.object_ids
        frames = state.frames
        outputs = state.raw["output_dict_per_obj"].values()
        prompted_for_all = frozenset(
            t for t in state.prompted_indices if all(t in out["cond_frame_outputs"] for out in outputs)
        )
        frames.prefetch(order, skip=prompted_for_all)
        steps = self.predictor.track(
            state.raw,
            order,
            reverse=reverse,
            release=self.options.release_memory,
            batch_objects=self.options.batch_objects,
        )
        try:
            while True:
                t0 = time.perf_counter()
                with self._autocast(), torch.inference_mode():
                    try:
                        index, logits, scores = next(steps)
                    except StopIteration:
                        return
                    logits = logits.to("cpu")
                    scores = scores.to("cpu")
                stats.track_s += time.perf_counter() - t0
                stats.encoder_forwards = frames.encoder_forwards
                stats.encoder_batches = frames.encoder_batches
                stats.features_loaded = frames.features_loaded
                self._cursor = position = position + 1
                stats.max_held_outputs = max(stats.max_held_outputs, state.held_outputs())
                stats.max_held_frames = max(stats.max_held_frames, frames.max_held_frames)
                if discard > 0:
                    discard -= 1
                    stats.replayed += 1
                    continue
                stats.frames += 1
                if stats.frames % 16 == 1:
                    stats.max_held_bytes = max(stats.max_held_bytes, state.held_bytes())
                where = frames.locate(index)
                yield TrackedFrame(
                    index=index,
                    camera=where.camera,
                    frame=where.frame,
                    time=where.time,
                    resolution_wh=frames.resolution_wh(where.camera),
                    logits=logits,
                    scores=scores,
                    object_ids=object_ids,
                )
        finally:
            frames.stop_prefetch()

    # -- snapshots (resume) ------------------------------------------------------------------------
    def save_snapshot(self, path: str | Path) -> int:
        """Save the tracking state between two yielded frames; returns its position in the tracking order.

        Call it while :meth:`track_frames` is suspended (after a frame was yielded). The file
        holds every object's outputs within SAM 2's memory window (bounded, whatever the
        game's length); ``resume=ResumePoint(done, path)`` continues from it.
        """
        state = self._state
        if state is None:
            raise ModelError("no tracking in progress: save_snapshot works between the frames of track_frames")
        data = {
            "format": 1,
            "position": self._cursor,
            "pass": self._pass,
            "sequence_frames": state.num_frames,
            "object_ids": list(state.object_ids),
            "outputs": self.predictor.snapshot_outputs(state.raw),
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            torch.save(data, tmp)
        return self._cursor

    @staticmethod
    def _read_snapshot(path: Path | None, layout: SequenceLayout, state: TrackingState) -> dict | None:
        if path is None or not Path(path).is_file():
            return None
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises pickle, zip and runtime errors alike
            raise ModelError(
                f"cannot read the resume snapshot {path}: {exc}; delete it to resume "
                f"by tracking the interrupted direction again"
            ) from None
        if data.get("sequence_frames") != len(layout) or list(data.get("object_ids", [])) != list(state.object_ids):
            raise ModelError(
                f"the resume snapshot {path} belongs to another game or other prompts "
                f"({data.get('sequence_frames')} frames, objects {data.get('object_ids')}); "
                f"delete it or start a new run"
            )
        return data


def masks_at_resolution(
    camera: str,
    frame: int,
    time_s: float,
    resolution_wh: tuple[int, int],
    logits: torch.Tensor,
    scores: torch.Tensor,
    object_ids: Sequence[int],
) -> FrameMasks:
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
        up = F.interpolate(logits[k : k + 1].float(), size=(h, w), mode="bilinear", align_corners=False)
        mask = (up[0, 0] > 0).cpu().numpy()
        if mask.any():
            objects.append(ObjectMask.from_mask(int(oid), mask, score=float(scores[k])))
    objects.sort(key=lambda o: o.object_id)
    return FrameMasks(
        camera=camera, frame=int(frame), time=float(time_s), resolution_wh=(int(w), int(h)), objects=tuple(objects)
    )
