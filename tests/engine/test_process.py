"""``multicam process`` end to end on the real SAM 2 path (random weights, 256 px)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from multicam.cli import app
from multicam.pipeline import ProcessOptions, process_game
from multicam.rundir import open_run, read_manifest

from .conftest import CAMERAS, IMAGE_SIZE


@pytest.mark.sam2
def test_cli_process_untrained_writes_a_complete_run(disc_game, interleaved, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "process",
            str(disc_game),
            "--untrained",
            "--image-size",
            str(IMAGE_SIZE),
            "--device",
            "cpu",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--name",
            "try",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "RANDOM weights" in result.output
    run_dir = tmp_path / "runs" / "discs" / "try1"
    assert f"run written to {run_dir}" in result.output
    run = open_run(run_dir)
    assert run.is_complete and run.untrained and run.reference == "side"
    m = run.manifest
    assert m.model.name == "sam2.1_hiera_tiny" and m.model.checkpoint is None
    assert m.model.sha256 is None and m.model.config == "configs/sam2.1/sam2.1_hiera_t.yaml"
    assert (m.device, m.dtype, m.layout, m.image_size) == ("cpu", "float32", "interleave", IMAGE_SIZE)
    assert set(m.versions) >= {"multicam", "torch", "sam2"}
    assert m.config.processing.image_size == IMAGE_SIZE  # the CLI override is in the resolved config
    assert m.timings.frames_per_s > 0 and m.sequence_frames == sum(c[4] for c in CAMERAS)
    assert m.frames_written == {name: count for name, _, _, _, count, _ in CAMERAS}
    # the run reads back to exactly the masks the engine produced (same seed: same random weights)
    expected = {(fm.camera, fm.frame): fm for fm in interleaved[0]}
    for name, w, h, _, count, _ in CAMERAS:
        frames = run.frames(name)
        assert sorted(frames) == list(range(count))
        for i, fm in frames.items():
            assert fm.resolution_wh == (w, h)
            assert fm == expected[(name, i)]
    tracks = (run_dir / "tracks.csv").read_text().splitlines()
    assert len(tracks) - 1 == sum(len(fm.objects) for fm in interleaved[0])


@pytest.mark.sam2
@pytest.mark.parametrize("error, status", [(RuntimeError("disk full"), "failed"), (KeyboardInterrupt(), "interrupted")])
def test_an_interrupted_run_keeps_its_finished_frames(disc_game, tmp_path, error, status):
    written = []

    def stop_after_three(frame_masks):
        written.append(frame_masks)
        if len(written) == 3:
            raise error

    with pytest.raises(type(error)):
        process_game(
            disc_game,
            ProcessOptions(untrained=True, image_size=IMAGE_SIZE, device="cpu", runs_dir=tmp_path, progress=False),
            on_frame=stop_after_three,
        )
    run = open_run(tmp_path / "discs" / "run1")
    assert run.status == status and not run.is_complete
    back = [fm for name, *_ in CAMERAS for fm in run.iter_frames(name)]
    assert sorted((fm.camera, fm.frame) for fm in back) == sorted((fm.camera, fm.frame) for fm in written)
    assert {(fm.camera, fm.frame): fm for fm in back} == {(fm.camera, fm.frame): fm for fm in written}
    manifest = read_manifest(run.path / "manifest.json")
    assert manifest.timings.track_s > 0 and manifest.error


@pytest.mark.sam2
def test_cli_without_a_checkpoint_says_how_to_get_one(disc_game, tmp_path, monkeypatch):
    monkeypatch.setenv("MULTICAM_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["process", str(disc_game), "--no-download", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code != 0
    message = str(result.exception)
    assert "--untrained" in message and "multicam models download sam2.1_hiera_tiny" in message
    assert not (tmp_path / "runs").exists()


@pytest.mark.sam2
def test_sigterm_closes_the_run_as_interrupted_and_resumable(disc_game, tmp_path):
    """``kill`` (or a job scheduler) stopping ``multicam process`` leaves an ``interrupted`` run, not ``running``."""
    import signal
    import subprocess
    import sys
    import time

    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "multicam",
            "process",
            str(disc_game),
            "--untrained",
            "--image-size",
            str(IMAGE_SIZE),
            "--device",
            "cpu",
            "--runs-dir",
            str(runs),
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_dir = runs / "discs" / "run1"
    deadline = time.monotonic() + 300
    try:  # wait for the first finished frame, then stop the process the way `kill` does
        while not any(p.stat().st_size for p in run_dir.glob("masks/*.jsonl")) and proc.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail("no frame written within 300 s")
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted" in err and "Traceback" not in err
    run = open_run(run_dir)
    assert run.status == "interrupted" and not run.is_complete
    assert "SIGTERM" in run.manifest.error
    assert sum(len(run.frames(name)) for name, *_ in CAMERAS) >= 1
