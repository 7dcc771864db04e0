"""SAM 2's video predictor with per-camera memory, bounded state and streamed outputs.

:class:`MulticamVideoPredictor` is ``sam2.sam2_video_predictor.SAM2VideoPredictor`` with:

* per-camera memory (:class:`CameraMemory`): for the ``interleave`` layout, the memory
  bank SAM 2 attends to for camera c's frame is re-keyed onto camera c's own frame axis:
  its non-conditioning memories (the previous ``num_maskmem - 1`` frames and the object
  pointers) are camera c's previous frames, never other cameras' frames that happen to
  sit before it in the sequence; the prompted (conditioning) frames of every camera stay
  visible, placed at their game time on camera c's axis. SAM 2's own selection code
  (``_prepare_memory_conditioned_features``) runs unchanged on that view.
* :meth:`MulticamVideoPredictor.track`: propagation that yields each frame's low-res
  mask logits and object scores, without a progress bar of its own, and releases
  per-frame outputs once they are older than SAM 2's memory window (the masks stay
  identical; prompted frames are always kept); optionally all objects that share their
  prompted frames in one batch per frame (``batch_objects``).
* image features read through the frame source (:meth:`FrameSource.image_features
  <multicam.engine.frames.FrameSource.image_features>`): prefetched, or from the feature cache.
* :meth:`~_MulticamMixin.snapshot_outputs` / :meth:`~_MulticamMixin.restore_outputs`: the
  tracked memory window as a compact copy, to resume an interrupted run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import torch

from multicam.engine.build import import_sam2
from multicam.layout import SequenceLayout

import_sam2()

from sam2.sam2_video_predictor import SAM2VideoPredictor, SAM2VideoPredictorVOS  # noqa: E402

OutputDict = dict[str, dict]


class CameraMemory:
    """Which memories a sequence frame may use: the same camera's, on that camera's frame axis.

    Args:
        layout: the sequence layout (its cameras, and each sequence frame's camera and local frame).
    """

    def __init__(self, layout: SequenceLayout):
        self.layout = layout
        self.camera_ids = np.asarray(layout.camera_ids)
        self.frames = np.asarray(layout.frames)
        self.frame_counts = tuple(int(c.frame_count) for c in layout.cameras)

    def camera_and_frame(self, index: int) -> tuple[int, int]:
        """``(camera rank, local frame)`` of a sequence index."""
        return int(self.camera_ids[index]), int(self.frames[index])

    def sequence_index(self, rank: int, frame: int) -> int | None:
        """The sequence index of camera ``rank``'s local frame, or None outside its clip."""
        if not 0 <= frame < self.frame_counts[rank]:
            return None
        return int(self.layout.indices_of(self.layout.cameras[rank].name)[frame])

    def view(self, index: int, output_dict: OutputDict) -> tuple[int, OutputDict, int]:
        """SAM 2's per-object memory bank as seen from sequence frame ``index``.

        Returns:
            ``(local frame, output dict keyed by camera-local positions, camera's frame count)``,
            to pass to SAM 2 in place of ``(frame_idx, output_dict, num_frames)``.
        """
        rank, local = self.camera_and_frame(index)
        non_cond = {
            int(self.frames[t]): out
            for t, out in output_dict["non_cond_frame_outputs"].items()
            if self.camera_ids[t] == rank
        }
        cond: dict[float, dict] = {}
        others = []
        for t, out in output_dict["cond_frame_outputs"].items():
            if self.camera_ids[t] == rank:
                cond[int(self.frames[t])] = out
            else:
                others.append((t, out))
        for t, out in others:
            key = self.layout.position_on(t, rank)
            while key in cond:  # two prompted frames at one moment: keep both
                key += 1e-6
            cond[key] = out
        return local, {"cond_frame_outputs": cond, "non_cond_frame_outputs": non_cond}, self.frame_counts[rank]


def _memory_in_compute_dtype(module, args, kwargs):
    """Cast the memory bank to the current frame's dtype when autocast is off."""
    memory, curr = kwargs.get("memory"), kwargs.get("curr")
    if memory is None or curr is None or torch.is_autocast_enabled(memory.device.type):
        return None
    dtype = curr[0].dtype if isinstance(curr, (list, tuple)) else curr.dtype
    if memory.dtype == dtype:
        return None
    return args, {**kwargs, "memory": memory.to(dtype)}


class _MulticamMixin:
    """What multicam adds to SAM 2's video predictor (see the module docstring)."""

    camera_memory: CameraMemory | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # SAM 2 stores mask memories in bfloat16. Under autocast that is fine; in float32 a frame
        # whose memory holds no object pointer (its object is prompted on a later frame, or on
        # another camera at a later time) would hand bfloat16-only memory to float32 layers.
        self.memory_attention.register_forward_pre_hook(_memory_in_compute_dtype, with_kwargs=True)

    # -- memory selection ---------------------------------------------------------------------
    def _prepare_memory_conditioned_features(
        self,
        frame_idx,
        is_init_cond_frame,
        current_vision_feats,
        current_vision_pos_embeds,
        feat_sizes,
        output_dict,
        num_frames,
        track_in_reverse=False,
    ):
        memory = self.camera_memory
        if memory is not None and not is_init_cond_frame:
            frame_idx, output_dict, num_frames = memory.view(frame_idx, output_dict)
        return super()._prepare_memory_conditioned_features(  # type: ignore[misc]
            frame_idx,
            is_init_cond_frame,
            current_vision_feats,
            current_vision_pos_embeds,
            feat_sizes,
            output_dict,
            num_frames,
            track_in_reverse,
        )

    # -- memory window --------------------------------------------------------------------------
    @property
    def mask_memory_reach(self) -> int:
        """How many frames back (same camera) a frame's mask memories can reach."""
        stride = max(int(self.memory_temporal_stride_for_eval), 1)  # type: ignore[attr-defined]
        return 1 + max(int(self.num_maskmem) - 2, 0) * stride  # type: ignore[attr-defined]

    @property
    def pointer_memory_reach(self) -> int:
        """How many frames back (same camera) a frame's object pointers can reach."""
        if not self.use_obj_ptrs_in_encoder:  # type: ignore[attr-defined]
            return 0
        return max(int(self.max_obj_ptrs_in_encoder) - 1, 0)  # type: ignore[attr-defined]

    def _older(self, index: int, distance: int, reverse: bool) -> int | None:
        """The sequence index ``distance`` frames before ``index`` (tracking order, same memory group)."""
        step = distance if reverse else -distance
        if self.camera_memory is None:
            older = index + step
            return older if older >= 0 else None
        rank, local = self.camera_memory.camera_and_frame(index)
        return self.camera_memory.sequence_index(rank, local + step)

    def _release_old_outputs(self, output_dict: OutputDict, index: int, reverse: bool) -> None:
        """Drop outputs the next frames cannot attend to; keep only object pointers where that suffices."""
        mask_reach, ptr_reach = self.mask_memory_reach, self.pointer_memory_reach
        non_cond = output_dict["non_cond_frame_outputs"]
        drop = self._older(index, max(mask_reach, ptr_reach), reverse)
        if drop is not None:
            non_cond.pop(drop, None)
        if ptr_reach > mask_reach:
            strip = self._older(index, mask_reach, reverse)
            out = non_cond.get(strip) if strip is not None else None
            if out is not None and out.get("maskmem_features") is not None:
                non_cond[strip] = {**out, "maskmem_features": None, "maskmem_pos_enc": None, "pred_masks": None}

    # -- image features ---------------------------------------------------------------------------
    def _get_image_feature(self, inference_state, frame_idx, batch_size):
        """SAM 2's ``_get_image_feature``, reading the frame (or its cached features) through the frame source.

        With a :class:`~multicam.engine.frames.FrameSource` as ``images``, the features come
        from the source: prefetched from the feature cache, or computed here from the
        prefetched model input (and then stored in the cache). The most recent frame's
        features are kept in ``cached_features`` as SAM 2 does, so every object of a frame
        shares one encoder pass.
        """
        image, backbone_out = inference_state["cached_features"].get(frame_idx, (None, None))
        if backbone_out is None:
            source = inference_state["images"]
            device = inference_state["device"]
            if hasattr(source, "image_features"):
                image, backbone_out = source.image_features(
                    frame_idx, self.forward_image, device, forward_batch=self.forward_image_batch
                )
            else:
                image = source[frame_idx].to(device).float().unsqueeze(0)
                backbone_out = self.forward_image(image)
            inference_state["cached_features"] = {frame_idx: (image, backbone_out)}
        expanded_backbone_out = {
            "backbone_fpn": [feat.expand(batch_size, -1, -1, -1) for feat in backbone_out["backbone_fpn"]],
            "vision_pos_enc": [pos.expand(batch_size, -1, -1, -1) for pos in backbone_out["vision_pos_enc"]],
        }
        features = self._prepare_backbone_features(expanded_backbone_out)  # type: ignore[attr-defined]
        expanded_image = None if image is None else image.expand(batch_size, -1, -1, -1)
        return (expanded_image,) + features

    def forward_image_batch(self, images: torch.Tensor) -> list[dict]:
        """Each frame's ``forward_image`` output for a batch of frames: the trunk in ONE pass.

        The Hiera trunk (nearly all of the encoder's work) runs on the whole batch; the FPN
        neck and the mask decoder's two projections (1x1 convolutions, cheap) run frame by
        frame. On the CPU the trunk gives each frame bit-identical outputs whatever the
        batch, while the neck's convolutions pick shape-dependent kernels on small maps (a
        whole-batch ``forward_image`` differs by ~1e-6 at 64 and 128 px), so this split gives
        exactly the features of one-frame passes (checked in the tests). A compiled encoder
        runs ``forward_image`` on the batch (one compiled graph) and is sliced.
        """
        n = images.shape[0]
        if getattr(self, "compile_image_encoder", False):
            out = self.forward_image(images)  # type: ignore[attr-defined]
            return [
                {key: [t[k : k + 1] for t in out[key]] for key in ("backbone_fpn", "vision_pos_enc")} for k in range(n)
            ]
        encoder = self.image_encoder  # type: ignore[attr-defined]
        trunk_out = encoder.trunk(images)
        outs = []
        for k in range(n):
            features, pos = encoder.neck([x[k : k + 1] for x in trunk_out])
            if encoder.scalp > 0:
                features, pos = features[: -encoder.scalp], pos[: -encoder.scalp]
            if self.use_high_res_features_in_sam:  # type: ignore[attr-defined]
                features[0] = self.sam_mask_decoder.conv_s0(features[0])  # type: ignore[attr-defined]
                features[1] = self.sam_mask_decoder.conv_s1(features[1])  # type: ignore[attr-defined]
            outs.append({"backbone_fpn": features, "vision_pos_enc": pos})
        return outs

    # -- object groups (batched tracking) -------------------------------------------------------
    @staticmethod
    def object_groups(inference_state: dict, batch: bool) -> list[list[int]]:
        """Object indices tracked together: objects with the same prompted frames (one by one if not ``batch``)."""
        n = len(inference_state["obj_ids"])
        if not batch:
            return [[i] for i in range(n)]
        groups: dict[tuple[int, ...], list[int]] = {}
        for i in range(n):
            key = tuple(sorted(inference_state["output_dict_per_obj"][i]["cond_frame_outputs"]))
            groups.setdefault(key, []).append(i)
        return list(groups.values())

    # -- propagation ----------------------------------------------------------------------------
    @torch.inference_mode()
    def track(
        self,
        inference_state: dict,
        order: Iterable[int],
        *,
        reverse: bool = False,
        release: bool = True,
        batch_objects: bool = False,
    ) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
        """Track every object over ``order`` (sequence indices, in tracking order).

        Call :meth:`propagate_in_video_preflight` once before. Prompted frames give their
        prompted output; every other frame is tracked from memory.

        Args:
            batch_objects: run the objects that share their prompted frames as one batch
                (memory attention, mask decoder and memory encoder once per frame instead of
                once per object). SAM 2 tracks each object separately; a batch gives the same
                masks up to floating-point summation order.

        Yields:
            ``(index, mask_logits, object_scores)``: ``(N_obj, 1, S/4, S/4)`` float32 low-res
            mask logits on the compute device and ``(N_obj,)`` object score logits, objects
            in the state's order.
        """
        batch_size = self._get_obj_num(inference_state)  # type: ignore[attr-defined]
        device = inference_state["device"]
        per_obj = inference_state["output_dict_per_obj"]
        groups = [
            _Group(inference_state, members) if len(members) > 1 else members
            for members in self.object_groups(inference_state, batch_objects)
        ]
        for frame_idx in order:
            masks: list = [None] * batch_size
            scores: list = [None] * batch_size
            for group in groups:
                if isinstance(group, _Group):
                    self._track_group(inference_state, group, frame_idx, reverse, release, masks, scores)
                    continue
                obj_idx = group[0]
                obj_output_dict = per_obj[obj_idx]
                out = obj_output_dict["cond_frame_outputs"].get(frame_idx)
                if out is not None:
                    pred_masks = out["pred_masks"].to(device, non_blocking=True)
                else:
                    out, pred_masks = self._run_single_frame_inference(  # type: ignore[attr-defined]
                        inference_state=inference_state,
                        output_dict=obj_output_dict,
                        frame_idx=frame_idx,
                        batch_size=1,
                        is_init_cond_frame=False,
                        point_inputs=None,
                        mask_inputs=None,
                        reverse=reverse,
                        run_mem_encoder=True,
                    )
                    obj_output_dict["non_cond_frame_outputs"][frame_idx] = out
                if release:
                    self._release_old_outputs(obj_output_dict, frame_idx, reverse)
                masks[obj_idx] = pred_masks
                scores[obj_idx] = out["object_score_logits"].reshape(-1).float()
            yield frame_idx, torch.cat(masks, dim=0).float(), torch.cat(scores, dim=0)

    def _track_group(
        self,
        inference_state: dict,
        group: _Group,
        frame_idx: int,
        reverse: bool,
        release: bool,
        masks: list,
        scores: list,
    ) -> None:
        """One frame of a batch of objects; their outputs are split back to each object's memory."""
        device = inference_state["device"]
        n = len(group.members)
        out = group.output_dict["cond_frame_outputs"].get(frame_idx)
        if out is not None:
            pred_masks = out["pred_masks"].to(device, non_blocking=True)
        else:
            out, pred_masks = self._run_single_frame_inference(  # type: ignore[attr-defined]
                inference_state=inference_state,
                output_dict=group.output_dict,
                frame_idx=frame_idx,
                batch_size=n,
                is_init_cond_frame=False,
                point_inputs=None,
                mask_inputs=None,
                reverse=reverse,
                run_mem_encoder=True,
            )
            group.output_dict["non_cond_frame_outputs"][frame_idx] = out
            for k, obj_idx in enumerate(group.members):
                per_obj = inference_state["output_dict_per_obj"][obj_idx]
                per_obj["non_cond_frame_outputs"][frame_idx] = _split_output(out, k)
        if release:
            for obj_idx in group.members:
                self._release_old_outputs(inference_state["output_dict_per_obj"][obj_idx], frame_idx, reverse)
            self._release_old_outputs(group.output_dict, frame_idx, reverse)
        score = out["object_score_logits"].reshape(n, -1).float()
        for k, obj_idx in enumerate(group.members):
            masks[obj_idx] = pred_masks[k : k + 1]
            scores[obj_idx] = score[k].reshape(-1)

    # -- state snapshots (resume) -----------------------------------------------------------------
    @staticmethod
    def snapshot_outputs(inference_state: dict) -> dict[int, dict[int, dict]]:
        """Every object's tracked outputs held now, as compact CPU copies: ``{object id: {index: output}}``."""
        saved: dict[int, dict[int, dict]] = {}
        for obj_idx, obj_output_dict in inference_state["output_dict_per_obj"].items():
            frames = {}
            for t, out in obj_output_dict["non_cond_frame_outputs"].items():
                frames[int(t)] = {
                    key: None if value is None else value.detach().to("cpu").clone()
                    for key, value in out.items()
                    if key != "maskmem_pos_enc"
                }
            saved[int(inference_state["obj_idx_to_id"][obj_idx])] = frames
        return saved

    @staticmethod
    def restore_outputs(inference_state: dict, saved: dict[int, dict[int, dict]]) -> None:
        """Put :meth:`snapshot_outputs` back into a state prompted the same way (replaces its tracked outputs)."""
        storage, device = inference_state["storage_device"], inference_state["device"]
        pos = inference_state["constants"].get("maskmem_pos_enc")
        where = {"maskmem_features": storage, "pred_masks": storage, "obj_ptr": device, "object_score_logits": device}
        for obj_id, frames in saved.items():
            obj_idx = inference_state["obj_id_to_idx"][int(obj_id)]
            non_cond = inference_state["output_dict_per_obj"][obj_idx]["non_cond_frame_outputs"]
            non_cond.clear()
            for t, out in frames.items():
                restored = {
                    key: None if value is None else value.to(where.get(key, device)) for key, value in out.items()
                }
                has_memory = restored.get("maskmem_features") is not None and pos is not None
                restored["maskmem_pos_enc"] = [x.expand(1, -1, -1, -1) for x in pos] if has_memory else None
                non_cond[int(t)] = restored

    def clear_tracked_outputs(self, inference_state: dict) -> None:
        """Forget every tracked (non-prompted) frame's output; prompted frames stay."""
        for obj_output_dict in inference_state["output_dict_per_obj"].values():
            obj_output_dict["non_cond_frame_outputs"].clear()
        inference_state["cached_features"] = {}


def _concat_outputs(outs: list[dict]) -> dict:
    """Per-object frame outputs of one frame as one batched output (objects in order)."""
    first = outs[0]
    merged = {}
    for key, value in first.items():
        if value is None:
            merged[key] = None
        elif key == "maskmem_pos_enc":
            merged[key] = [torch.cat([o[key][lvl] for o in outs], dim=0) for lvl in range(len(value))]
        else:
            merged[key] = torch.cat([o[key] for o in outs], dim=0)
    return merged


def _split_output(out: dict, k: int) -> dict:
    """Object ``k``'s slice of a batched frame output (views: no copy)."""
    part = {}
    for key, value in out.items():
        if value is None:
            part[key] = None
        elif key == "maskmem_pos_enc":
            part[key] = [v[k : k + 1] for v in value]
        else:
            part[key] = value[k : k + 1]
    return part


class _Group:
    """Objects tracked in one batch: their merged memory bank, kept in step with the per-object ones."""

    def __init__(self, inference_state: dict, members: list[int]):
        self.members = members
        dicts = [inference_state["output_dict_per_obj"][i] for i in members]
        self.output_dict = {"cond_frame_outputs": {}, "non_cond_frame_outputs": {}}
        for kind in ("cond_frame_outputs", "non_cond_frame_outputs"):
            common = set(dicts[0][kind])
            for d in dicts[1:]:
                common &= set(d[kind])
            for t in sorted(common):
                self.output_dict[kind][t] = _concat_outputs([d[kind][t] for d in dicts])


class MulticamVideoPredictor(_MulticamMixin, SAM2VideoPredictor):
    """SAM 2's video predictor with multicam's memory selection and streamed tracking."""


class MulticamVideoPredictorVOS(_MulticamMixin, SAM2VideoPredictorVOS):
    """The same on sam2's compiled (``vos_optimized``) predictor."""
