"""multicam.progress: a bar on a terminal, a few plain lines in a log."""

from __future__ import annotations

import io

import pytest

from multicam.progress import LineProgress, progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("total", "every_percent", "max_lines"),
    [
        (1000, 5.0, 22),  # start, 20 steps, (end is the 100 % step)
        (7, 5.0, 8),  # fewer items than steps: at most one line per item
        (1000, 25.0, 6),
        (0, 5.0, 2),  # empty
    ],
)
def test_a_log_gets_few_whole_lines(total, every_percent, max_lines):
    out = io.StringIO()
    with progress(total=total, desc="game", unit="frame", stream=out, every_percent=every_percent) as bar:
        assert isinstance(bar, LineProgress)
        for _ in range(total):
            bar.update(1)
    text = out.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and text.endswith("\n")
    assert 1 <= len(lines) <= max_lines
    assert lines[0].startswith("game:") and (f"{total}/{total}" in lines[-1] if total else "0frame" in lines[-1])


def test_lines_are_every_step_of_percent():
    out = io.StringIO()
    for _ in progress(range(100), desc="x", stream=out, every_percent=10.0):
        pass
    percents = [int(line.split(":")[1].split("%")[0]) for line in out.getvalue().splitlines()]
    assert percents == list(range(0, 101, 10))


def test_without_a_total_lines_follow_the_clock(monkeypatch):
    out = io.StringIO()
    bar = progress(total=None, desc="download", unit="B", stream=out, every_s=30.0)
    clock = [bar._time()]
    monkeypatch.setattr(bar, "_time", lambda: clock[0])
    bar.update(10)  # too soon after the first line
    clock[0] += 31
    bar.update(10)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "20" in lines[-1]


def test_disabled_writes_nothing():
    out = io.StringIO()
    with progress(total=10, stream=out, disable=True) as bar:
        bar.update(10)
    assert out.getvalue() == ""


def test_a_terminal_gets_the_redrawn_bar():
    out = _Terminal()
    with progress(total=10, desc="game", stream=out) as bar:
        assert not isinstance(bar, LineProgress)
        bar.update(10)
    assert "\r" in out.getvalue()
