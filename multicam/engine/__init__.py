"""The SAM 2 engine: the only part of multicam that imports torch and sam2.

* :mod:`multicam.engine.build`: sam2 import (Hydra left alone), device, dtype, model build.
* :mod:`multicam.engine.predictor`: SAM 2's video predictor with per-camera memory and
  streamed, memory-bounded tracking.
* :mod:`multicam.engine.frames`: the lazy frame source (clips decoded on demand).
* :mod:`multicam.engine.state`: a typed wrapper around SAM 2's inference-state dict.
* :mod:`multicam.engine.features`: the on-disk cache of image features (fast re-runs).
* :mod:`multicam.engine.tracker`: :class:`Engine`, which ties them together.

Importing the engine sets ``OMP_WAIT_POLICY=PASSIVE`` when it is not set and torch is not
loaded yet: OpenMP threads that spin while they wait make tracking several times slower as
soon as anything else (another process, or multicam's own decode and writer threads) wants
the CPU. Set ``OMP_WAIT_POLICY=ACTIVE`` before starting Python to keep spinning.
"""

import os as _os
import sys as _sys

if "torch" not in _sys.modules:
    _os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from multicam.engine.build import build_predictor, import_sam2, resolve_device, resolve_dtype, versions
from multicam.engine.features import FeatureCache, FeatureSpace, FeatureStore
from multicam.engine.features import describe as describe_cache
from multicam.engine.frames import FrameSource, to_model_input
from multicam.engine.predictor import CameraMemory, MulticamVideoPredictor
from multicam.engine.state import TrackingState
from multicam.engine.tracker import (
    Engine,
    EngineInfo,
    EngineOptions,
    ResumePoint,
    TrackedFrame,
    TrackStats,
    masks_at_resolution,
    tracking_passes,
)

__all__ = [
    "CameraMemory",
    "Engine",
    "EngineInfo",
    "EngineOptions",
    "FeatureCache",
    "FeatureSpace",
    "FeatureStore",
    "FrameSource",
    "MulticamVideoPredictor",
    "ResumePoint",
    "TrackStats",
    "TrackedFrame",
    "TrackingState",
    "build_predictor",
    "describe_cache",
    "import_sam2",
    "masks_at_resolution",
    "resolve_device",
    "resolve_dtype",
    "to_model_input",
    "tracking_passes",
    "versions",
]
