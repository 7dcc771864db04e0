"""Automatic clip synchronization: each camera's offset against the reference camera.

Audio first (GCC-PHAT on the decoded sound, sub-sample peak), the pictures' motion energy as
the fallback for clips without usable sound, and a confidence that refuses unreliable answers.
A first run's masks refine the offsets of calibrated cameras (:func:`offsets_from_run`).
``multicam sync`` prints (and with ``--write`` stores) the offsets; a game file's
``offset: auto`` is resolved by :func:`resolve_auto_offsets` when the game is opened.
"""

from __future__ import annotations

from multicam.sync.audio import AudioTrack, audio_offset, decode_audio
from multicam.sync.correlation import MethodEstimate, PeakEstimate, gcc_phat, normalized_xcorr, pick_peak
from multicam.sync.errors import SyncError
from multicam.sync.estimate import (
    ClipSignals,
    SyncOptions,
    SyncResult,
    estimate_offset,
    estimate_offsets,
    resolve_auto_offsets,
)
from multicam.sync.gamefile import write_offsets
from multicam.sync.refine import CameraMasks, offsets_from_run
from multicam.sync.visual import MotionCurve, motion_energy, read_motion_energy, visual_offset

__all__ = [
    "AudioTrack",
    "CameraMasks",
    "ClipSignals",
    "MethodEstimate",
    "MotionCurve",
    "PeakEstimate",
    "SyncError",
    "SyncOptions",
    "SyncResult",
    "audio_offset",
    "decode_audio",
    "estimate_offset",
    "estimate_offsets",
    "gcc_phat",
    "motion_energy",
    "normalized_xcorr",
    "offsets_from_run",
    "pick_peak",
    "read_motion_energy",
    "resolve_auto_offsets",
    "visual_offset",
    "write_offsets",
]
