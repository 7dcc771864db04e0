"""Errors a user can cause and fix. The CLI prints their message without a traceback."""

from __future__ import annotations


class MulticamError(Exception):
    """Base class: something the user can fix; the message says what and how."""


class GameFileError(MulticamError):
    """The game file or a file it names is missing, malformed or inconsistent."""


class PromptError(MulticamError):
    """A prompt is invalid (unknown camera, outside the image, frame out of range...)."""


class ClipError(MulticamError):
    """A video clip is missing, unreadable or has no video stream."""


class ModelError(MulticamError):
    """A model is unknown or its checkpoint cannot be had."""


class RunDirError(MulticamError):
    """A run directory is missing, incomplete or malformed."""


class CorruptRunError(RunDirError, ValueError):
    """A run's file is damaged (a line that is not a frame record); the message names file and line."""


class DiskFullError(RunDirError):
    """The disk filled up while a run was written; its finished frames are kept and it can be resumed."""


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM from ``kill``, a job scheduler, a container stop).

    Handled like Ctrl-C: a run being written is closed as ``interrupted`` with every finished
    frame kept, and can be continued with ``multicam process --resume``.
    """
