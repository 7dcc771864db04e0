"""The error raised when a clip cannot be synchronized."""

from __future__ import annotations

from multicam.errors import MulticamError


class SyncError(MulticamError):
    """A clip's offset cannot be estimated (no audio or motion to match, no overlap, low confidence).

    The message names the camera and says why, and what to do instead (e.g. write the offset by hand).
    """
