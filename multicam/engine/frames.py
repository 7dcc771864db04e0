"""The lazy frame source SAM 2 reads as ``inference_state["images"]``.

SAM 2's video predictor only ever does ``len(images)`` and ``images[i]`` (a normalised
``3 x S x S`` float tensor), so the frames of every camera are decoded on demand from
their clips (:class:`multicam.clips.Clip`, bounded cache) instead of being written to
JPEG folders or loaded all at once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
import torch
from PIL import Image

from multicam.clips import Clip
from multicam.layout import SequenceFrame, SequenceLayout

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_model_input(rgb: np.ndarray, image_size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """An RGB ``(H, W, 3)`` uint8 frame as SAM 2's input ``(3, S, S)`` float32.

    The same steps as sam2's own frame loader: resize to ``S x S`` with PIL's bicubic
    filter, scale to [0, 1], normalise with the ImageNet mean and std.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB (H, W, 3) uint8 frame, got {rgb.shape} {rgb.dtype}")
    resized = np.asarray(Image.fromarray(rgb).resize((image_size, image_size), Image.Resampling.BICUBIC))
    img = torch.from_numpy(resized.copy()).to(device).permute(2, 0, 1).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32, device=img.device)[:, None, None]
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32, device=img.device)[:, None, None]
    return img.sub_(mean).div_(std)


class FrameSource:
    """Every camera's frames, in layout order, as SAM 2 model inputs, decoded on demand.

    Args:
        layout: the sequence layout.
        clips: per camera name, its lazy clip (its ``cache_size`` bounds the decoded frames kept).
        image_size: the model's input size S.
        device: where the tensors are made.
        tensor_cache: how many converted tensors to keep (SAM 2 asks for a prompted frame again).

    Attributes:
        conversions: number of frames converted to model input so far.
        max_held_frames: most decoded frames plus tensors held at once so far.
    """

    def __init__(self, layout: SequenceLayout, clips: Mapping[str, Clip], image_size: int, *,
                 device: torch.device | str = "cpu", tensor_cache: int = 2):
        missing = [n for n in layout.camera_names if n not in clips]
        if missing:
            raise ValueError(f"no clip for camera(s) {missing}")
        self.layout = layout
        self.clips = dict(clips)
        self.image_size = int(image_size)
        self.device = torch.device(device)
        self.tensor_cache = max(int(tensor_cache), 1)
        self._tensors: OrderedDict[int, torch.Tensor] = OrderedDict()
        self.conversions = 0
        self.max_held_frames = 0

    def __len__(self) -> int:
        return len(self.layout)

    def __getitem__(self, index: int) -> torch.Tensor:
        index = int(index)
        cached = self._tensors.get(index)
        if cached is not None:
            self._tensors.move_to_end(index)
            return cached
        where = self.layout[index]
        rgb = self.clips[where.camera].frame(where.frame)
        tensor = to_model_input(rgb, self.image_size, self.device)
        self.conversions += 1
        self._tensors[index] = tensor
        while len(self._tensors) > self.tensor_cache:
            self._tensors.popitem(last=False)
        self.max_held_frames = max(self.max_held_frames, self.held_frames)
        return tensor

    def locate(self, index: int) -> SequenceFrame:
        """``(camera, local frame, time)`` of a sequence index."""
        return self.layout[index]

    def index_of(self, camera: str, frame: int) -> int:
        """The sequence index of a camera's local frame."""
        return self.layout.index_of(camera, frame)

    def resolution_wh(self, camera: str) -> tuple[int, int]:
        return self.clips[camera].info.resolution_wh

    @property
    def held_frames(self) -> int:
        """Decoded frames in the clips' caches plus converted tensors, right now."""
        return sum(c.cached_frames for c in self.clips.values()) + len(self._tensors)

    @property
    def held_frames_bound(self) -> int:
        """The most frames this source can ever hold at once."""
        return sum(c.cache_size for c in self.clips.values()) + self.tensor_cache

    def close(self) -> None:
        self._tensors.clear()
        for clip in self.clips.values():
            clip.close()
