"""``multicam synth OUT_DIR``: generate a synthetic multi-camera game with exact ground truth."""

from __future__ import annotations

from pathlib import Path

import typer

from multicam.cli import app
from multicam.errors import MulticamError


def _floats(text: str | None, option: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise MulticamError(f"{option}: expected comma-separated numbers like 0,-0.4,1.25, got {text!r}") from None


@app.command()
def synth(
    out_dir: Path = typer.Argument(..., help="Folder to write the game into (created)."),
    seed: int = typer.Option(0, help="Random seed: the same seed gives the same game."),
    cameras: int = typer.Option(3, help="Number of cameras (1-8); the first, 'side', is the reference."),
    players_per_team: int = typer.Option(3, help="Players in each of the two teams."),
    duration: float = typer.Option(4.0, help="Length of the reference clip in seconds."),
    width: int = typer.Option(960, help="Width of the widest (reference) camera in pixels."),
    fps: str | None = typer.Option(
        None, help="Frame rates: one for all cameras or one per camera, comma-separated (default 25,30,25,...)."
    ),
    offsets: str | None = typer.Option(
        None,
        help="Game time (s) of each clip's first frame, comma-separated; "
        "the first must be 0 (default: a few tenths of a second).",
    ),
    durations: str | None = typer.Option(None, help="Clip length (s) per camera, comma-separated."),
    audio: bool = typer.Option(True, "--audio/--no-audio", help="Give the clips an AAC sound track."),
    blur: bool = typer.Option(False, "--blur/--no-blur", help="Motion blur (pixels only, not the masks)."),
    noise: float = typer.Option(2.0, help="Std of Gaussian pixel noise (0-255 scale); 0 for none."),
    crf: int = typer.Option(26, help="H.264 quality (0-51): lower is better and bigger."),
    name: str | None = typer.Option(None, help="Game name (default: the folder's name)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a game already in OUT_DIR."),
    preview: Path | None = typer.Option(None, help="Also save a side-by-side PNG of all cameras."),
) -> None:
    """Render a court, two teams and a ball seen by several calibrated cameras, and write a game folder:
    game.yaml, prompts.yaml, calibration.json, clips/<camera>.mp4 and ground_truth/."""
    from pydantic import ValidationError

    from multicam.game import format_validation_error
    from multicam.progress import progress
    from multicam.synth import SynthConfig, generate_game

    try:
        cfg = SynthConfig(
            seed=seed,
            num_cameras=cameras,
            players_per_team=players_per_team,
            duration_s=duration,
            width=width,
            fps=_floats(fps, "--fps"),
            offsets=_floats(offsets, "--offsets"),
            durations=_floats(durations, "--durations"),
            audio=audio,
            motion_blur=blur,
            noise_std=noise,
            crf=crf,
            name=name,
        )
    except ValidationError as exc:
        raise MulticamError(format_validation_error(exc, "multicam synth").replace("(top level): ", "")) from None
    with progress(total=cfg.total_frames, unit="frame", desc="synth", dynamic_ncols=True) as bar:
        game = generate_game(cfg, out_dir, overwrite=overwrite, progress=bar.update)
    typer.echo(f"wrote {game}")
    if preview is not None:
        from multicam.synth.preview import save_preview

        typer.echo(f"wrote {save_preview(game, preview)}")
