"""The SAM 2 engine: the only part of multicam that imports torch and sam2.

* :mod:`multicam.engine.build`: sam2 import (Hydra left alone), device, dtype, model build.
* :mod:`multicam.engine.predictor`: SAM 2's video predictor with per-camera memory and
  streamed, memory-bounded tracking.
* :mod:`multicam.engine.frames`: the lazy frame source (clips decoded on demand).
* :mod:`multicam.engine.state`: a typed wrapper around SAM 2's inference-state dict.
* :mod:`multicam.engine.tracker`: :class:`Engine`, which ties them together.
"""

from multicam.engine.build import build_predictor, import_sam2, resolve_device, resolve_dtype, versions
from multicam.engine.frames import FrameSource, to_model_input
from multicam.engine.predictor import CameraMemory, MulticamVideoPredictor
from multicam.engine.state import TrackingState
from multicam.engine.tracker import Engine, EngineInfo, EngineOptions, TrackStats, masks_at_resolution

__all__ = [
    "CameraMemory", "Engine", "EngineInfo", "EngineOptions", "FrameSource", "MulticamVideoPredictor",
    "TrackStats", "TrackingState", "build_predictor", "import_sam2", "masks_at_resolution",
    "resolve_device", "resolve_dtype", "to_model_input", "versions",
]
