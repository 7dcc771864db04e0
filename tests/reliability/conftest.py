"""Helpers of the reliability suite: run the real `multicam` entry point, hash folders, build bad inputs."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from reliability_helpers import folder_digest


@dataclass(frozen=True)
class Outcome:
    """What a user sees: the exit code and the two streams."""

    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in (self.out + "\n" + self.err).splitlines() if line.lower().startswith("error:")]

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def crash_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "crash_logs"
    monkeypatch.setenv("MULTICAM_CRASH_DIR", str(folder))
    monkeypatch.delenv("MULTICAM_DEBUG", raising=False)
    return folder


@pytest.fixture
def cli(capsys, crash_dir, monkeypatch):
    """Run ``multicam ARGS`` through :func:`multicam.cli.main` (the console script) and capture what it prints."""
    from multicam.cli import main

    def run(*args: str) -> Outcome:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["multicam", *map(str, args)])
        trace = ""
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # what Python prints for an exception nobody caught, with its exit code 1
            import traceback

            code, trace = 1, traceback.format_exc()
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err + trace)

    return run


@pytest.fixture
def unchanged():
    """``with unchanged(folder): ...`` fails when anything under ``folder`` was added, removed or changed."""
    import contextlib

    @contextlib.contextmanager
    def watch(*folders: Path, ignore: tuple[str, ...] = ()):
        before = [folder_digest(f) for f in folders]
        yield
        for folder, digest in zip(folders, before, strict=True):
            after = folder_digest(folder)
            keep = {k: v for k, v in after.items() if not k.startswith(ignore)} if ignore else after
            was = {k: v for k, v in digest.items() if not k.startswith(ignore)} if ignore else digest
            assert keep == was, f"{folder} changed: {sorted(set(keep.items()) ^ set(was.items()))[:6]}"

    return watch


# -- clips that are wrong in one way each ---------------------------------------------------------------
