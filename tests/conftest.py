"""Shared fixtures: small clips, games and runs written on the fly."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from clip_helpers import write_test_clip

from multicam.masks import FrameMasks
from multicam.rundir import CameraInfo, ObjectInfo, RunWriter

REPO = Path(__file__).resolve().parents[1]
SAMPLE_GAME = REPO / "sample_data" / "demo_game" / "game.yaml"


@pytest.fixture
def clip_factory(tmp_path):
    def make(name: str = "cam.mp4", **kwargs) -> Path:
        return write_test_clip(tmp_path / "clips" / name, **kwargs)

    return make


@pytest.fixture
def tiny_game(tmp_path, clip_factory):
    """A two-camera game file with prompts; returns a function that writes it with overrides."""
    from ruamel.yaml import YAML

    clip_factory("a.mp4", width=64, height=48, fps=25, frames=10)
    clip_factory("b.mp4", width=80, height=60, fps=30, frames=12)

    def make(game_overrides: dict | None = None, prompts: dict | None = None) -> Path:
        game = {
            "name": "tiny",
            "reference": "a",
            "prompts": "prompts.yaml",
            "cameras": [
                {"name": "a", "video": "clips/a.mp4", "offset": 0.0},
                {"name": "b", "video": "clips/b.mp4", "offset": -0.1},
            ],
        }
        game.update(game_overrides or {})
        if prompts is None:
            prompts = {
                "objects": [
                    {
                        "id": 1,
                        "name": "square",
                        "prompts": [{"frame": 0, "positive": [[4, 14]], "box_xyxy": [0, 10, 8, 18]}],
                    }
                ]
            }
        yaml = YAML()
        with (tmp_path / "prompts.yaml").open("w") as fh:
            yaml.dump(prompts, fh)
        with (tmp_path / "game.yaml").open("w") as fh:
            yaml.dump(game, fh)
        return tmp_path / "game.yaml"

    return make


def write_run(
    path: Path,
    frames: dict[str, dict[int, np.ndarray]],
    *,
    fps: float = 25.0,
    offsets: dict[str, float] | None = None,
    kind: str = "run",
    reference: str | None = None,
    manifest: dict | None = None,
    names: dict[int, str] | None = None,
) -> Path:
    """A run directory whose camera ``c`` frame ``i`` has the objects of the label map ``frames[c][i]``."""
    offsets = offsets or {}
    cams = []
    ids: set[int] = set()
    for cam, by_frame in frames.items():
        h, w = next(iter(by_frame.values())).shape
        cams.append(CameraInfo(cam, (w, h), fps, max(by_frame) + 1, offsets.get(cam, 0.0)))
        for lm in by_frame.values():
            ids |= {int(i) for i in np.unique(lm) if i}
    names = names or {}
    objects = [ObjectInfo(i, names.get(i, f"obj{i}")) for i in sorted(ids | set(names))]
    with RunWriter(
        path, {"reference": reference or next(iter(frames)), **(manifest or {})}, cams, objects, kind=kind
    ) as writer:
        for cam, by_frame in frames.items():
            for i in sorted(by_frame):
                writer.write(FrameMasks.from_label_map(cam, i, offsets.get(cam, 0.0) + i / fps, by_frame[i]))
    return path


def synth_game(base: Path) -> Path:
    """A small synthetic game (generated once per test session, shared by the test folders)."""
    synth = pytest.importorskip("multicam.synth", reason="multicam.synth is not available")
    folder = base / "synth_small"
    game = folder / "game.yaml"
    if not game.is_file():
        synth.generate_game(synth.SynthConfig(seed=0, num_cameras=3, duration_s=1.0, width=480, audio=False), folder)
    return game


@pytest.fixture(scope="session")
def small_synth_game(tmp_path_factory) -> Path:
    return synth_game(tmp_path_factory.getbasetemp())


@pytest.fixture
def make_run():
    """:func:`write_run`, for tests to build runs whose answer they know."""
    return write_run


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray (2 CPUs) shared by every test that needs Ray; multicam's commands join it."""
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(autouse=True)
def _torch_threads_restored():
    """A test that runs `multicam process --threads N` in this process leaves torch's thread count as it found it
    (results in the last bits depend on it, and later tests compare against other processes)."""
    import sys

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    yield
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(before if before is not None else (os.cpu_count() or 1))
