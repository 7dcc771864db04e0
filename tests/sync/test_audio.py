"""Audio sync: decoding timing (AAC priming, late audio, sample rates) and GCC-PHAT offsets."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from multicam.sync.audio import AudioTrack, audio_offset, decode_audio
from multicam.sync.errors import SyncError

RATE = 16000


def noisy(world_audio: np.ndarray, seed: int, level: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (world_audio + level * rng.normal(size=len(world_audio))).astype(np.float32)


@pytest.mark.parametrize(
    "offset, cam_duration, cam_start",
    [
        (-4.25, 8.0, 0.0),
        (0.0, 10.0, 0.0),
        (3.1234, 5.0, 0.0),
        (6.5, 6.0, 0.0),
        (2.0, 6.0, 0.25),
    ],
)
def test_audio_offset_on_arrays(world, offset, cam_duration, cam_start):
    """Camera sound starting at game time ``offset + cam_start`` against a 10 s reference."""
    ref = AudioTrack(noisy(world.audio(0.0, 10.0, RATE), 1), RATE, 0.0)
    cam = AudioTrack(noisy(world.audio(offset + cam_start, cam_duration, RATE), 2), RATE, cam_start)
    est = audio_offset(ref, cam)
    assert est.method == "audio"
    assert est.offset == pytest.approx(offset, abs=0.5e-3)
    assert est.confidence > 0.5
    assert est.overlap_s == pytest.approx(
        min(10.0, offset + cam_start + cam_duration) - max(0.0, offset + cam_start), abs=0.01
    )


@pytest.mark.parametrize("max_fft_samples", [2**17, 2**16])
@pytest.mark.parametrize("offset", [-4.25, 3.1234])
def test_long_tracks_are_matched_at_a_lower_rate_then_refined(world, offset, max_fft_samples):
    """Forcing the two-stage path (decimated match, full-rate refinement) on short tracks."""
    ref = AudioTrack(noisy(world.audio(0.0, 10.0, RATE), 1), RATE)
    cam = AudioTrack(noisy(world.audio(offset, 8.0, RATE), 2), RATE)
    est = audio_offset(ref, cam, max_fft_samples=max_fft_samples)
    assert est.offset == pytest.approx(offset, abs=0.5e-3)
    assert est.resolution_s == 1 / RATE and est.confidence > 0.5


def test_audio_offset_refuses_silence_and_rejects_mixed_rates(world):
    ref = AudioTrack(noisy(world.audio(0.0, 4.0, RATE), 1), RATE)
    silent = AudioTrack(np.zeros(RATE * 3, np.float32), RATE)
    with pytest.raises(SyncError, match="camera clip's audio is silent"):
        audio_offset(ref, silent)
    with pytest.raises(SyncError, match="reference clip's audio is silent"):
        audio_offset(silent, ref)
    with pytest.raises(SyncError, match="silent"):
        audio_offset(ref, AudioTrack(np.zeros(0, np.float32), RATE))
    with pytest.raises(ValueError, match="sample rate"):
        audio_offset(ref, AudioTrack(ref.samples, 8000))


def test_max_offset_limits_the_search(world):
    ref = AudioTrack(noisy(world.audio(0.0, 10.0, RATE), 1), RATE)
    cam = AudioTrack(noisy(world.audio(3.0, 6.0, RATE), 2), RATE)
    assert audio_offset(ref, cam, max_offset=3.5).offset == pytest.approx(3.0, abs=1e-3)
    limited = audio_offset(ref, cam, max_offset=2.0)
    assert abs(limited.offset) <= 2.0 and limited.confidence < 0.5
    short = AudioTrack(ref.samples[: RATE * 2], RATE, start_s=20.0)  # only offsets around +18..+22 s overlap
    with pytest.raises(SyncError, match="max-offset"):
        audio_offset(short, cam, max_offset=5.0)


def test_unrelated_sound_gets_a_low_confidence(world):
    ref = AudioTrack(noisy(world.audio(0.0, 8.0, RATE), 1), RATE)
    later = AudioTrack(noisy(world.audio(20.0, 6.0, RATE), 2), RATE)  # starts after the reference ends
    assert audio_offset(ref, later).confidence < 0.5


def write_click_clip(
    path, *, click_at: float, rate: int, audio_delay: float = 0.0, fps: int = 25, duration: float = 2.0
):
    """A clip whose sound is one click at clip time ``click_at`` (its audio track may start late)."""
    import av

    with av.open(str(path), "w") as container:
        vs = container.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
        aus = container.add_stream("aac", rate=rate)
        aus.layout = "mono"
        for i in range(int(duration * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i % 255, np.uint8), format="rgb24")
            for packet in vs.encode(frame):
                container.mux(packet)
        for packet in vs.encode():
            container.mux(packet)
        n = int((duration - audio_delay) * rate)
        sound = np.zeros(n, np.float32)
        k = int(round((click_at - audio_delay) * rate))
        sound[k : k + 48] = 0.8 * np.hanning(48) * np.sin(np.arange(48) * 2 * np.pi * 4000 / rate)
        first = int(round(audio_delay * rate))
        for j in range(0, n, 1024):
            af = av.AudioFrame.from_ndarray(sound[None, j : j + 1024], format="flt", layout="mono")
            af.sample_rate, af.pts, af.time_base = rate, first + j, Fraction(1, rate)
            for packet in aus.encode(af):
                container.mux(packet)
        for packet in aus.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("rate", [48000, 44100, 22050])
@pytest.mark.parametrize("audio_delay", [0.0, 0.3])
def test_decode_audio_places_samples_on_the_clip_clock(tmp_path, rate, audio_delay):
    """The click lands at its clip time whatever the rate, the AAC priming or a late audio track."""
    path = write_click_clip(tmp_path / "click.mp4", click_at=1.2345, rate=rate, audio_delay=audio_delay)
    track = decode_audio(path, sample_rate=RATE)
    assert track.sample_rate == RATE
    # the track starts with the audio stream (minus encoder priming the container keeps as silence)
    assert audio_delay - 0.05 <= track.start_s <= audio_delay + 1e-4
    energy = track.samples.astype(np.float64) ** 2
    k = int(np.argmax(energy))
    window = np.arange(k - 40, k + 41)
    t_click = track.start_s + np.sum(window * energy[window]) / np.sum(energy[window]) / RATE
    burst_centre = 1.2345 + 23.5 / rate
    # a late track's start is stored in the MP4 edit list in milliseconds: allow that rounding
    assert t_click == pytest.approx(burst_centre, abs=0.1e-3 if audio_delay == 0 else 1e-3)


def test_decode_audio_without_audio_stream(tmp_path, sync_clips):
    assert decode_audio(sync_clips("mute", offset=0.0, duration=1.0, audio=False)) is None


@pytest.mark.parametrize(
    "offset, duration, fps, audio_rate",
    [
        (-3.2716, 6.0, 30, 44100),
        (2.5431, 5.0, 24, 48000),
        (0.0417, 7.0, 29.97, 22050),
    ],
)
def test_audio_offset_of_written_clips_within_1ms(sync_clips, offset, duration, fps, audio_rate):
    ref = decode_audio(sync_clips("ref", offset=0.0, duration=7.0, fps=25))
    cam = decode_audio(
        sync_clips(
            "cam",
            offset=offset,
            duration=duration,
            fps=fps,
            audio_rate=audio_rate,
            view=1,
            audio_gain=0.5,
            noise_level=0.08,
        )
    )
    est = audio_offset(ref, cam)
    assert abs(est.offset - offset) < 1e-3
    assert est.confidence > 0.5
