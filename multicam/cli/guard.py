"""The command line's last line of defence: every failure ends as one line, never a traceback.

* a :class:`~multicam.errors.MulticamError` (a mistake the user can fix) and an operating-system
  error on a named file (missing, not a folder, no permission, disk full) print ``error: ...``
  and exit with code 2;
* anything else is a bug: one line naming the exception and the path of a crash log holding the
  traceback (``$MULTICAM_CRASH_DIR``, default ``~/.cache/multicam/crash/``), exit code 1;
* ``multicam --debug ...`` (or ``MULTICAM_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import errno
import os
import platform
import sys
import traceback
from datetime import datetime
from pathlib import Path

CRASH_DIR_ENV = "MULTICAM_CRASH_DIR"
DEBUG_ENV = "MULTICAM_DEBUG"

# operating-system errors a user causes and fixes (a wrong path, a full disk), not bugs
USER_ERRNOS = {
    errno.ENOENT: "not found",
    errno.ENOTDIR: "a file where a folder is expected",
    errno.EISDIR: "a folder where a file is expected",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "no space left on the device; free some space, then resume the run",
    errno.EDQUOT: "disk quota exceeded; free some space, then resume the run",
    errno.EROFS: "read-only file system",
    errno.EEXIST: "already exists",
    errno.ENAMETOOLONG: "file name too long",
}


def debug_requested(argv: list[str]) -> bool:
    """Whether tracebacks were asked for (``--debug`` before the command, or ``MULTICAM_DEBUG=1``)."""
    before_command = []
    for arg in argv:
        if not arg.startswith("-"):
            break
        before_command.append(arg)
    return "--debug" in before_command or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def crash_dir() -> Path:
    env = os.environ.get(CRASH_DIR_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "multicam" / "crash"


def os_error_message(exc: OSError) -> str | None:
    """One line for an operating-system error on a path the user gave, or None when it looks like a bug."""
    what = USER_ERRNOS.get(exc.errno or -1)
    if what is None:
        return None
    target = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        target = f"{target} -> {exc.filename2}"
    return f"{target}: {what}" if target else f"{exc.strerror or exc}: {what}"


def write_crash_log(exc: BaseException, argv: list[str]) -> Path | None:
    """Write the traceback and what ran to a new timestamped file; None when even that fails."""
    try:
        from multicam import __version__
    except ImportError:  # pragma: no cover
        __version__ = "unknown"
    folder = crash_dir()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    text = (
        f"multicam {__version__} crashed at {datetime.now().isoformat(timespec='seconds')}\n"
        f"command: {' '.join(argv)}\n"
        f"python {platform.python_version()} on {platform.platform()}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"crash-{stamp}-{os.getpid()}.log"
        path.write_text(text, encoding="utf-8")
        return path
    except OSError:
        return None


def report_crash(exc: BaseException, argv: list[str], echo) -> int:
    """Print the one line of an unexpected error (with its crash log) and return exit code 1."""
    log = write_crash_log(exc, argv)
    summary = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    where = f"the traceback is in {log}" if log is not None else "run again with --debug to see the traceback"
    echo(f"error: unexpected {summary} (a bug in multicam; {where}; please report it)")
    return 1


def show_traceback(exc: BaseException) -> None:
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
