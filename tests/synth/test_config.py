"""SynthConfig: defaults per camera, and clear errors for inconsistent settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from multicam.synth import SynthConfig
from multicam.synth.cameras import camera_resolution_wh


@pytest.mark.parametrize("num_cameras", [1, 3, 8])
def test_defaults_per_camera(num_cameras):
    cfg = SynthConfig(num_cameras=num_cameras, duration_s=2.0)
    assert len(cfg.camera_names) == len(set(cfg.camera_names)) == num_cameras
    assert cfg.camera_fps == tuple((25.0, 30.0)[i % 2] for i in range(num_cameras))
    assert cfg.camera_offsets[0] == 0.0 and cfg.camera_durations[0] == 2.0
    # offsets are not whole frames apart: clips are not frame-aligned
    for off, fps in zip(cfg.camera_offsets[1:], cfg.camera_fps[1:]):
        assert abs(off * fps - round(off * fps)) > 0.05
    assert cfg.total_frames == sum(cfg.camera_frame_counts)


@pytest.mark.parametrize("width", [64, 320, 961, 1920])
def test_resolutions_are_even_and_the_reference_is_widest(width):
    sizes = [camera_resolution_wh(i, width) for i in range(8)]
    assert all(w % 2 == 0 and h % 2 == 0 for w, h in sizes)
    assert max(w for w, _ in sizes) == sizes[0][0]
    assert all(w < sizes[0][0] for w, _ in sizes[1:])


def test_explicit_values_are_used():
    cfg = SynthConfig(num_cameras=3, fps=(24.0,), offsets=(0.0, -3.5, 9.0), durations=(2.0, 1.0, 0.5))
    assert cfg.camera_fps == (24.0, 24.0, 24.0)
    assert cfg.camera_offsets == (0.0, -3.5, 9.0)
    assert cfg.camera_frame_counts == (48, 24, 12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"offsets": (0.0, 0.1)}, "exactly 3 values"),
        ({"offsets": (0.5, 0.1, 0.2)}, "must be 0"),
        ({"fps": (25.0, 30.0)}, "1 or 3 values"),
        ({"fps": (0.0,)}, "fps"),
        ({"durations": (1.0, 0.0, 1.0)}, "positive"),
        ({"num_cameras": 9}, "less than or equal to 8"),
        ({"num_cameras": 0}, "greater than or equal to 1"),
        ({"crf": 60}, "less than or equal to 51"),
        ({"colour": "red"}, "Extra inputs"),
    ],
)
def test_invalid_configs_are_rejected(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        SynthConfig(**kwargs)


def test_config_is_frozen():
    cfg = SynthConfig()
    with pytest.raises(ValidationError):
        cfg.seed = 3  # type: ignore[misc]
