"""Rendering: a static background per camera, then the objects far-to-near (painter's algorithm).

Every primitive is drawn with the same OpenCV call (same points, radius, ``LINE_8``, no
antialiasing) into the RGB image and into an ``int32`` id buffer, so an object's ground-truth
mask (``ids == object_id``) is exactly the pixels it covers in the picture, occlusion included.
Shadows, motion blur, noise and compression change the pixels only.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from multicam.synth.cameras import PinholeCamera
from multicam.synth.scene import Scene, body_parts

SHIFT = 4  # OpenCV fixed-point bits for sub-pixel drawing
SCALE = float(1 << SHIFT)
LIMIT = 1e5  # pixel coordinates are clamped to +-LIMIT before drawing
PX_PER_M = 40  # top-down court texture resolution
FLOOR_MARGIN_M = 4.0  # floor drawn around the court
LINE = (242, 242, 236)
PAINT = (46, 110, 80)
APRON = (52, 88, 140)


def court_texture(court_size_m: tuple[float, float], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A top-down RGB image of the floor and the affine (3, 3) from its OpenCV pixel coordinates to metres.

    The court (wooden boards, painted keys, white lines) sits in an apron of ``FLOOR_MARGIN_M``.
    """
    rng = np.random.default_rng([seed, 9001])
    length, width = court_size_m
    m = FLOOR_MARGIN_M
    w_px = int(round((length + 2 * m) * PX_PER_M))
    h_px = int(round((width + 2 * m) * PX_PER_M))

    def px(x: float, y: float) -> tuple[int, int]:
        return int(round((x + m) * PX_PER_M * SCALE)), int(round((y + m) * PX_PER_M * SCALE))

    img = np.empty((h_px, w_px, 3), np.uint8)
    img[:] = APRON
    # boards: rows 0.14 m wide along the court's length, each with its own tone, plus grain
    x0, y0 = int(m * PX_PER_M), int(m * PX_PER_M)
    x1, y1 = int((m + length) * PX_PER_M), int((m + width) * PX_PER_M)
    rows = max(1, int(round(width / 0.14)))
    tones = rng.uniform(0.9, 1.08, rows)
    row_of = np.minimum((np.arange(y1 - y0) / (y1 - y0) * rows).astype(int), rows - 1)
    base = np.array([205, 160, 108], np.float64)
    grain = rng.normal(0, 6, (y1 - y0, (x1 - x0) // 8 + 1))
    grain = cv2.resize(grain, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    wood = base[None, None, :] * tones[row_of][:, None, None] + grain[..., None]
    img[y0:y1, x0:x1] = np.clip(wood, 0, 255).astype(np.uint8)
    # painted keys and lines
    key_len, key_w = 5.8, 4.9
    for xa, xb in ((0.0, key_len), (length - key_len, length)):
        cv2.rectangle(img, px(xa, (width - key_w) / 2), px(xb, (width + key_w) / 2), PAINT, -1, cv2.LINE_AA, SHIFT)
    lw = max(1, int(round(0.05 * PX_PER_M)))
    cv2.rectangle(img, px(0, 0), px(length, width), LINE, lw, cv2.LINE_AA, SHIFT)
    cv2.line(img, px(length / 2, 0), px(length / 2, width), LINE, lw, cv2.LINE_AA, SHIFT)
    r = int(round(1.8 * PX_PER_M * SCALE))
    cv2.circle(img, px(length / 2, width / 2), r, LINE, lw, cv2.LINE_AA, SHIFT)
    for xa, xb, basket in ((0.0, key_len, 1.575), (length - key_len, length, length - 1.575)):
        cv2.rectangle(img, px(xa, (width - key_w) / 2), px(xb, (width + key_w) / 2), LINE, lw, cv2.LINE_AA, SHIFT)
        x_ft = key_len if xa == 0 else length - key_len
        cv2.circle(img, px(x_ft, width / 2), r, LINE, lw, cv2.LINE_AA, SHIFT)
        # three-point line: an arc of 6.75 m around the basket, straight near the side lines
        ang = np.linspace(-np.pi / 2, np.pi / 2, 90)
        sign = 1.0 if xa == 0 else -1.0
        xs = basket + sign * 6.75 * np.cos(ang)
        ys = width / 2 + 6.75 * np.sin(ang)
        keep = (ys > 0.9) & (ys < width - 0.9)
        pts = np.array([px(x, y) for x, y in zip(xs[keep], ys[keep])], np.int32)
        x_end = xs[keep][0]
        pts = np.vstack(
            [
                [px(xa if sign > 0 else xb, 0.9)],
                [px(x_end, 0.9)],
                pts[1:-1],
                [px(x_end, width - 0.9)],
                [px(xa if sign > 0 else xb, width - 0.9)],
            ]
        ).astype(np.int32)
        cv2.polylines(img, [pts], False, LINE, lw, cv2.LINE_AA, SHIFT)
    # OpenCV pixel coordinates of the texture (centres at integers) to ground metres
    to_ground = np.array([[1 / PX_PER_M, 0, -m], [0, 1 / PX_PER_M, -m], [0, 0, 1]])
    return img, to_ground


def stands_texture(resolution_wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Spectators in the stands: rows of heads and shirts over a dark gradient, (H, W, 3) uint8."""
    w, h = resolution_wh
    img = np.empty((h, w, 3), np.uint8)
    img[:] = np.linspace(24, 58, h, dtype=np.float32).astype(np.uint8)[:, None, None]
    cell = max(3, int(round(w / 110)))
    shirts = rng.integers(30, 230, (h // cell + 2) * (w // cell + 2) * 2, dtype=np.int64).reshape(-1, 2)
    skin = np.array([(224, 172, 125), (198, 134, 90), (141, 85, 54), (241, 194, 160)])
    k = 0
    for row, y in enumerate(range(cell, h + cell, cell)):
        for x in range(-(row % 2) * cell // 2, w + cell, cell):
            if rng.random() < 0.12:
                continue
            c = shirts[k % len(shirts)]
            k += 1
            jitter = int(rng.integers(-cell // 4, cell // 4 + 1))
            cv2.ellipse(
                img,
                (x + jitter, y),
                (cell // 2, cell // 2),
                0,
                180,
                360,
                (int(c[0]), int(c[1]), int(255 - c[0] // 2)),
                -1,
            )
            cv2.circle(
                img,
                (x + jitter, y - cell // 2 - cell // 5),
                max(1, cell // 4),
                tuple(int(v) for v in skin[k % len(skin)]),
                -1,
            )
    img = cv2.GaussianBlur(img, (0, 0), 0.6)
    return (img.astype(np.float32) * 0.8).astype(np.uint8)


def render_background(camera: PinholeCamera, floor: np.ndarray, floor_to_ground: np.ndarray, seed: int) -> np.ndarray:
    """The camera's static picture: the floor warped by its ground homography over the stands."""
    w, h = camera.resolution_wh
    rng = np.random.default_rng([seed, 9101, sum(map(ord, camera.name))])
    out = stands_texture(camera.resolution_wh, rng)
    # OpenCV puts pixel centres at integers; our pixel coordinates put them at +0.5
    half = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]])
    warp = half @ camera.H_ground_to_image @ floor_to_ground
    warped = cv2.warpPerspective(floor, warp, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    cover = (
        cv2.warpPerspective(
            np.full(floor.shape[:2], 255, np.uint8),
            warp,
            (w, h),
            flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT,
        )
        > 0
    )
    cover &= camera.ground_visible_mask()
    out[cover] = warped[cover]
    # a gentle vignette
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    out = np.clip(out.astype(np.float32) * (1.0 - 0.12 * r2)[..., None], 0, 255).astype(np.uint8)
    return out


@dataclass(frozen=True)
class Projected:
    """Primitives in one camera's pixels, sorted far to near.

    Attributes:
        a: (M, 2) first end in pixels; b: (M, 2) second end.
        ra: (M,) radius at ``a`` in pixels; rb: (M,) at ``b``.
        colour: (M, 3) RGB uint8.
        object_id: (M,) id of each primitive's object.
    """

    a: np.ndarray
    b: np.ndarray
    ra: np.ndarray
    rb: np.ndarray
    colour: np.ndarray
    object_id: np.ndarray


def project_parts(camera: PinholeCamera, scene: Scene, time: float, only: int | None = None) -> Projected:
    """Project the scene's primitives at a game time into a camera, far to near, dropping those behind it."""
    parts = body_parts(scene, time, only=only)
    ua, da = camera.project(parts.a)
    ub, db = camera.project(parts.b)
    f = camera.focal_px
    keep = (da > 0.05) & (db > 0.05)
    order = np.argsort(-(0.5 * (da + db))[keep], kind="stable")
    idx = np.nonzero(keep)[0][order]
    ids = np.array([o.object_id for o in scene.objects], np.int32)
    return Projected(
        a=np.clip(ua[idx], -LIMIT, LIMIT),
        b=np.clip(ub[idx], -LIMIT, LIMIT),
        ra=f * parts.radius[idx] / da[idx],
        rb=f * parts.radius[idx] / db[idx],
        colour=parts.colour[idx],
        object_id=ids[parts.object_index[idx]],
    )


def _fixed(points: np.ndarray) -> np.ndarray:
    """Continuous pixel coordinates (..., 2) to OpenCV fixed point (pixel centres at +0.5), int64."""
    return np.round((points - 0.5) * SCALE).astype(np.int64)


def _layers(projected: Projected, shading: bool) -> tuple[np.ndarray, ...]:
    """Each primitive, followed by its lighter inner copy when it is big enough to show one."""
    a, b, ra, rb, colour, ids = (
        projected.a,
        projected.b,
        projected.ra,
        projected.rb,
        projected.colour.astype(np.float64),
        projected.object_id,
    )
    m = len(ids)
    if not shading or m == 0:
        return a, b, ra, rb, colour, ids
    lit = np.nonzero(np.maximum(ra, rb) >= 2.5)[0]
    off = -0.25 * ra[lit, None]
    a2, b2 = a[lit] + off, b[lit] + off
    order = np.argsort(np.concatenate([np.arange(m) * 2, lit * 2 + 1]), kind="stable")

    def cat(x, y):
        return np.concatenate([x, y])[order]

    light = np.minimum(255.0, colour[lit] * 1.18 + 12)
    return (
        cat(a, a2),
        cat(b, b2),
        cat(ra, 0.5 * ra[lit]),
        cat(rb, 0.5 * rb[lit]),
        cat(colour, light),
        cat(ids, ids[lit]),
    )


def draw(projected: Projected, rgb: np.ndarray | None, ids: np.ndarray | None, shading: bool = True) -> None:
    """Draw primitives in order into ``rgb`` (H, W, 3) uint8 and/or ``ids`` (H, W) int32, in place.

    A primitive is a tapered capsule (two discs joined by their tangent quad) or a disc when both
    ends coincide; a lighter inner copy gives a little relief. Both buffers get the very same
    OpenCV calls, so masks and pictures agree pixel for pixel.
    """
    a, b, ra, rb, colour, oid = _layers(projected, shading)
    if len(oid) == 0:
        return
    d = b - a
    n = np.hypot(d[:, 0], d[:, 1])
    has_quad = n > 1e-6
    perp = np.column_stack([-d[:, 1], d[:, 0]]) / np.where(has_quad, n, 1.0)[:, None]
    quads = _fixed(
        np.stack(
            [a + perp * ra[:, None], b + perp * rb[:, None], b - perp * rb[:, None], a - perp * ra[:, None]], axis=1
        )
    ).astype(np.int32)
    ca, cb = _fixed(a).tolist(), _fixed(b).tolist()
    ia, ib = np.round(ra * SCALE).astype(np.int64).tolist(), np.round(rb * SCALE).astype(np.int64).tolist()
    colours = [tuple(c) for c in np.round(colour).astype(np.int64).tolist()]
    id_list = oid.tolist()
    quad_flags = has_quad.tolist()
    targets = [(img, kind) for img, kind in ((rgb, 0), (ids, 1)) if img is not None]
    for k in range(len(id_list)):
        for img, kind in targets:
            col = colours[k] if kind == 0 else (id_list[k],)
            cv2.circle(img, ca[k], ia[k], col, -1, cv2.LINE_8, SHIFT)
            if quad_flags[k]:
                cv2.circle(img, cb[k], ib[k], col, -1, cv2.LINE_8, SHIFT)
                cv2.fillConvexPoly(img, quads[k], col, cv2.LINE_8, SHIFT)


def draw_shadows(camera: PinholeCamera, scene: Scene, time: float, rgb: np.ndarray) -> None:
    """Darken the floor under each object (pixels only: shadows are not part of any mask)."""
    roots = scene.roots(time)
    ball = np.array([o.team is None for o in scene.objects])
    ang = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    rx = np.where(ball, 0.11 * np.maximum(0.3, 1.0 - roots[:, 2] / 4), 0.42)
    ry = np.where(ball, rx, 0.26)
    cx = roots[:, 0] + np.where(ball, 0.0, 0.15)
    cy = roots[:, 1] + np.where(ball, 0.0, 0.1)
    rings = np.stack(
        [
            cx[:, None] + rx[:, None] * np.cos(ang),
            cy[:, None] + ry[:, None] * np.sin(ang),
            np.zeros((len(cx), len(ang))),
        ],
        axis=-1,
    )
    uv, depth = camera.project(rings)
    keep = (depth > 0.05).all(axis=1)
    if not keep.any():
        return
    uv = np.clip(uv[keep], -LIMIT, LIMIT)
    h, w = rgb.shape[:2]
    x0 = int(np.clip(np.floor(uv[..., 0].min()) - 1, 0, w))
    x1 = int(np.clip(np.ceil(uv[..., 0].max()) + 2, 0, w))
    y0 = int(np.clip(np.floor(uv[..., 1].min()) - 1, 0, h))
    y1 = int(np.clip(np.ceil(uv[..., 1].max()) + 2, 0, h))
    if x1 <= x0 or y1 <= y0:
        return
    shadow = np.zeros((y1 - y0, x1 - x0), np.uint8)
    pts = _fixed(uv - np.array([x0, y0])).astype(np.int32)
    cv2.fillPoly(shadow, list(pts), 1, cv2.LINE_8, SHIFT)
    crop = rgb[y0:y1, x0:x1]
    sel = shadow.astype(bool)
    crop[sel] = (crop[sel] * 0.62).astype(np.uint8)


class CameraRenderer:
    """Renders one camera's frames of a scene.

    Args:
        camera: the camera.
        scene: the scene.
        background: the camera's static picture (H, W, 3) uint8.
    """

    def __init__(self, camera: PinholeCamera, scene: Scene, background: np.ndarray):
        self.camera = camera
        self.scene = scene
        self.background = background

    def render(self, time: float) -> tuple[np.ndarray, np.ndarray]:
        """The picture (H, W, 3) uint8 RGB and the id buffer (H, W) int32 (0 = background) at a game time."""
        rgb = self.background.copy()
        draw_shadows(self.camera, self.scene, time, rgb)
        w, h = self.camera.resolution_wh
        ids = np.zeros((h, w), np.int32)
        draw(project_parts(self.camera, self.scene, time), rgb, ids)
        return rgb, ids

    def render_rgb(self, time: float) -> np.ndarray:
        rgb = self.background.copy()
        draw_shadows(self.camera, self.scene, time, rgb)
        draw(project_parts(self.camera, self.scene, time), rgb, None)
        return rgb

    def render_ids(self, time: float, only: int | None = None) -> np.ndarray:
        """The id buffer alone; ``only`` (an object index) draws that object without the others."""
        w, h = self.camera.resolution_wh
        ids = np.zeros((h, w), np.int32)
        draw(project_parts(self.camera, self.scene, time, only=only), None, ids)
        return ids
