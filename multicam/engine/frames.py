"""The lazy frame source SAM 2 reads as ``inference_state["images"]``.

SAM 2's video predictor only ever does ``len(images)`` and ``images[i]`` (a normalised
``3 x S x S`` float tensor), so the frames of every camera are decoded on demand from
their clips (:class:`multicam.clips.Clip`, bounded cache) instead of being written to
JPEG folders or loaded all at once.

While the model works on a frame, a :class:`Prefetcher` thread prepares the next ones of
the tracking order: each is decoded and converted once, or, when the feature cache
(:mod:`multicam.engine.features`) has it, its image features are read from disk instead
(the frame is then not decoded at all).
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from multicam.clips import Clip
from multicam.engine.features import FeatureStore
from multicam.layout import SequenceFrame, SequenceLayout

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_model_input(rgb: np.ndarray, image_size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """An RGB ``(H, W, 3)`` uint8 frame as SAM 2's input ``(3, S, S)`` float32.

    The same steps as sam2's own frame loader: resize to ``S x S`` with PIL's bicubic
    filter, scale to [0, 1], normalise with the ImageNet mean and std.
    """
    return normalize(resized_frame(rgb, image_size).to(device))


def resized_frame(rgb: np.ndarray, image_size: int, *, pin: bool = False) -> torch.Tensor:
    """An RGB ``(H, W, 3)`` uint8 frame resized to ``S x S`` (PIL bicubic), as a ``(3, S, S)`` uint8 CPU tensor.

    The tensor is a channels-last view (pixels stored ``S x S x 3``), as every model input
    of multicam: a frame's features are bit-identical only for the same memory layout.
    ``pin``: in page-locked memory (CUDA), for copies to the GPU that do not block.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB (H, W, 3) uint8 frame, got {rgb.shape} {rgb.dtype}")
    resized = np.asarray(Image.fromarray(rgb).resize((image_size, image_size), Image.Resampling.BICUBIC))
    hwc = torch.from_numpy(resized.copy())
    return (hwc.pin_memory() if pin else hwc).permute(2, 0, 1)


def normalize(image: torch.Tensor) -> torch.Tensor:
    """A ``(3, S, S)`` uint8 image as float32 model input, on its device (scale, ImageNet mean and std).

    Element-wise, correctly rounded operations: the same values on the CPU and on a GPU.
    """
    img = image.float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32, device=img.device)[:, None, None]
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32, device=img.device)[:, None, None]
    return img.sub_(mean).div_(std)


def upload(image: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A prepared frame on the compute device as float32 model input.

    A uint8 frame (prepared for an accelerator, pinned on CUDA) is copied without blocking
    (a quarter of the bytes of float32) and normalised there; a float32 one is moved as is.
    """
    if image.dtype == torch.uint8:
        return normalize(image.to(device, non_blocking=image.is_pinned()))
    return image.to(device).float()


@dataclass
class FrameItem:
    """One sequence frame ready for the model: its model input, or its cached image features.

    Attributes:
        index: sequence index.
        image: ``(3, S, S)`` float32 model input, or None when ``fpn`` is set.
        fpn: the image encoder's three feature maps ``(1, C, H, W)`` read from the feature cache
            (or computed in a batch with an earlier frame, then with ``pos``).
        pos: their position encodings, when computed in a batch.
        error: an error raised while preparing it (raised again where it is taken).
    """

    index: int
    image: torch.Tensor | None = None
    fpn: list[torch.Tensor] | None = None
    error: BaseException | None = None
    pos: list[torch.Tensor] | None = None


class Prefetcher:
    """Prepares the next frames of a tracking order on a background thread.

    Each item is either the frame's cached image features (when the feature cache has it)
    or its model input (decoded and converted once). At most ``depth`` items wait.

    Args:
        load: ``index -> FrameItem`` (runs on the thread).
        order: the sequence indices the model will ask for, in order (a ``range`` is best).
        depth: most items prepared ahead.
        skip: indices of the order the model will not ask for (frames prompted for every object).
    """

    def __init__(
        self, load: Callable[[int], FrameItem], order: Sequence[int], depth: int = 4, skip: frozenset[int] = frozenset()
    ):
        self._load = load
        self._order = order  # a range stays a range: no per-frame memory
        self._skip = skip
        self._queue: queue.Queue = queue.Queue(maxsize=max(int(depth), 1))
        self._next = 0  # position in the order of the next item the consumer may take
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="multicam-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for index in self._order:
            if self._stop.is_set():
                return
            if index in self._skip:
                continue
            try:
                item = self._load(index)
            except BaseException as exc:  # handed to the consumer, raised there
                item = FrameItem(index=index, error=exc)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue

    def take_following(self, n: int) -> list[FrameItem]:
        """Up to ``n`` more items, the next ones of the order after the last one taken (waits for them)."""
        items: list[FrameItem] = []
        while len(items) < n:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                if self._thread.is_alive():
                    continue
                break
            self._next = self._order.index(item.index) + 1
            items.append(item)
        return items

    def take(self, index: int) -> FrameItem | None:
        """The prepared item of ``index``, or None when ``index`` is not (or no longer) ahead in the order."""
        if index not in self._order or index in self._skip or self._order.index(index) < self._next:
            return None
        while True:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                if self._thread.is_alive():
                    continue
                return None
            self._next = self._order.index(item.index) + 1
            if item.index == index:
                if item.error is not None:
                    raise item.error
                return item
            # an index the consumer skipped: drop it

    @property
    def waiting(self) -> int:
        """Items prepared and not taken yet."""
        return self._queue.qsize()

    def close(self) -> None:
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=5)


class FrameSource:
    """Every camera's frames, in layout order, as SAM 2 model inputs, decoded on demand.

    Args:
        layout: the sequence layout.
        clips: per camera name, its lazy clip (its ``cache_size`` bounds the decoded frames kept).
        image_size: the model's input size S.
        device: where the tensors are made.
        tensor_cache: how many converted tensors to keep (SAM 2 asks for a prompted frame again).
        features: the feature cache bound to this model and game, or None.
        prefetch: frames prepared ahead on a thread during :meth:`prefetch` (0: none).
        encoder_batch: frames of the prefetched order that go through the image encoder in
            one forward pass (1: one by one). In the interleave layout consecutive sequence
            frames are the cameras' frames at one game time.

    Attributes:
        conversions: number of frames converted to model input so far.
        max_held_frames: most decoded frames plus tensors held at once so far.
        encoder_forwards: frames whose image features the model computed.
        features_loaded: frames whose image features came from the feature cache.
    """

    def __init__(
        self,
        layout: SequenceLayout,
        clips: Mapping[str, Clip],
        image_size: int,
        *,
        device: torch.device | str = "cpu",
        tensor_cache: int = 2,
        features: FeatureStore | None = None,
        prefetch: int = 0,
        encoder_batch: int = 1,
    ):
        missing = [n for n in layout.camera_names if n not in clips]
        if missing:
            raise ValueError(f"no clip for camera(s) {missing}")
        self.layout = layout
        self.clips = dict(clips)
        self.image_size = int(image_size)
        self.device = torch.device(device)
        self.tensor_cache = max(int(tensor_cache), 1)
        self.features = features
        self.prefetch_depth = max(int(prefetch), 0)
        self.encoder_batch = max(int(encoder_batch), 1)
        # On an accelerator, frames are prepared on the host as uint8 (pinned on CUDA: the
        # copy to the GPU then overlaps the model's work) and normalised on the device.
        self.host_uint8 = self.device.type != "cpu"
        self.pin = self.device.type == "cuda" and torch.cuda.is_available()
        self._ready: dict[int, FrameItem] = {}  # encoded (or read) with an earlier frame of its batch
        self._tensors: OrderedDict[int, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()
        self._prefetcher: Prefetcher | None = None
        self.conversions = 0
        self.max_held_frames = 0
        self.encoder_forwards = 0
        self.encoder_batches = 0
        self.features_loaded = 0

    def __len__(self) -> int:
        return len(self.layout)

    def __getitem__(self, index: int) -> torch.Tensor:
        index = int(index)
        with self._lock:
            cached = self._tensors.get(index)
            if cached is not None:
                self._tensors.move_to_end(index)
                return cached
        where = self.layout[index]
        rgb = self.clips[where.camera].frame(where.frame)
        tensor = to_model_input(rgb, self.image_size, self.device)
        with self._lock:
            self.conversions += 1
            self._tensors[index] = tensor
            while len(self._tensors) > self.tensor_cache:
                self._tensors.popitem(last=False)
        self.max_held_frames = max(self.max_held_frames, self.held_frames)
        return tensor

    # -- model input or cached features ----------------------------------------------------------
    def _prepare(self, index: int) -> FrameItem:
        """A frame's cached features when the feature cache has them, else its model input."""
        if self.features is not None:
            where = self.layout[index]
            fpn = self.features.load(where.camera, where.frame, self.device)
            if fpn is not None:
                return FrameItem(index=index, fpn=fpn)
        if self.host_uint8:
            where = self.layout[index]
            image = resized_frame(self.clips[where.camera].frame(where.frame), self.image_size, pin=self.pin)
            with self._lock:
                self.conversions += 1
            return FrameItem(index=index, image=image)
        return FrameItem(index=index, image=self[index])

    def prefetch(self, order: Sequence[int], skip: frozenset[int] = frozenset()) -> None:
        """Prepare the frames of ``order`` (but ``skip``) ahead on a thread (replaces any earlier order)."""
        self.stop_prefetch()
        if self.prefetch_depth > 0 and len(order) > 0:
            self._prefetcher = Prefetcher(self._prepare, order, self.prefetch_depth, skip)

    def stop_prefetch(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.close()
            self._prefetcher = None
        self._ready.clear()

    def image_features(
        self,
        index: int,
        forward_image: Callable[[torch.Tensor], dict],
        device: torch.device,
        forward_batch: Callable[[torch.Tensor], list[dict]] | None = None,
    ) -> tuple[torch.Tensor | None, dict]:
        """``(model input or None, backbone_out)`` of a frame, as SAM 2's ``_get_image_feature`` needs.

        Reads the features from the feature cache when it has them; otherwise runs
        ``forward_image`` on the frame's model input and stores the result in the cache.
        """
        item = self._ready.pop(index, None)
        if item is None and self._prefetcher is not None:
            item = self._prefetcher.take(index)
            if item is not None and item.image is not None and self.encoder_batch > 1 and forward_batch is not None:
                return self._encode_batch(item, forward_batch, device)
        if item is None:
            item = self._prepare(index)
        if item.error is not None:
            raise item.error
        if item.fpn is not None and item.pos is not None:  # encoded in a batch with an earlier frame
            return None, {"backbone_fpn": item.fpn, "vision_pos_enc": item.pos}
        if item.fpn is not None:
            pos = self.features.pos_enc(device) if self.features is not None else None
            if pos is not None:
                self.features_loaded += 1
                return None, {"backbone_fpn": item.fpn, "vision_pos_enc": pos}
            item = FrameItem(index=index, image=self[index])  # no position encodings stored: compute
        image = upload(item.image, device).unsqueeze(0)
        backbone_out = forward_image(image)
        self.encoder_forwards += 1
        self.encoder_batches += 1
        self._store(index, backbone_out)
        return image, backbone_out

    def _store(self, index: int, backbone_out: dict) -> None:
        if self.features is not None:
            where = self.layout[index]
            self.features.store(where.camera, where.frame, backbone_out)

    def _encode_batch(
        self, first: FrameItem, forward_batch: Callable[[torch.Tensor], list[dict]], device: torch.device
    ) -> tuple[None, dict]:
        """``first`` and the next frames of the order that need the encoder, in ONE forward pass.

        The other frames' features wait in ``_ready`` until the model asks for them (the
        frames read from the feature cache among them too). ``forward_batch`` gives each
        frame's own features (:meth:`MulticamVideoPredictor.forward_image_batch
        <multicam.engine.predictor._MulticamMixin.forward_image_batch>`).
        """
        batch = [first]
        for item in self._prefetcher.take_following(self.encoder_batch - 1):
            if item.image is not None and item.error is None:
                batch.append(item)
            else:
                self._ready[item.index] = item
        # (N, 3, S, S) channels-last, the layout of a single frame's input (unsqueezed)
        images = torch.stack([upload(item.image, device).permute(1, 2, 0) for item in batch]).permute(0, 3, 1, 2)
        outs = forward_batch(images)
        self.encoder_forwards += len(batch)
        self.encoder_batches += 1
        first_out = None
        for item, backbone_out in zip(batch, outs):
            self._store(item.index, backbone_out)
            if first_out is None:
                first_out = backbone_out
            else:
                self._ready[item.index] = FrameItem(
                    index=item.index, fpn=backbone_out["backbone_fpn"], pos=backbone_out["vision_pos_enc"]
                )
        return None, first_out

    # -- layout ------------------------------------------------------------------------------------
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
        """Decoded frames in the clips' caches, converted tensors and prefetched frames, right now."""
        waiting = self._prefetcher.waiting if self._prefetcher is not None else 0
        return sum(c.cached_frames for c in self.clips.values()) + len(self._tensors) + waiting

    @property
    def held_frames_bound(self) -> int:
        """The most frames this source can ever hold at once."""
        return sum(c.cache_size for c in self.clips.values()) + self.tensor_cache + self.prefetch_depth

    def close(self) -> None:
        self.stop_prefetch()
        if self.features is not None:
            self.features.close()  # pending cache writes finish before the run's figures are read
        with self._lock:
            self._tensors.clear()
        for clip in self.clips.values():
            clip.close()
