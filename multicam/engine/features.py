"""An on-disk cache of SAM 2's image-encoder outputs, so that re-runs skip the encoder.

After an analyst adds or fixes a prompt, a game is tracked again: every frame's image
features are the same as in the first run, only the memory and the masks change. The
cache keeps each frame's features on disk, keyed by

* the clip's identity: its resolved path, size and modification time;
* the frame's 0-based index in the clip;
* the model: sam2 config, checkpoint identity (SHA-256, or "random weights + seed"),
  sam2 version, whether it is compiled;
* the image size and the autocast dtype.

Layout::

    DIR/<model, size and dtype hash>/info.json        what the hash stands for
    DIR/<model, size and dtype hash>/pos_enc.pt       position encodings (the same for every frame)
    DIR/<model, size and dtype hash>/<clip hash>/<frame>.pt

Each file holds SAM 2's three feature maps (``backbone_fpn``) exactly as computed (float32,
or bfloat16 under bfloat16 autocast, with their memory layout): a cached frame gives
bit-identical masks. Sizes per
frame: 1.0 MiB at 256 px in float32, 4.2 MiB at 512, 16.8 MiB at 1024 (half that in bfloat16).

The cache has a size limit. When it is full, the least recently used files (reads touch a
file's time) of OTHER runs are removed first; files written or read by the running process
are never removed for it, so a run longer than the cache keeps its first frames rather
than cycling through all of them (in which case the cache would never hit).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch

from multicam.io import atomic_path

DEFAULT_MAX_GIB = 20.0


def clip_identity(path: str | Path) -> str:
    """A short hash of a clip file's resolved path, size and modification time."""
    p = Path(path).resolve()
    st = p.stat()
    return hashlib.sha1(f"{p}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FeatureSpace:
    """What makes two runs' features interchangeable (besides the clip and frame).

    Attributes:
        config: sam2 config name.
        weights: checkpoint identity: its SHA-256, or ``random-seed-N`` for random weights.
        image_size: model input size.
        dtype: autocast dtype name (``float32``, ``bfloat16``, ``float16``).
        compiled: whether the image encoder is compiled.
        sam2: sam2 version.
    """

    config: str
    weights: str
    image_size: int
    dtype: str
    compiled: bool
    sam2: str

    @property
    def key(self) -> str:
        text = json.dumps(self.__dict__, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass
class CacheStats:
    """Counters of one process's use of a feature cache."""

    hits: int = 0
    misses: int = 0
    stores: int = 0
    skipped_full: int = 0
    evicted: int = 0
    bytes_written: int = 0
    failed: int = 0


class FeatureCache:
    """Image features on disk with a size limit and LRU eviction (see the module docstring).

    Args:
        root: the cache folder (created when first written).
        max_bytes: size limit of the whole folder.

    Thread-safe: the frame prefetcher reads while the model thread writes.
    """

    def __init__(self, root: str | Path, max_bytes: int = int(DEFAULT_MAX_GIB * 2**30)):
        self.root = Path(root)
        self.max_bytes = int(max_bytes)
        self.stats = CacheStats()
        self._lock = threading.Lock()
        self._index: OrderedDict[Path, int] | None = None  # path -> size, least recently used first
        self._total = 0
        self._mine: set[Path] = set()  # written or read by this process: never evicted for it

    # -- paths ---------------------------------------------------------------------------------
    def frame_path(self, space: FeatureSpace, clip: str, frame: int) -> Path:
        return self.root / space.key / clip / f"{int(frame):07d}.pt"

    def _pos_path(self, space: FeatureSpace) -> Path:
        return self.root / space.key / "pos_enc.pt"

    # -- reading ---------------------------------------------------------------------------------
    def load(
        self, space: FeatureSpace, clip: str, frame: int, device: torch.device | str = "cpu"
    ) -> list[torch.Tensor] | None:
        """A frame's ``backbone_fpn`` maps ``[(1, C, H, W)] * 3``, or None when not cached."""
        path = self.frame_path(space, clip, frame)
        try:
            data = torch.load(path, map_location=device, weights_only=True)
        except (FileNotFoundError, RuntimeError, EOFError, OSError):
            with self._lock:
                self.stats.misses += 1
            return None
        with self._lock:
            self.stats.hits += 1
            self._touch(path)
        return list(data["fpn"])

    def contains(self, space: FeatureSpace, clip: str, frame: int) -> bool:
        return self.frame_path(space, clip, frame).is_file()

    def load_pos_enc(self, space: FeatureSpace, device: torch.device | str = "cpu") -> list[torch.Tensor] | None:
        try:
            return list(torch.load(self._pos_path(space), map_location=device, weights_only=True)["pos"])
        except (FileNotFoundError, RuntimeError, EOFError, OSError):
            return None

    # -- writing ---------------------------------------------------------------------------------
    def store(self, space: FeatureSpace, clip: str, frame: int, fpn: list[torch.Tensor]) -> bool:
        """Write a frame's feature maps; False when the cache is full of this run's own frames."""
        tensors = [_compact(t) for t in fpn]
        size = sum(t.untyped_storage().nbytes() for t in tensors) + 1024
        path = self.frame_path(space, clip, frame)
        with self._lock:
            self._ensure_index()
            if not self._make_room(size):
                self.stats.skipped_full += 1
                return False
        if not self._pos_path(space).is_file():
            return False  # position encodings first (store_pos_enc)
        self._write(path, {"fpn": tensors})
        size = path.stat().st_size
        with self._lock:
            old = self._index.pop(path, 0) if self._index is not None else 0
            self._total += size - old
            self._index[path] = size
            self._mine.add(path)
            self.stats.stores += 1
            self.stats.bytes_written += size
        return True

    def store_pos_enc(self, space: FeatureSpace, pos: list[torch.Tensor]) -> None:
        path = self._pos_path(space)
        if path.is_file():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        info = path.parent / "info.json"
        if not info.is_file():
            info.write_text(json.dumps(space.__dict__, indent=2) + "\n")
        self._write(path, {"pos": [_compact(t) for t in pos]})

    @staticmethod
    def _write(path: Path, data: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            torch.save(data, tmp)

    # -- size limit ------------------------------------------------------------------------------
    def size_bytes(self) -> int:
        """Bytes of cached frames (as indexed by this process)."""
        with self._lock:
            self._ensure_index()
            return self._total

    def _ensure_index(self) -> None:
        if self._index is not None:
            return
        entries = []
        if self.root.is_dir():
            for dirpath, _, files in os.walk(self.root):
                for name in files:
                    if not name.endswith(".pt") or name == "pos_enc.pt" or name.startswith("."):
                        continue
                    p = Path(dirpath) / name
                    try:
                        st = p.stat()
                    except FileNotFoundError:
                        continue
                    entries.append((st.st_mtime, p, st.st_size))
        entries.sort()
        self._index = OrderedDict((p, size) for _, p, size in entries)
        self._total = sum(size for _, _, size in entries)

    def _touch(self, path: Path) -> None:
        if self._index is not None and path in self._index:
            self._index.move_to_end(path)
        self._mine.add(path)
        with contextlib.suppress(OSError):
            os.utime(path)

    def _make_room(self, size: int) -> bool:
        if self._index is None:
            return False
        while self._total + size > self.max_bytes and self._index:
            oldest = next(iter(self._index))
            if oldest in self._mine:
                return False
            freed = self._index.pop(oldest)
            self._total -= freed
            try:
                oldest.unlink()
                self.stats.evicted += 1
            except FileNotFoundError:
                pass
        return self._total + size <= self.max_bytes


def _compact(t: torch.Tensor) -> torch.Tensor:
    """A CPU copy holding only the tensor's own elements, WITH its strides (the model's kernels
    give bit-identical results only on the same memory layout, e.g. channels-last maps)."""
    t = t.detach()
    if t.storage_offset() == 0 and t.untyped_storage().nbytes() == t.numel() * t.element_size():
        return t.to("cpu")
    out = torch.empty_strided(t.size(), t.stride(), dtype=t.dtype, device="cpu")
    out.copy_(t)
    return out


class FeatureStore:
    """A :class:`FeatureCache` bound to one model configuration and one game's clips.

    Frames are written on a background thread (``torch.save`` and the copy off the GPU), so
    the model thread never waits on the disk; at most ``pending`` frames wait (then
    :meth:`store` blocks, bounding memory), and :meth:`flush` waits until all are written.
    A failed write (disk full) only costs that frame's cache entry (``stats.failed``).

    Args:
        cache: the cache.
        space: the model, image size and dtype the features belong to.
        clip_paths: per camera, its clip file (identified by path, size and modification time).
        pending: frames handed to the writer thread and not written yet, at most.
    """

    def __init__(
        self, cache: FeatureCache, space: FeatureSpace, clip_paths: Mapping[str, str | Path], pending: int = 8
    ):
        self.cache = cache
        self.space = space
        self.clip_ids = {name: clip_identity(path) for name, path in clip_paths.items()}
        self._pos: dict[str, list[torch.Tensor]] = {}
        self._pos_stored = False
        self._slots = threading.BoundedSemaphore(max(int(pending), 1))
        self._writer: ThreadPoolExecutor | None = None
        self._futures: list[Future] = []

    def contains(self, camera: str, frame: int) -> bool:
        """Whether the cache holds a frame's feature maps."""
        return self.cache.contains(self.space, self.clip_ids[camera], frame)

    def load(self, camera: str, frame: int, device: torch.device | str) -> list[torch.Tensor] | None:
        """A frame's feature maps, or None."""
        return self.cache.load(self.space, self.clip_ids[camera], frame, device)

    def store(self, camera: str, frame: int, backbone_out: dict) -> None:
        """Hand a frame's feature maps (and, once, the position encodings) to the writer thread."""
        pos = None if self._pos_stored else list(backbone_out["vision_pos_enc"])
        self._pos_stored = True
        fpn = list(backbone_out["backbone_fpn"])
        clip = self.clip_ids[camera]
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="multicam-features")
        self._slots.acquire()
        self._futures = [f for f in self._futures if not f.done()]
        self._futures.append(self._writer.submit(self._write, clip, int(frame), fpn, pos))

    def _write(self, clip: str, frame: int, fpn: list[torch.Tensor], pos: list[torch.Tensor] | None) -> None:
        try:
            if pos is not None:
                self.cache.store_pos_enc(self.space, pos)
            self.cache.store(self.space, clip, frame, fpn)
        except (OSError, RuntimeError):
            with self.cache._lock:
                self.cache.stats.failed += 1
        finally:
            self._slots.release()

    def flush(self) -> None:
        """Wait until every frame handed to :meth:`store` is written."""
        for future in self._futures:
            future.result()
        self._futures = []

    def close(self) -> None:
        """Write what is pending and stop the writer thread."""
        self.flush()
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def pos_enc(self, device: torch.device | str) -> list[torch.Tensor] | None:
        """The position encodings of every frame's feature maps (read once), or None."""
        key = str(device)
        if key not in self._pos:
            pos = self.cache.load_pos_enc(self.space, device)
            if pos is None:
                return None
            self._pos[key] = pos
        return self._pos[key]


def describe(stats: CacheStats) -> dict:
    """Counters as a JSON-ready dict (for run manifests)."""
    return dict(stats.__dict__)
