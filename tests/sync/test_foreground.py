"""Contact pixels from the pictures: the bottom rows of what differs from a median background."""

from __future__ import annotations

import numpy as np
import pytest

from multicam.sync.foreground import contact_pixels, foreground_mask, read_contact_points


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
    "people, expected_boxes",
    [
        ([], []),
        ([(20, 30, 26, 50)], [(20, 30, 26, 50)]),
        ([(20, 30, 26, 50), (100, 60, 106, 90)], [(20, 30, 26, 50), (100, 60, 106, 90)]),
        ([(50, 50, 51, 51)], []),  # a single pixel is noise
    ],
)
def test_foreground_mask(people, expected_boxes):
    got = foreground_mask(picture(people, noise=3.0), picture([]))
    want = np.zeros((120, 160), bool)
    for x0, y0, x1, y1 in expected_boxes:
        want[y0:y1, x0:x1] = True
    assert got.dtype == bool and np.array_equal(got, want)


def boxes(*rects: tuple[int, int, int, int], shape=(40, 50)) -> np.ndarray:
    out = np.zeros(shape, bool)
    for x0, y0, x1, y1 in rects:
        out[y0:y1, x0:x1] = True
    return out


@pytest.mark.parametrize(
    "mask, rows, expected",
    [
        (boxes(), 2, set()),
        (boxes((10, 5, 12, 15)), 1, {(10.5, 14.5), (11.5, 14.5)}),
        (boxes((10, 5, 12, 15)), 2, {(x + 0.5, y + 0.5) for x in (10, 11) for y in (13, 14)}),
        (boxes((10, 5, 12, 15)), 0, {(10.5, 14.5), (11.5, 14.5)}),  # at least one row
        # one person in front of another: both pairs of feet are found, nothing is segmented
        (boxes((10, 5, 12, 15), (11, 2, 13, 12)), 1, {(10.5, 14.5), (11.5, 14.5), (12.5, 11.5)}),
        (boxes((0, 38, 3, 40)), 1, {(0.5, 39.5), (1.5, 39.5), (2.5, 39.5)}),  # feet on the picture's edge
        (boxes((0, 0, 50, 20)), 1, set()),  # half the picture changed: the light, not people
    ],
)
def test_contact_pixels(mask, rows, expected):
    got = contact_pixels(mask, rows)
    assert got.shape == (len(expected), 2)
    assert set(map(tuple, got)) == expected


def test_read_contact_points_of_a_clip(tmp_path):
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
    contacts = read_contact_points(path, width=80)  # analysed at half size, given back in clip pixels
    assert len(contacts.times_s) == 40 and not contacts.has_ids and contacts.fps == pytest.approx(25)
    assert contacts.times_s[1] == pytest.approx(0.04)
    for frame in (0, 20, 39):
        pts = contacts.xy[contacts.frame == frame]
        left = pts[pts[:, 1] < 70]
        right = pts[pts[:, 1] >= 70]
        # the bottom row of each person (one row at half size = 2 clip pixels) across its width (3 px
        # at half size); where the shirt's edge blends into the floor (scaled down, chroma
        # subsampled) a hole in the foreground adds a contact pixel above it
        for person, bottom, x in ((left, 49.0, 13 + 3 * frame), (right, 89.0, 143 - 2 * frame)):
            at_bottom = np.abs(person[:, 1] - bottom) <= 1.5
            assert at_bottom.sum() >= 3 and person[:, 1].max() == pytest.approx(bottom, abs=1.5)
            assert person[at_bottom, 0].mean() == pytest.approx(x, abs=1.5)
