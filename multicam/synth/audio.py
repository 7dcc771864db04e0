"""Sound of a clip: shared game events (ball bounces, referee whistles) plus each camera's crowd noise.

Every camera hears the same events at the same game times (no propagation delay), with its own
gain and its own background noise. A clip's sample ``k`` is at game time ``offset + k / rate``,
so the audio starts with the video. Event sounds are analytic functions of time (exact at any
sampling phase); the crowd is filtered noise generated chunk by chunk with carried filter
state, so a clip of any length streams in bounded memory.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np
from scipy import signal

from multicam.synth.scene import Event

SAMPLE_RATE = 48_000
WHISTLE_S = 0.45
CLICK_S = 0.08
_CAMERA_GAINS = (1.0, 0.7, 0.85, 0.6, 0.9, 0.75, 0.5, 0.8)
_CROWD_LEVELS = (0.02, 0.045, 0.03, 0.06, 0.025, 0.05, 0.035, 0.04)

# a bounce: damped partials (frequency Hz, decay s, amplitude)
_CLICK = ((190.0, 0.030, 0.45), (870.0, 0.009, 0.35), (2350.0, 0.004, 0.25), (4100.0, 0.002, 0.15))


def click(tau: np.ndarray) -> np.ndarray:
    """A ball bounce: a percussive knock, ``tau`` seconds after the contact (0 before)."""
    on = (tau >= 0) & (tau < CLICK_S)
    out = np.zeros_like(tau)
    t = tau[on]
    for freq, decay, amp in _CLICK:
        out[on] += amp * np.exp(-t / decay) * np.sin(2 * np.pi * freq * t)
    return out


def whistle(tau: np.ndarray) -> np.ndarray:
    """A referee whistle: ~3 kHz with a 27 Hz vibrato of +-150 Hz, ``tau`` seconds after its start."""
    on = (tau >= 0) & (tau < WHISTLE_S)
    out = np.zeros_like(tau)
    t = tau[on]
    fv, dev = 27.0, 150.0
    phase = 2 * np.pi * 3000.0 * t - dev / fv * np.cos(2 * np.pi * fv * t)
    env = np.minimum(1.0, t / 0.015) * np.minimum(1.0, (WHISTLE_S - t) / 0.04)
    out[on] = 0.3 * env * (np.sin(phase) + 0.25 * np.sin(2 * phase))
    return out


_SOUNDS = {"bounce": (click, CLICK_S), "whistle": (whistle, WHISTLE_S)}


class ClipAudio:
    """The audio of one camera's clip, produced in consecutive chunks.

    Args:
        events: the game's events (any order).
        offset: game time (s) of the clip's first sample.
        camera_index: which camera (sets its gain and crowd level).
        seed: random seed of the crowd noise.
        rate: sample rate (Hz).
    """

    def __init__(self, events: Sequence[Event], offset: float, camera_index: int, seed: int, rate: int = SAMPLE_RATE):
        self.events = sorted(events, key=lambda e: e.time)
        self._times = [e.time for e in self.events]
        self.offset = float(offset)
        self.rate = int(rate)
        self.gain = _CAMERA_GAINS[camera_index % len(_CAMERA_GAINS)]
        self.level = _CROWD_LEVELS[camera_index % len(_CROWD_LEVELS)]
        self._rng = np.random.default_rng([seed, 5003, camera_index])
        self._sos = signal.butter(2, [150.0, 2500.0], btype="bandpass", fs=self.rate, output="sos")
        self._zi = np.zeros((self._sos.shape[0], 2))
        self._next = 0

    @property
    def position(self) -> int:
        """Index of the next sample :meth:`chunk` returns."""
        return self._next

    def chunk(self, stop: int) -> np.ndarray:
        """Samples from where the previous chunk ended up to sample ``stop`` (exclusive), float32 (N,)."""
        start = self._next
        n = max(0, stop - start)
        self._next = max(stop, start)
        times = self.offset + (start + np.arange(n)) / self.rate
        noise = self._rng.standard_normal(n)
        crowd, self._zi = signal.sosfilt(self._sos, noise, zi=self._zi)
        swell = 1.0 + 0.35 * np.sin(2 * np.pi * 0.13 * times + 1.7 * self.gain)
        out = self.level * 3.0 * crowd * swell
        if n:
            lo = bisect.bisect_left(self._times, times[0] - max(WHISTLE_S, CLICK_S))
            hi = bisect.bisect_right(self._times, times[-1])
            for event in self.events[lo:hi]:
                sound, length = _SOUNDS[event.kind]
                a = max(0, int(np.floor((event.time - times[0]) * self.rate)))
                b = min(n, int(np.ceil((event.time + length - times[0]) * self.rate)) + 1)
                if b > a:
                    out[a:b] += self.gain * event.strength * sound(times[a:b] - event.time)
        return np.clip(out, -1.0, 1.0).astype(np.float32)
