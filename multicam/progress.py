"""Progress on stderr: a tqdm bar on a terminal, a plain line every few percent in a log.

A carriage-return bar redrawn at every frame turns a log file into tens of kilobytes of
unreadable text per run. When the stream is not a terminal, :func:`progress` prints one
ordinary line when the count crosses the next ``every_percent`` step or ``every_s`` seconds
after the last line (and a last line when it closes)::

    with progress(total=len(layout), desc="game (interleave)", unit="frame") as bar:
        bar.update(1)

Every progress display of multicam goes through this function.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from typing import IO, Any

from tqdm import tqdm


class LineProgress(tqdm):
    """A tqdm that writes whole lines (no ``\\r``): at the start, every ``every_percent`` % of ``total``
    or every ``every_s`` seconds (only the time rule when the total is unknown), and at the end."""

    def __init__(self, *args: Any, every_percent: float = 5.0, every_s: float = 30.0, **kwargs: Any):
        self._every_percent = every_percent
        self._every_s = every_s
        self._next_percent = 0.0
        self._last_line_t: float | None = None
        self._last_line_n: int | float | None = None
        kwargs.update(mininterval=0, miniters=1)  # every update reaches display(), which decides
        super().__init__(*args, **kwargs)

    def _due(self) -> bool:
        if self._last_line_t is None:
            return True
        if self.n == self._last_line_n:
            return False
        if self.total and 100.0 * self.n / self.total >= self._next_percent:
            return True
        return self._time() - self._last_line_t >= self._every_s

    def _line(self) -> None:
        meter = self.format_meter(**{**self.format_dict, "ncols": 0})
        self.fp.write(meter.replace("\r", "").strip() + "\n")
        self.fp.flush()
        self._last_line_t, self._last_line_n = self._time(), self.n
        if self.total:
            done = 100.0 * self.n / self.total
            self._next_percent = (math.floor(done / self._every_percent) + 1) * self._every_percent

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        if msg == "":  # tqdm clearing the bar: there is no bar to clear
            return False
        if self._due():
            self._line()
        return True

    def clear(self, nolock: bool = False) -> None:
        """Nothing to clear: lines stay."""

    def close(self) -> None:
        if not self.disable and getattr(self, "_last_line_n", None) != self.n:
            self._line()
        self.leave = False  # tqdm would redraw and end with "\n"; the last line is written
        super().close()


def is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress(
    iterable: Iterable[Any] | None = None,
    *,
    stream: IO[str] | None = None,
    every_percent: float = 5.0,
    every_s: float = 30.0,
    **kwargs: Any,
) -> tqdm:
    """A progress display on ``stream`` (default stderr): tqdm's bar on a terminal, else :class:`LineProgress`.

    ``kwargs`` are tqdm's (``total``, ``desc``, ``unit``, ``disable``, ``initial``, ``leave``...).
    """
    stream = sys.stderr if stream is None else stream
    if is_terminal(stream):
        return tqdm(iterable, file=stream, **kwargs)
    return LineProgress(iterable, file=stream, every_percent=every_percent, every_s=every_s, **kwargs)
