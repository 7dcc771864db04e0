"""The game clock: camera frames <-> game time."""

from __future__ import annotations

import pytest

from multicam.timeline import CameraTiming, Timeline, synchronized_order


@pytest.mark.parametrize(
    ("fps", "offset", "frames", "time", "expected"),
    [
        (25, 0.0, 10, 0.0, 0),
        (25, 0.0, 10, 0.039, 1),
        (25, 0.0, 10, 0.36, 9),
        (25, 0.0, 10, 0.5, None),
        (30, -0.1, 12, 0.0, 3),
        (30, 0.5, 12, 0.0, None),
        (30, 0.5, 12, 0.49, 0),
        (25, 0.0, 0, 0.0, None),
    ],
)
def test_frame_at(fps, offset, frames, time, expected):
    assert CameraTiming("c", fps, frames, offset).frame_at(time) == expected


def test_time_of_and_convert_round_trip():
    tl = Timeline((CameraTiming("a", 25, 100, 0.0), CameraTiming("b", 30, 130, -0.2)), reference="a")
    for f in range(100):
        g = tl.convert("a", f, "b")
        assert g is not None
        assert abs(tl.camera("b").time_of(g) - tl.camera("a").time_of(f)) <= 0.5 / 30 + 1e-9
    assert tl.start == pytest.approx(-0.2)
    assert tl.end == pytest.approx(-0.2 + 130 / 30)
    assert tl.frames_at(3.96) == {"a": 99, "b": 125}
    assert tl.frames_at(4.2) == {"a": None, "b": None}


def test_unknown_reference_is_rejected():
    with pytest.raises(ValueError, match="reference"):
        Timeline((CameraTiming("a", 25, 1),), reference="z")


@pytest.mark.parametrize("cams", [(), (CameraTiming("a", 25, 3),)])
def test_synchronized_order_small(cams):
    order = synchronized_order(cams)
    assert order == [("a", i, i / 25) for i in range(3)][: sum(c.frame_count for c in cams)]


def test_synchronized_order_interleaves_by_time():
    cams = (CameraTiming("a", 10, 3, 0.0), CameraTiming("b", 10, 3, 0.0), CameraTiming("c", 20, 2, 0.05))
    order = synchronized_order(cams)
    assert [(c, f) for c, f, _ in order] == [
        ("a", 0),
        ("b", 0),
        ("c", 0),
        ("a", 1),
        ("b", 1),
        ("c", 1),
        ("a", 2),
        ("b", 2),
    ]
