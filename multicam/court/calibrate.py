"""Calibrating a camera from clicked court landmarks: homography, focal length, pose, errors.

:func:`calibrate_camera` takes the pixels of at least 4 named template landmarks in one camera
and returns a :class:`CameraFit`: the camera (K, R, t), the floor homography and each landmark's
error in pixels and in metres. Degenerate clicks are refused with a :class:`CourtError` that says
what to click instead: fewer than 4 landmarks, landmarks on one line (on the court or in the
picture), a mirrored or twisted order, or a reprojection error above the threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from multicam.court.camera import CameraModel
from multicam.court.templates import MIN_LANDMARKS, CourtError, CourtTemplate

RANSAC_MIN_POINTS = 5


class CalibrationOptions(BaseModel):
    """Thresholds of :func:`calibrate_camera`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_error_px: float | None = Field(
        default=None, gt=0, description="Largest RMS reprojection error (px); default 1 % of the image diagonal."
    )
    ransac_px: float | None = Field(
        default=None, gt=0, description="RANSAC inlier distance (px) with 5+ landmarks; default max_error_px."
    )
    focal_px: float | None = Field(default=None, gt=0, description="Known focal length (px); default: estimated.")
    collinear_ratio: float = Field(
        default=0.02, gt=0, description="Spread across / along below which points are a line."
    )

    def error_limit(self, resolution_wh: tuple[int, int]) -> float:
        return self.max_error_px if self.max_error_px is not None else 0.01 * float(np.hypot(*resolution_wh))


@dataclass(frozen=True)
class LandmarkResidual:
    """One clicked landmark after the fit: where it was clicked, where the fit puts it, the errors."""

    name: str
    clicked_px: tuple[float, float]
    reprojected_px: tuple[float, float]
    error_px: float
    error_m: float
    inlier: bool


@dataclass(frozen=True)
class CameraFit:
    """A camera calibrated from clicked landmarks.

    Attributes:
        camera: the fitted camera (no lens distortion).
        homography: ``(3, 3)`` floor metres -> pixels straight from the clicks.
        residuals: per clicked landmark.
        rms_px / rms_m: root-mean-square error of the inliers in pixels / metres on the floor.
        focal_estimated: True when the focal length was estimated (not given).
        warnings: landmarks RANSAC left out and similar notes.
    """

    camera: CameraModel
    homography: np.ndarray
    residuals: tuple[LandmarkResidual, ...]
    rms_px: float
    rms_m: float
    focal_estimated: bool
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "rms_px": round(self.rms_px, 3),
            "rms_m": round(self.rms_m, 4),
            "focal_px": round(self.camera.focal_px, 3),
            "focal_estimated": self.focal_estimated,
            "landmarks": {
                r.name: {
                    "clicked_px": [round(v, 2) for v in r.clicked_px],
                    "reprojected_px": [round(v, 2) for v in r.reprojected_px],
                    "error_px": round(r.error_px, 3),
                    "error_m": round(r.error_m, 4),
                    "inlier": r.inlier,
                }
                for r in self.residuals
            },
            "warnings": list(self.warnings),
        }


def line_ratio(points: np.ndarray) -> float:
    """Spread of ``(N, 2)`` points across their main direction over the spread along it (0 = on one line)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return 0.0
    s = np.linalg.svd(pts - pts.mean(axis=0), compute_uv=False)
    return float(s[1] / s[0]) if s[0] > 0 else 0.0


def _suggest(template: CourtTemplate, have: list[str], k: int = 3) -> str:
    """Names of landmarks far from the clicked ones' line: what to click next."""
    pts = template.xy(have) if have else np.zeros((0, 2))
    cands = [n for n in template.landmarks if n not in have]
    if len(pts) >= 2:
        c = pts.mean(axis=0)
        _, _, vt = np.linalg.svd(pts - c)
        normal = vt[-1] if np.linalg.matrix_rank(pts - c, tol=1e-9) >= 2 else np.array([-vt[0, 1], vt[0, 0]])
        cands.sort(key=lambda n: -abs((np.array(template.landmarks[n]) - c) @ normal))
    return ", ".join(cands[:k])


def _triangle_sign(pts: np.ndarray) -> np.ndarray:
    """Orientation (+1 counter-clockwise / -1) of every triangle of consecutive points (i, i+1, i+2)."""
    a, b, c = pts, np.roll(pts, -1, axis=0), np.roll(pts, -2, axis=0)
    return np.sign((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def _check_orientation(camera: str, h: np.ndarray, world: np.ndarray, names: list[str]) -> None:
    """Refuse a homography that mirrors the floor or folds it through the horizon.

    A camera above the floor sees the floor's counter-clockwise turns clockwise in the picture
    (pixel ``y`` grows downwards): the floor-to-image Jacobian's determinant is negative at every
    landmark and every landmark is in front of the camera (same sign of the homogeneous ``w``).
    """
    w = (np.column_stack([world, np.ones(len(world))]) @ h.T)[:, 2]
    if np.any(np.sign(w) != np.sign(w[0])) or np.any(np.abs(w) < 1e-12):
        raise CourtError(
            f"camera {camera}: the clicked order is twisted (the landmarks do not fit one floor seen from one side); "
            f"check that each click is on the landmark it names ({', '.join(names)})"
        )
    # the Jacobian determinant of (X, Y) -> (u, v) is det(H) / w^3
    if np.sign(np.linalg.det(h)) * np.sign(w[0]) > 0:
        raise CourtError(
            f"camera {camera}: the clicks are mirrored (left and right, or near and far, exchanged); "
            "the landmark names say which end and side they are on: x = 0 is the left end line and y = 0 the near "
            "side line as seen on the court diagram - click each landmark where that name is"
        )


def estimate_focal(h: np.ndarray, resolution_wh: tuple[int, int]) -> float | None:
    """Focal length (px) from a floor homography, principal point at the image centre, square pixels.

    Zhang's two constraints on ``K^-T K^-1`` (columns of ``K^-1 H`` orthogonal and of equal length)
    solved together in least squares for ``1 / f^2``; None when the view makes them degenerate
    (e.g. the image plane parallel to the floor).
    """
    w, hh = resolution_wh
    t = np.array([[1.0, 0.0, -w / 2], [0.0, 1.0, -hh / 2], [0.0, 0.0, 1.0]])
    g = t @ h
    g = g / np.linalg.norm(g)
    h1, h2 = g[:, 0], g[:, 1]
    a = np.array([h1[0] * h2[0] + h1[1] * h2[1], h1[0] ** 2 + h1[1] ** 2 - h2[0] ** 2 - h2[1] ** 2])
    b = np.array([h1[2] * h2[2], h1[2] ** 2 - h2[2] ** 2])
    denom = float(a @ a)
    if denom <= 0:
        return None
    inv_f2 = -float(a @ b) / denom
    if not np.isfinite(inv_f2) or inv_f2 <= 0:
        return None
    f = 1.0 / np.sqrt(inv_f2)
    return float(f) if 0.05 * w < f < 50 * w else None


def _fit_pose(obj: np.ndarray, img: np.ndarray, k0: np.ndarray, wh: tuple[int, int], estimate_focal: bool):
    """``(rvec, tvec, K)`` from planar points: focal and pose together (``cv2.calibrateCamera`` with the
    principal point, aspect ratio and zero distortion fixed) or the pose for a known ``k0`` (``cv2.solvePnP``)."""
    if estimate_focal:
        flags = (
            cv2.CALIB_USE_INTRINSIC_GUESS
            | cv2.CALIB_FIX_PRINCIPAL_POINT
            | cv2.CALIB_FIX_ASPECT_RATIO
            | cv2.CALIB_ZERO_TANGENT_DIST
            | cv2.CALIB_FIX_K1
            | cv2.CALIB_FIX_K2
            | cv2.CALIB_FIX_K3
        )
        _, k, _, rvecs, tvecs = cv2.calibrateCamera([obj], [img], wh, k0, np.zeros(5), flags=flags)
        return rvecs[0], tvecs[0], k
    ok, rvec, tvec = cv2.solvePnP(obj, img, k0, None, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        return None, None, k0
    rvec, tvec = cv2.solvePnPRefineLM(obj, img, k0, None, rvec, tvec)
    return rvec, tvec, k0


def calibrate_camera(
    camera: str,
    template: CourtTemplate,
    clicks: Mapping[str, tuple[float, float]],
    resolution_wh: tuple[int, int],
    options: CalibrationOptions | None = None,
) -> CameraFit:
    """Fit one camera to clicked landmarks.

    Args:
        camera: the camera's name (for messages).
        template: the court whose landmarks were clicked.
        clicks: ``{landmark name: (x_px, y_px)}``.
        resolution_wh: the camera's image size.
        options: thresholds and an optional known focal length.

    Raises:
        CourtError: unknown landmark, fewer than 4, on one line, outside the image, mirrored or twisted
            order, or an error above the threshold; the message says what to click.
    """
    opts = options or CalibrationOptions()
    names = list(clicks)
    try:
        world = template.xy(names)
    except CourtError as exc:
        raise CourtError(f"camera {camera}: {exc}") from None
    image = np.array([clicks[n] for n in names], dtype=np.float64).reshape(-1, 2)
    w, h = resolution_wh
    if len(names) < MIN_LANDMARKS:
        raise CourtError(
            f"camera {camera}: {len(names)} landmark(s) clicked, at least {MIN_LANDMARKS} are needed; "
            f"also click e.g. {_suggest(template, names, MIN_LANDMARKS - len(names) + 1)}"
        )
    outside = [n for n, (x, y) in zip(names, image) if not (0 <= x <= w and 0 <= y <= h)]
    if outside:
        raise CourtError(
            f"camera {camera}: landmark(s) {outside} are outside the {w}x{h} image; "
            "click only landmarks you can see in this camera"
        )
    if line_ratio(world) < opts.collinear_ratio:
        raise CourtError(
            f"camera {camera}: the clicked landmarks ({', '.join(names)}) lie on one line of the court; "
            f"add landmarks off that line, e.g. {_suggest(template, names)}"
        )
    if line_ratio(image) < opts.collinear_ratio:
        raise CourtError(
            f"camera {camera}: the clicks lie on one line in the picture; "
            f"click landmarks spread over the visible floor, e.g. {_suggest(template, names)}"
        )
    if len(names) == MIN_LANDMARKS and (np.any(_triangle_sign(world) == 0) or np.any(_triangle_sign(image) == 0)):
        raise CourtError(f"camera {camera}: three of the 4 landmarks are on one line; click a fifth off that line")
    limit = opts.error_limit(resolution_wh)
    if len(names) >= RANSAC_MIN_POINTS:
        hom, mask = cv2.findHomography(world, image, cv2.RANSAC, opts.ransac_px or limit)
    else:
        hom, mask = cv2.findHomography(world, image, 0)
    if hom is None:
        raise CourtError(
            f"camera {camera}: no floor fits these clicks; check each click is on the landmark it names "
            f"({', '.join(names)})"
        )
    inlier = mask.ravel().astype(bool) if mask is not None else np.ones(len(names), bool)
    warnings = [f"landmark {n} was left out as a likely misclick" for n, ok in zip(names, inlier) if not ok]
    if inlier.sum() < MIN_LANDMARKS:
        raise CourtError(
            f"camera {camera}: only {int(inlier.sum())} clicks agree on one floor; check the clicks of "
            f"{[n for n, ok in zip(names, inlier) if not ok]}"
        )
    _check_orientation(camera, hom, world[inlier], [n for n, ok in zip(names, inlier) if ok])
    focal = opts.focal_px or estimate_focal(hom, resolution_wh)
    estimated = opts.focal_px is None
    if focal is None:
        focal = float(max(w, h))  # about a 53 degree horizontal view: refined below
    k0 = np.array([[focal, 0, w / 2], [0, focal, h / 2], [0, 0, 1]], dtype=np.float64)
    obj = np.column_stack([world[inlier], np.zeros(int(inlier.sum()))]).astype(np.float32)
    img = image[inlier].astype(np.float32)
    try:
        rvec, tvec, k = _fit_pose(obj, img, k0, (w, h), estimated)
    except cv2.error:
        rvec = None
    if rvec is None:
        raise CourtError(
            f"camera {camera}: no camera pose fits these clicks; check that each click is on the landmark it names"
        )
    rot, _ = cv2.Rodrigues(rvec)
    cam = CameraModel(camera, (int(w), int(h)), np.asarray(k, np.float64), rot, np.asarray(tvec, np.float64).ravel())
    if np.any(cam.depth(np.column_stack([world, np.zeros(len(world))])) <= 0):
        raise CourtError(f"camera {camera}: the fitted camera is below the floor; the clicks are mirrored or twisted")
    reproj = cam.project(world)
    err_px = np.linalg.norm(reproj - image, axis=1)
    err_m = np.linalg.norm(cam.image_to_floor(image) - world, axis=1)
    residuals = tuple(
        LandmarkResidual(n, (float(a[0]), float(a[1])), (float(b[0]), float(b[1])), float(ep), float(em), bool(ok))
        for n, a, b, ep, em, ok in zip(names, image, reproj, err_px, err_m, inlier)
    )
    rms_px = float(np.sqrt(np.mean(err_px[inlier] ** 2)))
    rms_m = float(np.sqrt(np.nanmean(err_m[inlier] ** 2)))
    if rms_px > limit:
        worst = names[int(np.argmax(np.where(inlier, err_px, -1)))]
        raise CourtError(
            f"camera {camera}: reprojection error {rms_px:.1f} px is above {limit:.1f} px; the worst landmark is "
            f"{worst} ({err_px[names.index(worst)]:.1f} px): click it again precisely, or give the focal length"
        )
    return CameraFit(cam, hom / hom[2, 2], residuals, rms_px, rms_m, estimated, tuple(warnings))
