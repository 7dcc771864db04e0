"""Bad input, tried as a new user would: every case ends with its exit code, ONE clear `error:` line,
no traceback, no crash log, and nothing that was on disk before changed (the folder is hashed before and after).

No case here runs SAM 2: each fails before the model is built (or never needs it).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from reliability_helpers import folder_digest, write_audio_only, write_vfr_clip, write_zero_fps_clip


@dataclass
class World:
    """A tiny two-camera game (a: 64x48 25 fps 10 frames, b: 80x60 30 fps 12 frames) and a complete run of it."""

    root: Path
    make_game: Callable[..., Path]
    run: Path

    @property
    def game(self) -> Path:
        return self.root / "game.yaml"

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def masks(self, camera: str = "a") -> Path:
        return self.run / "masks" / f"{camera}.jsonl"

    def edit_line(self, camera: str, number: int, text: str) -> None:
        lines = self.masks(camera).read_text().splitlines(keepends=True)
        lines[number - 1] = text
        self.masks(camera).write_text("".join(lines))

    def edit_manifest(self, **fields) -> None:
        m = json.loads((self.run / "manifest.json").read_text())
        m.update(fields)
        (self.run / "manifest.json").write_text(json.dumps(m))


def _scene(frame: int, w: int, h: int) -> np.ndarray:
    out = np.zeros((h, w), np.int32)
    x = (2 * frame) % (w - 8)
    out[10:18, x : x + 8] = 1
    return out


@pytest.fixture
def world(tmp_path, tiny_game, make_run) -> World:
    tiny_game()
    frames = {"a": {i: _scene(i, 64, 48) for i in range(10)}, "b": {i: _scene(i, 80, 60) for i in range(12)}}
    run = make_run(
        tmp_path / "runs" / "tiny" / "run1",
        frames,
        offsets={"b": -0.1},
        reference="a",
        manifest={
            "game": {"name": "tiny", "path": str(tmp_path / "game.yaml")},
            "game_path": str(tmp_path / "game.yaml"),
        },
    )
    return World(tmp_path, tiny_game, run)


def _prompt(**fields) -> dict:
    return {"objects": [{"id": 1, "name": "square", "prompts": [{"frame": 0, "positive": [[4, 14]], **fields}]}]}


def _camera_b(**fields) -> dict:
    return {"cameras": [{"name": "a", "video": "clips/a.mp4"}, {"name": "b", "video": "clips/b.mp4", **fields}]}


def _clip(w: World, make: Callable[[Path], object]) -> list[str]:
    path = w.root / "clips" / "bad.mp4"
    make(path)
    w.make_game(_camera_b(video="clips/bad.mp4"))
    return ["info", w.game]


def _truncated(path: Path, source: Path) -> None:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _crashed(w: World) -> list[str]:
    w.edit_manifest(status="running", process={"pid": 2**22 + 12345, "host": os.uname().nodename})
    (w.run / ".lock").touch()
    return ["report", w.run, "--no-appearance"]


# The court's sample files and writers come from tests/court, imported on use: benchmarks/reliability_cases.py
# runs this table with an older checkout's tests/ first on the path, which may have no court folder.
def _import(w: World, name: str, sample: str, damage: Callable[[str], str]) -> list:
    """``calibrate --import NAME``: a sample file of tests/court/test_import.py, damaged."""
    from tests.court import test_import

    return ["calibrate", w.game, "--import", w.write(name, damage(getattr(test_import, sample)))]


def _calibration(w: World, sizes: dict[str, tuple[int, int]], drop: str = "") -> list:
    """``calibrate --import`` of a calibration.json with a camera per ``sizes`` (each without the field ``drop``)."""
    import cv2

    from multicam.court.camera import CameraModel, calibration_json
    from tests.court.test_import import RVEC, TVEC, K

    data = calibration_json([CameraModel(n, wh, K, cv2.Rodrigues(RVEC)[0], TVEC) for n, wh in sizes.items()], None)
    for cam in data["cameras"].values():
        cam.pop(drop, None)
    return ["calibrate", w.game, "--import", w.write("cal.json", json.dumps(data))]


def _clicks(w: World, points: dict[str, list[float]], template: str | dict = "basketball_fiba") -> list:
    """``calibrate --template TEMPLATE --points clicks.yaml`` with these clicks in camera a (64x48); a template
    given as a mapping is the user's own file court.yaml."""
    from tests.court.conftest import write_yaml

    if isinstance(template, dict):
        template = write_yaml(w.root / "court.yaml", template)
    clicks = write_yaml(w.root / "clicks.yaml", {"cameras": {"a": {"frame": 0, "points": points}}})
    return ["calibrate", w.game, "--template", template, "--points", clicks]


# four court landmarks spread over camera a's picture, and the world's image sizes
FOUR_CLICKS = {"corner_left_near": [4, 44], "corner_right_near": [60, 44], "halfway_far": [32, 6], "center": [32, 24]}
SIZES = {"a": (64, 48), "b": (80, 60)}

# (id, what the user does -> argv, exit code, words the error line must hold)
CASES: list[tuple[str, Callable[[World], list], int, str]] = [
    # -- game files ---------------------------------------------------------------------------------
    ("game missing", lambda w: ["info", w.root / "nope.yaml"], 2, "game file not found"),
    ("game is a folder", lambda w: ["info", w.root / "clips"], 2, "is a folder"),
    ("game random bytes", lambda w: ["info", w.write("g.yaml", bytes(range(256)) * 4)], 2, "not a text file"),
    ("game empty", lambda w: ["info", w.write("g.yaml", "")], 2, "YAML mapping"),
    ("game a list", lambda w: ["info", w.write("g.yaml", "- a\n- b\n")], 2, "YAML mapping"),
    ("game bad YAML", lambda w: ["info", w.write("g.yaml", "name: [x\ncameras: {")], 2, "not valid YAML"),
    ("game tab indent", lambda w: ["info", w.write("g.yaml", "name: g\n\treference: a\n")], 2, "not valid YAML"),
    ("game unknown field", lambda w: ["info", w.make_game({"camras": []})], 2, "camras: unknown field"),
    ("game unknown reference", lambda w: ["info", w.make_game({"reference": "c"})], 2, "reference: camera 'c'"),
    ("game no cameras", lambda w: ["info", w.make_game({"cameras": []})], 2, "cameras: give at least 1 item"),
    ("game cameras text", lambda w: ["info", w.make_game({"cameras": "a, b"})], 2, "cameras: give a list of cameras"),
    (
        "game duplicate camera",
        lambda w: ["info", w.make_game({"cameras": [{"name": "a", "video": "clips/a.mp4"}] * 2})],
        2,
        "duplicate camera",
    ),
    (
        "offset text",
        lambda w: ["info", w.make_game(_camera_b(offset="soon"))],
        2,
        "cameras.1.offset: give a number of seconds",
    ),
    ("offset a list", lambda w: ["info", w.make_game(_camera_b(offset=[1]))], 2, "cameras.1.offset: give a number"),
    (
        "reference offset",
        lambda w: ["info", w.make_game({"cameras": [{"name": "a", "video": "clips/a.mp4", "offset": 1.0}]})],
        2,
        "must have offset 0",
    ),
    ("camera name space", lambda w: ["info", w.make_game(_camera_b(name="b b"))], 2, "use only letters"),
    ("image size 100", lambda w: ["info", w.make_game({"processing": {"image_size": 100}})], 2, "multiple of 32"),
    ("image size text", lambda w: ["info", w.make_game({"processing": {"image_size": "big"}})], 2, "whole number"),
    ("layout unknown", lambda w: ["info", w.make_game({"processing": {"layout": "zig"}})], 2, "'interleave' or"),
    ("device unknown", lambda w: ["info", w.make_game({"processing": {"device": "tpu"}})], 2, "cuda:N"),
    ("model a text", lambda w: ["info", w.make_game({"model": "tiny"})], 2, "model: give a mapping"),
    ("clip path missing", lambda w: ["info", w.make_game(_camera_b(video="clips/none.mp4"))], 2, "not found"),
    ("prompts file missing", lambda w: ["info", w.make_game({"prompts": "none.yaml"})], 2, "prompts: file not found"),
    ("no overlap", lambda w: ["info", w.make_game(_camera_b(offset=500))], 2, "never overlap"),
    # -- prompts --------------------------------------------------------------------------------------
    (
        "prompts random bytes",
        lambda w: [w.make_game(), w.write("prompts.yaml", os.urandom(300) + b"\xff")] and ["info", w.game],
        2,
        "not a text file",
    ),
    (
        "prompts a list",
        lambda w: [w.make_game(), w.write("prompts.yaml", "- 1\n")] and ["info", w.game],
        2,
        "'objects:' list",
    ),
    (
        "box inverted",
        lambda w: ["info", w.make_game(prompts=_prompt(box_xyxy=[8, 10, 0, 18]))],
        2,
        "x0 must be smaller",
    ),
    ("box two numbers", lambda w: ["info", w.make_game(prompts=_prompt(box_xyxy=[1, 2]))], 2, "give four numbers"),
    ("point outside", lambda w: ["info", w.make_game(prompts=_prompt(positive=[[640, 14]]))], 2, "outside camera 'a'"),
    ("point one number", lambda w: ["info", w.make_game(prompts=_prompt(positive=[[4]]))], 2, "[x, y] points"),
    ("frame past the end", lambda w: ["info", w.make_game(prompts=_prompt(frame=10))], 2, "frame 10 does not exist"),
    ("frame negative", lambda w: ["info", w.make_game(prompts=_prompt(frame=-1))], 2, "must be at least 0"),
    ("prompt camera unknown", lambda w: ["info", w.make_game(prompts=_prompt(camera="zz"))], 2, "unknown camera 'zz'"),
    ("frame and time", lambda w: ["info", w.make_game(prompts=_prompt(time=0.1))], 2, "exactly one of 'frame'"),
    (
        "id used twice",
        lambda w: [
            "info",
            w.make_game(
                prompts={
                    "objects": [
                        {"id": 1, "name": "ball", "prompts": [{"frame": 0, "positive": [[4, 14]]}]},
                        {"id": 1, "name": "player", "prompts": [{"frame": 0, "positive": [[5, 14]]}]},
                    ]
                }
            ),
        ],
        2,
        "object id 1 is used for both",
    ),
    (
        "id zero",
        lambda w: ["info", w.make_game(prompts={"objects": [{"id": 0, "name": "x", "prompts": [{"frame": 0}]}]})],
        2,
        "must be at least 1",
    ),
    # -- clips ----------------------------------------------------------------------------------------
    ("clip empty file", lambda w: _clip(w, lambda p: p.write_bytes(b"")), 2, "camera 'b'"),
    ("clip truncated", lambda w: _clip(w, lambda p: _truncated(p, w.root / "clips" / "b.mp4")), 2, "camera 'b'"),
    ("clip not a video", lambda w: _clip(w, lambda p: p.write_text("hello\n" * 100)), 2, "is it a video file?"),
    ("clip no video stream", lambda w: _clip(w, write_audio_only), 2, "has no video stream"),
    ("clip zero fps", lambda w: _clip(w, write_zero_fps_clip), 2, "no camera films at"),
    (
        "clip variable frame rate",
        lambda w: _clip(w, lambda p: write_vfr_clip(p, [0, 40, 80, 120, 300, 340, 380, 600, 640, 680])),
        2,
        "variable frame rate",
    ),
    ("clip is a folder", lambda w: _clip(w, lambda p: p.mkdir()), 2, "clip of camera 'b' not found"),
    # -- run folders ----------------------------------------------------------------------------------
    ("run missing", lambda w: ["report", w.root / "runs" / "tiny" / "run9"], 2, "run directory not found"),
    ("run without manifest", lambda w: ["export", w.root / "clips", "--format", "coco"], 2, "not a run directory"),
    (
        "manifest not JSON",
        lambda w: [w.write("runs/tiny/run1/manifest.json", "{"), "report", w.run][1:],
        2,
        "manifest.json: not valid JSON",
    ),
    (
        "manifest random bytes",
        lambda w: [w.write("runs/tiny/run1/manifest.json", b"\xff\xfe" * 9), "report", w.run][1:],
        2,
        "manifest.json: not valid JSON",
    ),
    (
        "manifest newer schema",
        lambda w: [w.edit_manifest(format_version=99), "export", w.run, "--format", "mot"][1:],
        2,
        "written by a newer multicam",
    ),
    (
        "corrupt line: report",
        lambda w: [w.edit_line("a", 3, "{not json\n"), "report", w.run, "--no-appearance"][1:],
        2,
        "masks/a.jsonl:3: not valid JSON",
    ),
    (
        "corrupt line: export",
        lambda w: [w.edit_line("b", 5, '{"frame": 4}\n'), "export", w.run, "--format", "davis"][1:],
        2,
        "masks/b.jsonl:5: not a frame record",
    ),
    (
        "corrupt line: render",
        lambda w: [w.edit_line("a", 1, "\x00\x00\n"), "render", w.run][1:],
        2,
        "masks/a.jsonl:1: not valid JSON",
    ),
    (
        "corrupt line: eval",
        lambda w: [w.edit_line("a", 2, "[]\n"), "eval", w.run, "--gt", w.run][1:],
        2,
        "masks/a.jsonl:2: not a frame record",
    ),
    (
        "frame out of range",
        lambda w: [
            w.edit_line("a", 2, w.masks("a").read_text().splitlines()[1].replace('"frame":1,', '"frame":99,') + "\n"),
            "export",
            w.run,
            "--format",
            "coco",
        ][1:],
        2,
        "frame 99 is outside the clip's frames 0..9",
    ),
    (
        "missing camera file",
        lambda w: [w.masks("b").unlink(), "export", w.run, "--format", "coco"][1:],
        2,
        "masks/b.jsonl: missing",
    ),
    (
        "torn line in a complete run",
        lambda w: [w.masks("a").write_text(w.masks("a").read_text()[:-40]), "export", w.run, "--format", "mot"][1:],
        2,
        "manifest says 10 were written",
    ),
    ("resume a complete run", lambda w: ["process", "--resume", w.run], 2, "is complete; only a run that is"),
    ("resume a non-run", lambda w: ["process", "--resume", w.root / "clips"], 2, "not a run directory"),
    ("resume a crashed old run", lambda w: [_crashed(w), "process", "--resume", w.run][1:], 2, "without resume"),
    # -- exports and command-line arguments ---------------------------------------------------------------
    ("export format unknown", lambda w: ["export", w.run, "--format", "xml"], 2, "unknown export format 'xml'"),
    ("export camera unknown", lambda w: ["export", w.run, "--format", "coco", "--camera", "z"], 2, "unknown camera"),
    ("render camera unknown", lambda w: ["render", w.run, "--camera", "z"], 2, "unknown camera"),
    (
        "runs folder is a file",
        lambda w: [w.write("runsfile", "x"), "process", w.game, "--untrained", "--runs-dir", w.root / "runsfile"][1:],
        2,
        "is a file, not a folder of runs",
    ),
    (
        "runs folder inside a file",
        lambda w: [w.write("f", "x"), "process", w.game, "--untrained", "--runs-dir", w.root / "f" / "runs"][1:],
        2,
        "is a file, not a folder",
    ),
    (
        "image size option",
        lambda w: ["process", w.game, "--untrained", "--image-size", "100", "--runs-dir", w.root / "runs"],
        2,
        "options: processing.image_size: must be a multiple of 32",
    ),
    ("game and resume", lambda w: ["process", w.game, "--resume", w.run], 2, "not both"),
    ("process nothing", lambda w: ["process"], 2, "missing GAME"),
    ("unknown command", lambda w: ["procss", w.game], 2, "No such command"),
    ("unknown option", lambda w: ["info", w.game, "--fast"], 2, "No such option"),
    ("fail-under out of range", lambda w: ["report", w.run, "--fail-under", "2"], 2, "--fail-under"),
    ("dashboard on the network", lambda w: ["dashboard", w.root / "runs", "--host", "0.0.0.0"], 2, "--password"),
    ("dashboard runs is a file", lambda w: ["dashboard", w.game], 2, "is a file; pass a folder"),
    # -- batch files and batch records ------------------------------------------------------------------
    (
        "batch file unknown field",
        lambda w: ["batch", w.write("b.yaml", "name: s\ngames: [game.yaml]\nspeed: 3\n")],
        2,
        "speed: unknown field",
    ),
    ("batch file random bytes", lambda w: ["batch", w.write("b.yaml", b"\x00\xff\xfe junk")], 2, "not a text file"),
    ("batch file without games", lambda w: ["batch", w.write("b.yaml", "name: s\ngames: []\n")], 2, "games:"),
    ("batch max-parallel 0", lambda w: ["batch", w.game, "--max-parallel", "0"], 2, "--max-parallel"),
    ("batch status missing", lambda w: ["batch", "status", w.root / "nothere"], 2, "batch record not found"),
    (
        "batch status not a record",
        lambda w: ["batch", "status", w.write("rec.json", '{"x": 1}')],
        2,
        "not a multicam batch record",
    ),
    ("season of not a record", lambda w: ["report", "--season", w.write("rec.json", "[]")], 2, "batch record"),
    # -- calibration files and court templates ----------------------------------------------------------
    (
        "calibration unknown format",
        lambda w: ["calibrate", w.game, "--import", w.write("cal.txt", "K = 1\nthe camera is fine\n")],
        2,
        "cal.txt: unknown calibration format '.txt'",
    ),
    (
        "calibration broken OpenCV YAML",
        lambda w: _import(w, "cal.yml", "OPENCV_YAML", lambda text: text.replace(" ]", "", 1)),
        2,
        "cal.yml: not an OpenCV FileStorage file (line 11: ",
    ),
    (
        "calibration broken anipose TOML",
        lambda w: _import(w, "cal.toml", "ANIPOSE_TOML", lambda text: text[: len(text) // 2]),
        2,
        "cal.toml: not valid TOML",
    ),
    ("calibration JSON without K", lambda w: _calibration(w, SIZES, drop="K"), 2, "camera 'a' has no camera matrix"),
    (
        "calibration lacks a camera",
        lambda w: _calibration(w, {"a": SIZES["a"]}),
        2,
        "cal.json: camera(s) ['b'] of the game are missing",
    ),
    (
        "calibration image size",
        lambda w: _calibration(w, {**SIZES, "b": (1280, 720)}),
        2,
        "camera b is calibrated for 1280x720 images but its clip is 80x60",
    ),
    (
        "calibration empty file",
        lambda w: ["calibrate", w.game, "--import", w.write("cal.yml", "")],
        2,
        "cal.yml: the file is empty",
    ),
    (
        "calibration missing",
        lambda w: ["calibrate", w.game, "--import", w.root / "nope.json"],
        2,
        "calibration file not found",
    ),
    (
        "clicks three landmarks",
        lambda w: _clicks(w, {k: FOUR_CLICKS[k] for k in list(FOUR_CLICKS)[:3]}),
        2,
        "clicks.yaml: camera a: 3 landmark(s) clicked, at least 4 are needed",
    ),
    (
        "clicks on one court line",
        lambda w: _clicks(
            w,
            {
                "corner_left_near": [4, 44],
                "three_left_baseline_near": [8, 38],
                "key_left_baseline_near": [14, 30],
                "corner_left_far": [24, 10],
            },
        ),
        2,
        "clicks.yaml: camera a: the clicked landmarks (corner_left_near, three_left_baseline_near",
    ),
    (
        "clicks unknown landmark",
        lambda w: _clicks(w, {**FOUR_CLICKS, "penalty_spot": [20, 20]}),
        2,
        "clicks.yaml: camera a: template 'basketball_fiba' has no landmark(s) ['penalty_spot']",
    ),
    (
        "court template three landmarks",
        lambda w: _clicks(
            w,
            FOUR_CLICKS,
            {"name": "mine", "length_m": 28, "width_m": 15, "landmarks": {"a": [0, 0], "b": [28, 0], "c": [0, 15]}},
        ),
        2,
        "court.yaml: landmarks: a template needs at least 4 named landmarks",
    ),
    ("court template unknown", lambda w: _clicks(w, FOUR_CLICKS, "basketbal"), 2, "unknown court template 'basketbal'"),
]


def test_the_table_has_at_least_forty_cases():
    assert len(CASES) >= 40 and len({c[0] for c in CASES}) == len(CASES)


def _record(name: str, outcome, expected: int, words: str, changed: bool, crash_log: bool) -> None:
    """With MULTICAM_RELIABILITY_RECORD=FILE, append how the case went (benchmarks/reliability_cases.py)."""
    path = os.environ.get("MULTICAM_RELIABILITY_RECORD")
    if not path:
        return
    if "Traceback" in outcome.text:
        verdict = "traceback"
    elif outcome.code == 0:
        verdict = "silent"
    elif outcome.code == expected and len(outcome.error_lines) == 1 and words in outcome.error_lines[0]:
        verdict = "changed disk" if changed else ("crash log" if crash_log else "clear")
    else:
        verdict = "unclear"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(
            json.dumps({"case": name, "verdict": verdict, "code": outcome.code, "text": outcome.text[-400:]}) + "\n"
        )


@pytest.mark.parametrize("name, action, code, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_clear_line(world, cli, crash_dir, monkeypatch, name, action, code, words):
    monkeypatch.delenv("MULTICAM_DASHBOARD_PASSWORD", raising=False)
    argv = action(world)  # set the trap (this may change files), then watch the folder
    before = folder_digest(world.root)
    outcome = cli(*argv)
    after = {k: v for k, v in folder_digest(world.root).items() if not k.startswith("crash_logs")}
    _record(name, outcome, code, words, after != before, crash_dir.exists())
    assert after == before, f"changed: {sorted(set(after.items()) ^ set(before.items()))[:6]}"
    assert outcome.code == code, outcome.text
    assert "Traceback" not in outcome.text
    assert len(outcome.error_lines) == 1, outcome.text
    assert words in outcome.error_lines[0], outcome.error_lines[0]
    assert not crash_dir.exists()


# -- warnings: readable, but not whole ------------------------------------------------------------------
def test_an_export_of_an_interrupted_run_says_so(world, cli, unchanged, tmp_path):
    text = world.masks("a").read_text()
    world.masks("a").write_text(text[: text.rindex("\n", 0, len(text) - 1) + 1] + text[-30:-1])  # torn last line
    world.edit_manifest(status="interrupted", error="interrupted by the user")
    with unchanged(world.run):
        outcome = cli("export", world.run, "--format", "mot", "--out", tmp_path / "out")
    assert outcome.code == 0 and "Traceback" not in outcome.text and not outcome.error_lines
    warnings = [line for line in outcome.err.splitlines() if line.startswith("warning:")]
    assert any(f"{world.masks('a')}:10: last line is cut short" in line for line in warnings), warnings
    assert any("interrupted: 21 of 22 frames are written" in line for line in warnings), warnings
    assert any(f"multicam process --resume {world.run}" in line for line in warnings), warnings


# -- the guard for bugs -----------------------------------------------------------------------------------
def _boom(*_args, **_kwargs):
    raise RuntimeError("boom")


def test_an_unexpected_error_is_one_line_and_a_crash_log(world, cli, crash_dir, monkeypatch):
    monkeypatch.setattr("multicam.session.open_game", _boom)
    outcome = cli("info", world.game)
    assert outcome.code == 1 and "Traceback" not in outcome.text
    (line,) = outcome.error_lines
    (log,) = crash_dir.glob("crash-*.log")
    assert "unexpected RuntimeError: boom" in line and str(log) in line
    text = log.read_text()
    assert "Traceback" in text and "RuntimeError: boom" in text and f"info {world.game}" in text


@pytest.mark.parametrize("how", ["--debug", "MULTICAM_DEBUG"])
def test_debug_shows_the_traceback(world, cli, crash_dir, monkeypatch, how):
    monkeypatch.setattr("multicam.session.open_game", _boom)
    if how == "MULTICAM_DEBUG":
        monkeypatch.setenv("MULTICAM_DEBUG", "1")
    outcome = cli(*(["--debug"] if how == "--debug" else []), "info", world.game)
    assert outcome.code == 1 and "Traceback" in outcome.err and "RuntimeError: boom" in outcome.err
    assert not crash_dir.exists()


def test_a_user_error_with_debug_shows_where_it_came_from(world, cli):
    outcome = cli("--debug", "info", world.make_game({"reference": "c"}))
    assert outcome.code == 2 and "Traceback" in outcome.err and len(outcome.error_lines) == 1


def test_without_a_writable_crash_folder_the_line_says_to_use_debug(world, cli, monkeypatch, tmp_path):
    from multicam.cli import guard

    monkeypatch.setattr("multicam.session.open_game", _boom)
    (tmp_path / "blocked").write_text("a file")
    monkeypatch.setenv(guard.CRASH_DIR_ENV, str(tmp_path / "blocked" / "crash"))
    outcome = cli("info", world.game)
    assert outcome.code == 1 and "--debug" in outcome.error_lines[0]


@pytest.mark.parametrize(
    "exc, words",
    [
        (OSError(28, "No space left on device", "/data/runs/x"), "/data/runs/x: no space left on the device"),
        (PermissionError(13, "Permission denied", "/root/runs"), "/root/runs: permission denied"),
        (NotADirectoryError(20, "Not a directory", "runs/tiny"), "runs/tiny: a file where a folder is expected"),
    ],
)
def test_an_os_error_on_a_path_is_a_user_error(world, cli, crash_dir, monkeypatch, exc, words):
    def fail(*_a, **_k):
        raise exc

    monkeypatch.setattr("multicam.session.open_game", fail)
    outcome = cli("info", world.game)
    assert outcome.code == 2 and outcome.error_lines[0].startswith(f"error: {words}") and not crash_dir.exists()
    assert len(outcome.error_lines) == 1


def test_the_crash_folder_defaults_to_the_user_cache(monkeypatch, tmp_path):
    from multicam.cli import guard

    monkeypatch.delenv(guard.CRASH_DIR_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert guard.crash_dir() == tmp_path / ".cache" / "multicam" / "crash"


def test_symlinked_clip_folder_out_of_the_game_is_still_read(world, cli):
    """Not every symlink is an attack: the CLI follows a game's links (the dashboard does not)."""
    shutil.move(world.root / "clips", world.root / "real_clips")
    (world.root / "clips").symlink_to(world.root / "real_clips", target_is_directory=True)
    outcome = cli("info", world.game)
    assert outcome.code == 0, outcome.text
