"""Lazy clip decoding: right frames in any access order, bounded memory, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from multicam.clips import Clip, probe_clip
from multicam.errors import ClipError


def _square_x(img: np.ndarray) -> int:
    row = img[14, :, 1].astype(int)  # green channel: only the white square
    return int(np.argmax(row > 128))


def test_probe(clip_factory):
    path = clip_factory(width=64, height=48, fps=30, frames=9)
    info = probe_clip(path)
    assert info.resolution_wh == (64, 48)
    assert info.fps == pytest.approx(30)
    assert info.frame_count == 9
    assert info.duration == pytest.approx(0.3)
    assert not info.has_audio


@pytest.mark.parametrize("order", ["forward", "backward", "random", "repeat"])
def test_frames_are_the_right_ones_in_any_order(clip_factory, order):
    path = clip_factory(frames=20)
    idx = {
        "forward": list(range(20)),
        "backward": list(range(19, -1, -1)),
        "random": list(np.random.default_rng(1).permutation(20)),
        "repeat": [3, 3, 4, 3, 19, 0],
    }[order]
    clip = Clip(path, cache_size=3)
    for i in idx:
        img = clip.frame(int(i))
        assert img.shape == (48, 64, 3) and img.dtype == np.uint8
        assert _square_x(img) == 2 * int(i)
        assert clip.cached_frames <= 3
    clip.close()


def test_sequential_reads_decode_each_frame_once(clip_factory):
    clip = Clip(clip_factory(frames=15), cache_size=2)
    for _ in clip.iter_frames():
        pass
    assert clip.decoded_frames == 15
    assert clip.seeks == 0


def test_out_of_range(clip_factory):
    clip = Clip(clip_factory(frames=5))
    with pytest.raises(IndexError, match="out of range 0..4"):
        clip.frame(5)


@pytest.mark.parametrize("content", [b"", b"not a video at all", None])
def test_bad_files_are_clip_errors(tmp_path, content):
    path = tmp_path / "bad.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ClipError):
        probe_clip(path)


def test_truncated_file(clip_factory):
    path = clip_factory(frames=30, width=128, height=96)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ClipError):
        info = probe_clip(path)
        clip = Clip(path, info=info)
        for _ in clip.iter_frames():
            pass
