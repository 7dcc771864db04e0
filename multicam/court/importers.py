"""Reading the camera calibrations people already have, and placing them on the court.

Formats (chosen by the file's extension):

* OpenCV FileStorage, ``.yml`` / ``.yaml`` / ``.xml`` (read with ``cv2.FileStorage``): ``camera_matrix``,
  ``distortion_coefficients``, ``rvec`` or ``R`` (3x3), ``tvec`` or ``T``, ``image_width`` /
  ``image_height`` (or ``image_size``) - either at the top level (one camera, named by the caller
  or the file's stem) or in one map per camera named after the camera.
* anipose / aniposelib ``.toml`` (``CameraGroup.dump``): ``[cam_N]`` tables with ``name``, ``size``,
  ``matrix``, ``distortions``, ``rotation`` (Rodrigues vector) and ``translation``.
* plain ``.json``: ``{"cameras": {name: {"K", "dist", "R" (3x3) or "rvec", "t", "resolution_wh"}}}``
  (calibration.json itself is one).

The imported world frame is the tool's own (a calibration board, metres or millimetres). It is
mapped onto the court by a similarity (scale, rotation, translation; :func:`court_transform`)
from at least 3 points known in both frames: points given directly, or template landmarks
clicked in 2 or more cameras and triangulated with the imported cameras.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import cv2
import numpy as np

from multicam.court.camera import CameraModel
from multicam.court.templates import CourtError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FILESTORAGE_SUFFIXES = (".yml", ".yaml", ".xml")
FORMATS = "OpenCV FileStorage (.yml, .yaml, .xml), anipose (.toml) or JSON (.json)"


def _matrix(value, shape: tuple[int, ...], where: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CourtError(f"{where} must be numbers, got {value!r}") from None
    if arr.size != int(np.prod(shape)) or not np.all(np.isfinite(arr)):
        raise CourtError(f"{where} must be {'x'.join(map(str, shape))} numbers, got shape {arr.shape}")
    return arr.reshape(shape)


def _camera(name: str, size, k, dist, rot, rvec, t, where: str) -> CameraModel:
    if k is None:
        raise CourtError(f"{where}: camera {name!r} has no camera matrix")
    if t is None or (rot is None and rvec is None):
        raise CourtError(f"{where}: camera {name!r} has no pose (needs a rotation and a translation)")
    if size is None:
        raise CourtError(f"{where}: camera {name!r} has no image size")
    kk = _matrix(k, (3, 3), f"{where}: {name}: camera matrix")
    r = _matrix(rot, (3, 3), f"{where}: {name}: R") if rot is not None else None
    if r is None:
        r, _ = cv2.Rodrigues(_matrix(rvec, (3,), f"{where}: {name}: rotation vector"))
    if abs(np.linalg.det(r) - 1) > 1e-3:
        raise CourtError(
            f"{where}: camera {name!r}: the rotation is not a rotation matrix (det {np.linalg.det(r):.3f})"
        )
    d = np.asarray(dist if dist is not None else [], dtype=np.float64).ravel()
    if d.size not in (0, 4, 5, 8, 12, 14):
        raise CourtError(f"{where}: camera {name!r}: {d.size} distortion coefficients (OpenCV takes 4, 5, 8, 12 or 14)")
    wh = _matrix(size, (2,), f"{where}: {name}: image size")
    return CameraModel(name, (int(wh[0]), int(wh[1])), kk, r, _matrix(t, (3,), f"{where}: {name}: translation"), d)


def _opencv_reason(exc: BaseException) -> str:
    """What an OpenCV parse error says about the file (``line 11: Incorrect indentation``), without OpenCV's
    own source location; the whole last line of the error when it names no line of the file."""
    text = str(exc.__cause__ or exc).strip().splitlines()[-1]
    found = re.search(r"\((\d+)\): (.+?)'?$", text)
    return f"line {found[1]}: {found[2]}" if found else text


def read_opencv(path: Path, default_name: str | None = None) -> dict[str, CameraModel]:
    """Cameras from an OpenCV FileStorage YAML/XML file (see the module docstring)."""
    try:
        fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except (cv2.error, SystemError) as exc:  # a parse error surfaces as either, depending on the build
        raise CourtError(f"{path}: not an OpenCV FileStorage file ({_opencv_reason(exc)})") from None
    if not fs.isOpened():
        raise CourtError(f"{path}: cannot be read as an OpenCV FileStorage file")

    def node_value(node, *keys):
        for key in keys:
            n = node.getNode(key)
            if n.empty() or n.isNone():
                continue
            if n.isMap():
                return n.mat()
            if n.isSeq():
                return [n.at(i).real() for i in range(n.size())]
            if n.isReal() or n.isInt():
                return n.real()
        return None

    def camera(node, name):
        size = node_value(node, "image_size")
        if size is None:
            w, h = node_value(node, "image_width"), node_value(node, "image_height")
            size = None if w is None or h is None else [w, h]
        return _camera(
            name,
            size,
            node_value(node, "camera_matrix", "K", "cameraMatrix"),
            node_value(node, "distortion_coefficients", "dist_coeffs", "distCoeffs", "D"),
            node_value(node, "R", "rotation_matrix"),
            node_value(node, "rvec", "rotation_vector"),
            node_value(node, "tvec", "T", "translation_vector", "t"),
            str(path),
        )

    try:
        root = fs.root()
        if not root.getNode("camera_matrix").empty():
            return {default_name or path.stem: camera(root, default_name or path.stem)}
        out = {}
        for key in root.keys():  # noqa: SIM118 (a cv2.FileNode, not a dict)
            node = root.getNode(key)
            if node.isMap() and not node.getNode("camera_matrix").empty():
                out[key] = camera(node, key)
        if not out:
            raise CourtError(
                f"{path}: no camera_matrix in this OpenCV file (at the top level or in one map per camera)"
            )
        return out
    finally:
        fs.release()


def read_anipose(path: Path) -> dict[str, CameraModel]:
    """Cameras from an anipose / aniposelib calibration TOML (``[cam_0]``... tables)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CourtError(f"{path}: not valid TOML ({exc})") from None
    out = {}
    for key, cam in data.items():
        if not (key.startswith("cam_") and isinstance(cam, dict)):
            continue
        if cam.get("fisheye"):
            raise CourtError(f"{path}: [{key}] is a fisheye camera; only the pinhole model is supported")
        name = str(cam.get("name", key))
        out[name] = _camera(
            name,
            cam.get("size"),
            cam.get("matrix"),
            cam.get("distortions"),
            None,
            cam.get("rotation"),
            cam.get("translation"),
            f"{path} [{key}]",
        )
    if not out:
        raise CourtError(f"{path}: no [cam_N] tables; this is not an anipose calibration file")
    return out


def read_json(path: Path) -> dict[str, CameraModel]:
    """Cameras from a plain JSON file of K, dist, R (or rvec), t and resolution_wh per camera."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CourtError(f"{path}: not valid JSON ({exc})") from None
    cams = data.get("cameras") if isinstance(data, dict) else None
    if not isinstance(cams, dict) or not cams:
        raise CourtError(f"{path}: needs a 'cameras' mapping of camera name -> {{K, dist, R, t, resolution_wh}}")
    out = {}
    for name, cam in cams.items():
        if not isinstance(cam, dict):
            raise CourtError(f"{path}: cameras.{name} must be a mapping")
        out[str(name)] = _camera(
            str(name),
            cam.get("resolution_wh", cam.get("size")),
            cam.get("K"),
            cam.get("dist"),
            cam.get("R") if np.size(cam.get("R", [])) == 9 else None,
            cam.get("rvec", cam.get("R") if np.size(cam.get("R", [])) == 3 else None),
            cam.get("t"),
            f"{path}",
        )
    return out


def read_calibration(path: str | Path, default_name: str | None = None) -> dict[str, CameraModel]:
    """Cameras from a calibration file in any supported format, chosen by its extension.

    Raises:
        CourtError: missing file, unknown extension, or a broken file.
    """
    path = Path(path)
    if not path.is_file():
        raise CourtError(f"calibration file not found: {path}")
    if path.stat().st_size == 0:
        raise CourtError(f"{path}: the file is empty; give the calibration itself: {FORMATS}")
    suffix = path.suffix.lower()
    if suffix in FILESTORAGE_SUFFIXES:
        return read_opencv(path, default_name)
    if suffix == ".toml":
        return read_anipose(path)
    if suffix == ".json":
        return read_json(path)
    raise CourtError(f"{path}: unknown calibration format {suffix or '(no extension)'!r}; give {FORMATS}")


def triangulate(cameras: list[CameraModel], pixels: list[np.ndarray]) -> np.ndarray:
    """A world point ``(3,)`` from its pixels in 2 or more cameras: linear DLT on undistorted pixels."""
    rows = []
    for cam, px in zip(cameras, pixels):
        u, v = cam.undistort(np.asarray(px, dtype=np.float64).reshape(1, 2))[0]
        p = cam.P
        rows += [u * p[2] - p[0], v * p[2] - p[1]]
    _, _, vt = np.linalg.svd(np.asarray(rows))
    x = vt[-1]
    return x[:3] / x[3]


def court_transform(world: np.ndarray, court: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Similarity ``court = s R world + b`` from ``(N, 3)`` pairs (N >= 3, not on one line); returns ``(s, R, b)``."""
    world = np.asarray(world, dtype=np.float64).reshape(-1, 3)
    court = np.asarray(court, dtype=np.float64).reshape(-1, 3)
    if len(world) < 3:
        raise CourtError(f"the floor needs at least 3 points known in both frames, got {len(world)}")
    s = np.linalg.svd(court - court.mean(axis=0), compute_uv=False)
    if s[1] < 0.02 * s[0]:
        raise CourtError("the floor points lie on one line; give 3 points that span the floor")
    m, scale = cv2.estimateAffine3D(world, court, force_rotation=True)
    rot = m[:, :3]  # the rotation itself; the scale comes separately
    return float(scale), rot, m[:, 3].copy()


def move_to_court(cam: CameraModel, scale: float, rot: np.ndarray, shift: np.ndarray) -> CameraModel:
    """The camera expressed in the court frame given ``court = s R world + b``."""
    r_new = cam.R @ rot.T
    t_new = scale * cam.t - r_new @ shift
    return CameraModel(cam.name, cam.resolution_wh, cam.K, r_new, t_new, cam.dist)
