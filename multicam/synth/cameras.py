"""Pinhole cameras around the court: intrinsics, look-at extrinsics, projection, ground homographies.

World frame: metres, the court's corner at the origin, ``x`` along the court's length,
``y`` across it, ``z`` up; the court is the ground plane ``z = 0``. Camera frame: OpenCV
(``x`` right, ``y`` down, ``z`` forward). A world point ``P`` is seen at
``K (R P + t)``; no lens distortion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from multicam.court.camera import ground_homography, image_homography

# Per camera index: (width factor of the widest camera, height / width).
_SHAPES = (
    (1.0, 9 / 16),
    (2 / 3, 3 / 4),
    (5 / 6, 9 / 16),
    (3 / 4, 9 / 16),
    (5 / 6, 3 / 4),
    (2 / 3, 9 / 16),
    (3 / 4, 3 / 4),
    (5 / 6, 9 / 16),
)

# Per camera index: position and look-at target as fractions of the court (length, width)
# plus metres of height, and a zoom factor (1 = the whole court fills the view).
_PLACEMENTS = (
    ((0.50, -0.70, 10.0), (0.50, 0.50), 1.0),  # side: elevated, along the side line
    ((-0.25, 0.50, 8.0), (0.42, 0.50), 1.0),  # end: behind one end
    ((1.125, 1.27, 11.0), (0.45, 0.45), 1.0),  # corner: high, behind a corner
    ((1.30, 0.50, 5.0), (0.58, 0.50), 1.0),  # end_far: behind the other end
    ((0.50, 1.60, 7.0), (0.50, 0.50), 1.0),  # side_far: the opposite side
    ((-0.14, -0.33, 4.0), (0.35, 0.60), 1.3),  # corner_low: low corner, a partial view
    ((0.50, -0.13, 20.0), (0.50, 0.50), 1.0),  # high: almost overhead
    ((-0.14, 1.33, 9.0), (0.50, 0.40), 1.2),  # corner_far: a partial view
)


def even(value: float) -> int:
    """The nearest even integer >= 2 (video encoders need even sizes)."""
    return max(2, 2 * int(round(value / 2)))


def camera_resolution_wh(index: int, width: int) -> tuple[int, int]:
    """Resolution of camera ``index`` when the widest (reference) camera is ``width`` pixels wide."""
    factor, aspect = _SHAPES[index % len(_SHAPES)]
    w = even(width * factor)
    return w, even(w * aspect)


def look_at(position: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation ``R`` (3, 3) and translation ``t`` (3,) of a camera at ``position`` looking at ``target``.

    The camera's ``x`` axis stays horizontal (no roll).
    """
    position = np.asarray(position, dtype=np.float64)
    forward = np.asarray(target, dtype=np.float64) - position
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
    if np.linalg.norm(right) < 1e-9:
        raise ValueError("a camera looking straight down needs a roll; move it off the vertical")
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rot = np.stack([right, down, forward])
    return rot, -rot @ position


@dataclass(frozen=True)
class PinholeCamera:
    """A calibrated camera.

    Attributes:
        name: camera name.
        resolution_wh: ``(W, H)`` in pixels.
        K: (3, 3) intrinsics.
        R: (3, 3) world-to-camera rotation.
        t: (3,) world-to-camera translation.
    """

    name: str
    resolution_wh: tuple[int, int]
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray

    @property
    def position_m(self) -> np.ndarray:
        """Camera centre in world metres, (3,)."""
        return -self.R.T @ self.t

    @property
    def focal_px(self) -> float:
        return float(self.K[0, 0])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) to camera coordinates (..., 3)."""
        return np.asarray(points, dtype=np.float64) @ self.R.T + self.t

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (..., 3) to pixels (..., 2) and depths (...,) along the optical axis.

        Pixel coordinates are continuous: pixel ``(i, j)`` covers ``[i, i+1) x [j, j+1)``.
        Points behind the camera get meaningless pixels and a depth <= 0.
        """
        cam = self.to_camera(points)
        depth = cam[..., 2]
        safe = np.where(np.abs(depth) < 1e-9, 1e-9, depth)
        uv = cam[..., :2] / safe[..., None] * np.array([self.K[0, 0], self.K[1, 1]]) + self.K[:2, 2]
        return uv, depth

    @property
    def H_ground_to_image(self) -> np.ndarray:
        """Homography (3, 3): ground metres ``(X, Y, 1)`` -> pixels, ``K [r1 r2 t]``, normalised."""
        return ground_homography(self.K, self.R, self.t)

    @property
    def H_image_to_ground(self) -> np.ndarray:
        """Homography (3, 3): pixels -> ground metres ``(X, Y)``."""
        return image_homography(self.K, self.R, self.t)

    def ground_visible_mask(self) -> np.ndarray:
        """``(H, W)`` bool: pixels whose viewing ray hits the ground in front of the camera (below the horizon)."""
        w, h = self.resolution_wh
        us = np.arange(w) + 0.5
        vs = np.arange(h) + 0.5
        # world z of the ray direction R^T K^-1 (u, v, 1) is linear in u and v
        kinv = np.linalg.inv(self.K)
        row = (self.R.T @ kinv)[2]
        dz = row[0] * us[None, :] + row[1] * vs[:, None] + row[2]
        return dz < 0

    def to_json(self) -> dict:
        w, h = self.resolution_wh
        return {
            "resolution_wh": [w, h],
            "K": np.round(self.K, 6).tolist(),
            "R": np.round(self.R, 9).tolist(),
            "t": np.round(self.t, 9).tolist(),
            "position_m": np.round(self.position_m, 6).tolist(),
            "H_ground_to_image": np.round(self.H_ground_to_image, 9).tolist(),
            "H_image_to_ground": np.round(self.H_image_to_ground, 9).tolist(),
        }


def _fit_focal(
    rot: np.ndarray, t: np.ndarray, resolution_wh: tuple[int, int], points: np.ndarray, fill: float = 0.97
) -> float:
    """Largest focal length (px) that keeps every point inside ``fill`` of the image around its centre."""
    cam = points @ rot.T + t
    if np.any(cam[:, 2] <= 0.1):
        raise ValueError("a court point is behind the camera; move the camera back")
    xn = np.abs(cam[:, 0] / cam[:, 2]).max()
    yn = np.abs(cam[:, 1] / cam[:, 2]).max()
    w, h = resolution_wh
    return float(min(fill * w / 2 / xn, fill * h / 2 / yn))


def _centred_look_at(
    position: np.ndarray, target: np.ndarray, points: np.ndarray, resolution_wh: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Look-at whose optical axis passes through the centre of ``points``' projected bounding box."""
    w, h = resolution_wh
    for _ in range(4):
        rot, t = look_at(position, target)
        cam = points @ rot.T + t
        xn, yn = cam[:, 0] / cam[:, 2], cam[:, 1] / cam[:, 2]
        # keep the aspect in mind: the box centre in normalised coordinates
        cx, cy = 0.5 * (xn.min() + xn.max()), 0.5 * (yn.min() + yn.max())
        ray = rot.T @ np.array([cx, cy, 1.0])
        target = position + ray / np.linalg.norm(ray) * np.linalg.norm(target - position)
    del w, h
    return look_at(position, target)


def make_cameras(names: tuple[str, ...], width: int, court_size_m: tuple[float, float]) -> list[PinholeCamera]:
    """The game's cameras: camera ``i`` at placement ``i`` around a court of ``court_size_m``."""
    length, breadth = court_size_m
    margin = 0.4
    corners = np.array(
        [[x, y, z] for x in (-margin, length + margin) for y in (-margin, breadth + margin) for z in (0.0, 2.0)]
    )
    cameras = []
    for i, name in enumerate(names):
        (px, py, pz), (tx, ty), zoom = _PLACEMENTS[i % len(_PLACEMENTS)]
        position = np.array([px * length, py * breadth, pz])
        target = np.array([tx * length, ty * breadth, 0.0])
        res = camera_resolution_wh(i, width)
        rot, t = _centred_look_at(position, target, corners, res)
        f = _fit_focal(rot, t, res, corners) * zoom
        k = np.array([[f, 0.0, res[0] / 2], [0.0, f, res[1] / 2], [0.0, 0.0, 1.0]])
        cameras.append(PinholeCamera(name=name, resolution_wh=res, K=k, R=rot, t=t))
    return cameras
