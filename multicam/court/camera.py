"""A calibrated camera (intrinsics, lens distortion, pose) and its floor mappings; the calibration.json format.

``calibration.json`` is the file ``multicam synth`` writes; :func:`calibration_json` writes the same
keys for every camera (``resolution_wh``, ``K``, ``R``, ``t``, ``position_m``, ``H_ground_to_image``,
``H_image_to_ground``) plus ``dist`` (OpenCV order ``k1 k2 p1 p2 [k3 ...]``, empty for none). With
distortion, the homographies map *undistorted* pixels; :meth:`CameraModel.image_to_floor` undistorts
first (``cv2.undistortPoints``), so every pixel that becomes a floor point goes through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

CALIBRATION_UNITS = "m"


def ground_homography(k: np.ndarray, rot: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Homography (3, 3) of the floor ``z = 0``: metres ``(X, Y, 1)`` -> pixels, ``K [r1 r2 t]``, normalised."""
    h = k @ np.column_stack([rot[:, 0], rot[:, 1], t])
    return h / h[2, 2]


def image_homography(k: np.ndarray, rot: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Homography (3, 3): pixels -> floor metres ``(X, Y)``, the inverse of :func:`ground_homography`."""
    h = np.linalg.inv(ground_homography(k, rot, t))
    return h / h[2, 2]


@dataclass(frozen=True)
class CameraModel:
    """A pinhole camera with optional lens distortion.

    Attributes:
        name: camera name (as in the game file).
        resolution_wh: ``(W, H)`` pixels the calibration is for.
        K: ``(3, 3)`` intrinsics.
        R: ``(3, 3)`` world-to-camera rotation.
        t: ``(3,)`` world-to-camera translation; a world point ``P`` is at ``R P + t`` in the camera.
        dist: OpenCV distortion coefficients (``(0,)`` for none).
    """

    name: str
    resolution_wh: tuple[int, int]
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    dist: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def position_m(self) -> np.ndarray:
        return -self.R.T @ self.t

    @property
    def focal_px(self) -> float:
        return float(self.K[0, 0])

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(np.abs(self.dist) > 0))

    @property
    def P(self) -> np.ndarray:
        """``(3, 4)`` projection matrix ``K [R | t]`` (undistorted pixels)."""
        return self.K @ np.column_stack([self.R, self.t])

    @property
    def H_ground_to_image(self) -> np.ndarray:
        return ground_homography(self.K, self.R, self.t)

    @property
    def H_image_to_ground(self) -> np.ndarray:
        return image_homography(self.K, self.R, self.t)

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points ``(N, 3)`` (or floor points ``(N, 2)``) to distorted pixels ``(N, 2)``."""
        pts = np.asarray(points, dtype=np.float64)
        pts = pts.reshape(-1, pts.shape[-1])
        if pts.shape[1] == 2:
            pts = np.column_stack([pts, np.zeros(len(pts))])
        rvec, _ = cv2.Rodrigues(self.R)
        uv, _ = cv2.projectPoints(pts, rvec, self.t.reshape(3, 1), self.K, self.dist if self.dist.size else None)
        return uv.reshape(-1, 2)

    def depth(self, points: np.ndarray) -> np.ndarray:
        """Depth along the optical axis of world points ``(N, 3)``; <= 0 is behind the camera."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        return (pts @ self.R.T + self.t)[:, 2]

    def undistort(self, pixels: np.ndarray) -> np.ndarray:
        """Distorted pixels ``(N, 2)`` to the undistorted pixels the homographies and ``P`` expect."""
        px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        if not self.has_distortion or len(px) == 0:
            return px
        return cv2.undistortPoints(px.reshape(-1, 1, 2), self.K, self.dist, P=self.K).reshape(-1, 2)

    def image_to_floor(self, pixels: np.ndarray, height_m: float = 0.0) -> np.ndarray:
        """Pixels ``(N, 2)`` to floor points ``(N, 2)`` metres, on the plane ``z = height_m``.

        Points above the horizon (rays that never reach the plane in front of the camera) are NaN.
        """
        px = self.undistort(pixels)
        if len(px) == 0:
            return np.zeros((0, 2))
        rays = np.linalg.solve(self.K, np.column_stack([px, np.ones(len(px))]).T).T @ self.R  # world directions
        c = self.position_m
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (height_m - c[2]) / rays[:, 2]
        out = c[:2] + s[:, None] * rays[:, :2]
        out[~(s > 0)] = np.nan
        return out

    def to_json(self) -> dict:
        w, h = self.resolution_wh
        return {
            "resolution_wh": [int(w), int(h)],
            "K": np.round(self.K, 6).tolist(),
            "dist": np.round(self.dist, 9).tolist(),
            "R": np.round(self.R, 9).tolist(),
            "t": np.round(self.t, 9).tolist(),
            "position_m": np.round(self.position_m, 6).tolist(),
            "H_ground_to_image": np.round(self.H_ground_to_image, 9).tolist(),
            "H_image_to_ground": np.round(self.H_image_to_ground, 9).tolist(),
        }

    @classmethod
    def from_json(cls, name: str, data: dict) -> CameraModel:
        """A camera from its calibration.json entry (needs ``resolution_wh``, ``K``, ``R``, ``t``)."""
        return cls(
            name=name,
            resolution_wh=(int(data["resolution_wh"][0]), int(data["resolution_wh"][1])),
            K=np.asarray(data["K"], dtype=np.float64).reshape(3, 3),
            R=np.asarray(data["R"], dtype=np.float64).reshape(3, 3),
            t=np.asarray(data["t"], dtype=np.float64).reshape(3),
            dist=np.asarray(data.get("dist") or [], dtype=np.float64).ravel(),
        )


def calibration_json(cameras: list[CameraModel], court_size_m: tuple[float, float] | None, **extra) -> dict:
    """The content of calibration.json for these cameras (the format ``multicam synth`` writes)."""
    out: dict = {"units": CALIBRATION_UNITS}
    if court_size_m is not None:
        out["court_size_m"] = [float(court_size_m[0]), float(court_size_m[1])]
    out["cameras"] = {c.name: c.to_json() for c in cameras}
    out.update(extra)
    return out


def cameras_from_json(data: dict) -> dict[str, CameraModel]:
    """The cameras of a parsed calibration.json that have full intrinsics and pose (others are skipped)."""
    out = {}
    for name, cam in (data.get("cameras") or {}).items():
        if isinstance(cam, dict) and all(k in cam for k in ("resolution_wh", "K", "R", "t")):
            out[str(name)] = CameraModel.from_json(str(name), cam)
    return out
