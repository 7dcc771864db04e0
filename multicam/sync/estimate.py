"""Estimate each camera's offset against the reference camera: audio first, pictures as the fallback.

Without usable sound, the pictures decide: when the game has a calibration for both cameras, the
floor occupancy of what moves (:mod:`multicam.sync.occupancy`) first, then the motion
(:mod:`multicam.sync.visual`), whose answer must agree with the floor's best guess when there is one.

:func:`estimate_offsets` returns one :class:`SyncResult` per camera (or raises :class:`SyncError`);
:func:`resolve_auto_offsets` is what :func:`multicam.session.open_game` calls for ``offset: auto``.

An offset is the game time (reference clock, s) of the camera clip's first frame; the reference's
is 0. The confidence (0..1) is each method's own: for the sound, how much the correlation peak
stands out of every other candidate offset and of the noise floor
(:func:`multicam.sync.correlation.peak_confidence`); for the floor, the occupancy's significance
(:func:`multicam.sync.occupancy.occupancy_confidence`); for the motion, the estimated probability
that the answer is within a frame (:func:`multicam.sync.visual.motion_confidence`). Below
``min_confidence`` the answer is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from multicam.clips import ClipInfo
from multicam.game import Game
from multicam.sync.audio import DEFAULT_SAMPLE_RATE, AudioTrack, audio_offset, decode_audio
from multicam.sync.correlation import MethodEstimate
from multicam.sync.errors import SyncError
from multicam.sync.foreground import DEFAULT_WIDTH as CONTACT_WIDTH
from multicam.sync.foreground import MIN_SIZE as CONTACT_MIN_SIZE
from multicam.sync.foreground import read_contact_points
from multicam.sync.geometric import FootTracks
from multicam.sync.occupancy import occupancy_offset
from multicam.sync.visual import DEFAULT_WIDTH, MotionCurve, read_motion_energy, small_size, visual_offset

Method = Literal["auto", "audio", "visual", "geometry"]
METHODS: tuple[str, ...] = ("auto", "audio", "visual", "geometry")
DEFAULT_MIN_CONFIDENCE = 0.5
# px: pictures analysed (at most 320 px wide) under this height show players a few pixels tall; on
# 160 px wide synthetic games (68-80 px tall) the floor occupancy was confidently 1 to 8 frames off,
# at 150-180 px tall (320 px landscape, and portrait crops) within about a frame
MIN_GEOMETRY_HEIGHT = 120
# m: contact points sit towards each camera by a foot or a shadow's width (at most 0.19 m between two
# cameras of the synthetic benchmark games); a much larger shift points at a calibration error
FLOOR_SHIFT_WARN_M = 0.5


@dataclass(frozen=True)
class SyncOptions:
    """How offsets are searched for.

    Attributes:
        method: ``auto`` (the sound when both clips have some, else the pictures; see
            :func:`estimate_offset`), ``audio``, ``visual`` (motion) or ``geometry`` (floor positions,
            needs a calibration of both cameras).
        max_offset: largest ``|offset|`` (s) considered; None: any offset that leaves ``min_overlap_s`` of overlap.
        min_confidence: answers below this confidence (0..1) are refused.
        min_overlap_s: shortest shared stretch (s) an answer may rest on (lowered for shorter clips).
        sample_rate: common audio rate (Hz) the sound is resampled to.
        motion_width: width (px) of the grey frames motion is measured on.
    """

    method: Method = "auto"
    max_offset: float | None = None
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    min_overlap_s: float = 1.0
    sample_rate: int = DEFAULT_SAMPLE_RATE
    motion_width: int = DEFAULT_WIDTH
    homographies: dict[str, np.ndarray] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.max_offset is not None and self.max_offset <= 0:
            raise ValueError(f"max_offset must be positive (seconds), got {self.max_offset}")
        if not 0 <= self.min_confidence <= 1:
            raise ValueError(f"min_confidence must be in 0..1, got {self.min_confidence}")


@dataclass(frozen=True)
class SyncResult:
    """A camera's estimated offset against the reference.

    Attributes:
        camera: the camera's name.
        reference: the reference camera's name.
        offset: game time (s) of the camera's first frame.
        confidence: 0..1, of the method used.
        method: ``"audio"``, ``"visual"``, ``"geometry"`` or ``"visual+geometry"`` (a visual answer
            that confirmed the floor positions' best guess, which is the offset).
        reference_fps: the reference clip's frame rate (for :attr:`offset_frames`).
        estimates: every method's estimate that was computed, the one used included.
        notes: why other methods were not used (no audio, silent, unreliable...).
    """

    camera: str
    reference: str
    offset: float
    confidence: float
    method: str
    reference_fps: float
    estimates: tuple[MethodEstimate, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def offset_frames(self) -> float:
        """The offset in reference frames."""
        return self.offset * self.reference_fps

    @property
    def used(self) -> MethodEstimate | None:
        """The estimate of the method used (None when it is not among :attr:`estimates`)."""
        method = "geometry" if self.method == "visual+geometry" else self.method
        return next((e for e in reversed(self.estimates) if e.method == method), None)

    def as_dict(self) -> dict:
        """JSON-friendly summary (what a run manifest records under ``offsets_resolved``)."""
        used = self.used
        out = {
            "offset": self.offset,
            "confidence": self.confidence,
            "method": self.method,
            "reference": self.reference,
            "offset_frames": self.offset_frames,
        }
        if used is not None:
            out.update(peak=used.peak, second_peak=used.second_peak, psr=used.psr, overlap_s=used.overlap_s)
        if self.notes:
            out["notes"] = list(self.notes)
        return out


class ClipSignals:
    """A clip's sound, motion curve and contact points, decoded on first use and kept (the reference serves every camera).

    ``homography``: the camera's image-to-floor homography for the clip's pixels (None: not calibrated).
    """

    def __init__(self, info: ClipInfo, options: SyncOptions, homography: np.ndarray | None = None):
        self.info = info
        self.options = options
        self.homography = homography
        self._audio: AudioTrack | None = None
        self._audio_read = False
        self._motion: MotionCurve | None = None
        self._contacts: FootTracks | None = None

    @property
    def contacts(self) -> FootTracks:
        """Where things touch the floor, per frame (:func:`multicam.sync.foreground.read_contact_points`)."""
        if self._contacts is None:
            self._contacts = read_contact_points(self.info.path)
        return self._contacts

    @property
    def audio(self) -> AudioTrack | None:
        if not self._audio_read:
            self._audio = decode_audio(self.info.path, self.options.sample_rate) if self.info.has_audio else None
            self._audio_read = True
        return self._audio

    @property
    def motion(self) -> MotionCurve:
        if self._motion is None:
            self._motion = read_motion_energy(self.info.path, self.options.motion_width)
        return self._motion


def estimate_offset(
    camera: str, cam: ClipSignals, reference: str, ref: ClipSignals, options: SyncOptions = SyncOptions()
) -> SyncResult:
    """One camera's offset against the reference, by the method(s) ``options.method`` allows.

    ``auto`` uses the sound when both clips have some. When they have sound but it does not
    match reliably, the pictures' motion is tried too, and its answer is only accepted if it
    agrees with the sound's best guess (a confident visual match that the sound contradicts is
    more likely a coincidence than a camera with unrelated sound; ``method="visual"`` forces it).
    Without sound (no track, or a silent one), calibrated cameras are compared by their floor
    occupancy first; when it measures but is not sure, a confident motion answer must agree with
    its best guess in the same way (the motion curves of small players match by chance more often).
    Without a calibration the motion decides alone.

    Raises:
        SyncError: naming the camera and why no method gave a reliable answer.
    """
    estimates: list[MethodEstimate] = []
    notes: list[str] = []
    # calibrated cameras: the floor positions first (no unrelated pair scored 0.5 on the test set,
    # while motion curves of tiny players sometimes agree by chance), then the motion
    order = ("audio", "geometry", "visual") if options.method == "auto" else (options.method,)
    if options.method == "auto" and not _calibrated(cam, ref):
        order = ("audio", "visual")
    threshold = options.min_confidence
    # the first method that measured something but was not sure: a later method's answer must agree with it
    guess: MethodEstimate | None = None

    def result(est: MethodEstimate, method: str, offset: float, confidence: float) -> SyncResult:
        return SyncResult(
            camera=camera,
            reference=reference,
            offset=offset,
            confidence=confidence,
            method=method,
            reference_fps=ref.info.fps,
            estimates=tuple(estimates),
            notes=tuple(notes),
        )

    for method in order:
        try:
            est = _run_method(method, cam, ref, options, notes)
        except SyncError as exc:
            notes.append(f"{method}: {exc}")
            continue
        estimates.append(est)
        if est.confidence < threshold:
            notes.append(
                f"{method}: no reliable match (best guess {est.offset:+.3f} s, confidence "
                f"{est.confidence:.2f} < {threshold:.2f})"
            )
            if guess is None:
                guess = est
            continue
        if guess is None:
            return result(est, method, est.offset, est.confidence)
        tolerance = max(1.5 / min(ref.info.fps, cam.info.fps), 0.05)
        if abs(est.offset - guess.offset) <= tolerance:
            notes.append(f"{method}: confirms the {guess.method}'s best guess ({est.offset:+.3f} s)")
            used = "visual+geometry" if guess.method == "geometry" else guess.method
            return result(guess, used, guess.offset, max(guess.confidence, est.confidence))
        what = "sound" if guess.method == "audio" else "floor positions"
        notes.append(
            f"{method}: a match at {est.offset:+.3f} s (confidence {est.confidence:.2f}) that the "
            f"{what} contradict{'s' if what == 'sound' else ''}; use --method {method} to accept it"
        )
    calibrate = (
        " A calibration of both cameras (multicam calibrate) lets their floor positions synchronize them."
        if options.method == "auto" and not _calibrated(cam, ref)
        else ""
    )
    raise SyncError(
        f"camera {camera!r}: cannot synchronize with the reference camera {reference!r}: "
        + "; ".join(notes)
        + ". Check that both clips film the same moment (their recordings must overlap in time), try "
        "another --method, or write the camera's offset in seconds in the game file instead of 'auto'." + calibrate
    )


def _run_method(
    method: str, cam: ClipSignals, ref: ClipSignals, options: SyncOptions, notes: list[str]
) -> MethodEstimate:
    """One method's estimate; the floor occupancy adds a note with the floor shift it corrected."""
    if method == "audio":
        for what, clip in (("reference", ref), ("camera", cam)):
            if not clip.info.has_audio or clip.audio is None:
                raise SyncError(f"the {what} clip has no audio track ({clip.info.path.name})")
        return audio_offset(
            ref.audio,
            cam.audio,
            max_offset=options.max_offset,  # type: ignore[arg-type]
            min_overlap_s=options.min_overlap_s,
        )
    if method == "geometry":
        if not _calibrated(cam, ref):
            raise SyncError("the game has no calibration (image-to-floor homography) for both cameras")
        _check_geometry_size(cam, ref)
        sync = occupancy_offset(
            ref.contacts,
            cam.contacts,
            ref.homography,  # type: ignore[arg-type]
            cam.homography,  # type: ignore[arg-type]
            max_offset=options.max_offset,
            min_overlap_s=options.min_overlap_s,
        )
        if sync.estimate.confidence >= options.min_confidence:  # the shift of a refused match means nothing
            notes.append(f"geometry: {floor_shift_note(sync.floor_shift_m)}")
        return sync.estimate
    return visual_offset(ref.motion, cam.motion, max_offset=options.max_offset, min_overlap_s=options.min_overlap_s)


def floor_shift_note(shift_m: np.ndarray) -> str:
    """What the floor shift between two cameras' contact points says (a check of their calibrations)."""
    size = float(np.hypot(*shift_m))
    text = f"the two cameras place the feet {size:.2f} m apart on the floor (corrected)"
    if size >= FLOOR_SHIFT_WARN_M:
        text += "; that much suggests their calibrations disagree: check them (multicam calibrate)"
    return text


def analysed_height(info: ClipInfo) -> int:
    """Height (px) of the clip's pictures as the floor-occupancy method sees them (at most ``CONTACT_WIDTH`` wide)."""
    return small_size(info.resolution_wh, CONTACT_WIDTH, CONTACT_MIN_SIZE)[1] if info.width else 0


def _check_geometry_size(cam: ClipSignals, ref: ClipSignals) -> None:
    heights = [(c.info.path.name, analysed_height(c.info)) for c in (ref, cam)]  # two clips may share a file name
    small = ", ".join(f"{name} ({h} px)" for name, h in heights if h < MIN_GEOMETRY_HEIGHT)
    if small:
        raise SyncError(
            f"{small}: under {MIN_GEOMETRY_HEIGHT} px tall as analysed ({CONTACT_WIDTH} px wide at most): too small "
            "to find feet in the pictures"
        )


def _calibrated(cam: ClipSignals, ref: ClipSignals) -> bool:
    return cam.homography is not None and ref.homography is not None


def game_homographies(game: Game, infos: dict[str, ClipInfo]) -> dict[str, np.ndarray]:
    """Image-to-floor homographies of the game's calibrated cameras, for their clips' pixels.

    See :func:`calibration_homographies`; empty when the game has no calibration file.
    """
    return calibration_homographies(game.calibration_path, {n: (i.width, i.height) for n, i in infos.items()})


def calibration_homographies(path: Path | None, sizes_wh: Mapping[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    """Image-to-floor homographies of a calibration file's cameras, for pictures of the given sizes.

    Reads ``cameras.<name>.H_image_to_ground`` (the format ``multicam synth`` and ``multicam
    calibrate`` write) of each camera named in ``sizes_wh``; a homography made for another
    resolution (``resolution_wh``) is rescaled to that camera's ``(width, height)``. Cameras
    the file does not calibrate are left out; empty when ``path`` is None or not a file.

    Raises:
        SyncError: the file is not valid JSON or a homography is not a 3x3 matrix of numbers.
    """
    if path is None or not path.is_file():
        return {}
    try:
        cams = json.loads(path.read_text(encoding="utf-8")).get("cameras", {})
    except (json.JSONDecodeError, AttributeError) as exc:
        raise SyncError(
            f"{path}: not a calibration file ({exc}); fix it or remove 'calibration' from the game file"
        ) from None
    out: dict[str, np.ndarray] = {}
    for name, (width, height) in sizes_wh.items():
        entry = cams.get(name) if isinstance(cams, dict) else None
        if not isinstance(entry, dict) or "H_image_to_ground" not in entry:
            continue
        h = np.asarray(entry["H_image_to_ground"], dtype=np.float64)
        if h.shape != (3, 3) or not np.all(np.isfinite(h)):
            raise SyncError(f"{path}: cameras.{name}.H_image_to_ground must be a 3x3 matrix of numbers")
        size = entry.get("resolution_wh")
        if isinstance(size, list | tuple) and len(size) == 2 and size[0] and size[1]:
            # picture pixels -> calibrated pixels, then to the floor
            h = h @ np.diag([float(size[0]) / width, float(size[1]) / height, 1.0])
        out[name] = h
    return out


def estimate_offsets(
    game: Game,
    infos: dict[str, ClipInfo],
    cameras: Iterable[str] | None = None,
    options: SyncOptions = SyncOptions(),
    *,
    on_error: Literal["raise", "collect"] = "raise",
) -> dict[str, SyncResult | SyncError]:
    """Offsets of ``cameras`` (default: every camera but the reference) against the game's reference.

    Args:
        game: the loaded game file.
        infos: probed clip info per camera name (at least the reference and ``cameras``).
        cameras: which cameras to estimate, in this order.
        options: search options.
        on_error: ``"raise"`` a :class:`SyncError` listing every camera that failed, or ``"collect"``
            it as that camera's value.

    Returns:
        Per camera, its :class:`SyncResult` (or its :class:`SyncError` when collecting).
    """
    reference = game.config.reference
    names = [c for c in (cameras if cameras is not None else game.config.camera_names) if c != reference]
    for name in [reference, *names]:
        game.config.camera(name)  # unknown names raise GameFileError
        if name not in infos:
            raise SyncError(f"camera {name!r}: its clip was not probed")
    homographies = options.homographies
    if homographies is None:
        homographies = game_homographies(game, {n: infos[n] for n in [reference, *names]})
    ref = ClipSignals(infos[reference], options, homographies.get(reference))
    out: dict[str, SyncResult | SyncError] = {}
    for name in names:
        try:
            cam = ClipSignals(infos[name], options, homographies.get(name))
            out[name] = estimate_offset(name, cam, reference, ref, options)
        except SyncError as exc:
            out[name] = exc
    failed = [str(v) for v in out.values() if isinstance(v, SyncError)]
    if failed and on_error == "raise":
        raise SyncError("\n".join(failed))
    return out


def resolve_auto_offsets(
    game: Game, infos: dict[str, ClipInfo], auto_cameras: Iterable[str], options: SyncOptions | None = None
) -> dict[str, dict]:
    """Offsets for the cameras whose game file says ``offset: auto``.

    Returns:
        ``{camera: {"offset": s, "confidence": 0..1, "method": "audio"|"visual", "offset_frames": ...,
        "peak": ..., "psr": ..., "overlap_s": ...}}``.

    Raises:
        SyncError: naming each camera that cannot be synchronized and why.
    """
    results = estimate_offsets(game, infos, list(auto_cameras), options or SyncOptions())
    return {name: r.as_dict() for name, r in results.items() if isinstance(r, SyncResult)}
