"""Foot points from the pictures: foreground components against a median background."""

from __future__ import annotations

import numpy as np
import pytest

from multicam.sync.blobs import foreground_foot_points, read_foot_points


def picture(people: list[tuple[int, int, int, int]], noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A 120 x 160 floor with people drawn as (x0, y0, x1, y1) boxes in two colours (shirt over shorts)."""
    rng = np.random.default_rng(seed)
    img = np.zeros((120, 160, 3), np.float32) + np.array([190, 140, 90], np.float32)
    for x0, y0, x1, y1 in people:
        mid = (y0 + y1) // 2
        img[y0:mid, x0:x1] = (200, 30, 40)
        img[mid:y1, x0:x1] = (245, 245, 245)
    return np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "people, expected",
    [
        ([], []),
        ([(20, 30, 26, 50)], [(23.0, 50.0)]),
        ([(20, 30, 26, 50), (100, 60, 106, 90)], [(23.0, 50.0), (103.0, 90.0)]),
        ([(50, 50, 51, 51)], []),  # a single pixel is noise
        ([(0, 0, 160, 120)], []),  # the whole picture changed: lighting, not an object
    ],
)
def test_foreground_foot_points(people, expected):
    background = picture([])
    got = foreground_foot_points(picture(people, noise=3.0), background)
    got = sorted(map(tuple, np.round(got, 1)))
    assert got == sorted(expected)


def test_read_foot_points_of_a_clip(tmp_path):
    """Two people crossing a 160 x 120 floor, encoded in H.264: their feet in every frame, in clip pixels."""
    import av

    path = tmp_path / "cross.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.options = {"crf": "18"}
        for i in range(40):
            img = picture([(10 + 3 * i, 30, 16 + 3 * i, 50), (140 - 2 * i, 60, 146 - 2 * i, 90)], noise=2.0, seed=i)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    feet = read_foot_points(path, width=80)  # analysed at half size, given back in clip pixels
    assert len(feet.times_s) == 40 and not feet.has_ids and feet.fps == pytest.approx(25)
    assert np.bincount(feet.frame, minlength=40).tolist() == [2] * 40
    first = sorted(map(tuple, feet.xy[feet.frame == 0]))
    assert first[0] == pytest.approx((13.0, 50.0), abs=1.5) and first[1] == pytest.approx((143.0, 90.0), abs=1.5)
