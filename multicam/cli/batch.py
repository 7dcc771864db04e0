"""``multicam batch SOURCE...``: every game as a Ray task; ``multicam batch status RECORD``: a batch's record."""

from __future__ import annotations

from pathlib import Path

import typer

from multicam.cli import app


@app.command()
def batch(
    sources: list[str] = typer.Argument(
        ...,
        help="Game files, folders of games, or a batch file (YAML with name/options/games). "
        "`multicam batch status RECORD` prints a batch record instead.",
    ),
    address: str | None = typer.Option(
        None,
        "--address",
        help="Ray cluster to join: auto (this machine's `ray start`) or ray://HOST:10001; default: a local Ray.",
    ),
    cpus: int | None = typer.Option(None, "--cpus", min=1, help="CPUs of the local Ray (default: every core)."),
    cpus_per_game: float = typer.Option(1.0, "--cpus-per-game", min=0.0, help="CPUs Ray reserves for each game."),
    gpus_per_game: float = typer.Option(0.0, "--gpus-per-game", min=0.0, help="GPUs per game (0.5: two per GPU)."),
    workers_per_game: int = typer.Option(
        1,
        "--workers-per-game",
        min=1,
        help="Split each game across N workers (multicam process --workers), each with --cpus-per-game CPUs.",
    ),
    max_parallel: int | None = typer.Option(
        None, "--max-parallel", min=1, help="Games processed at once (default: as many as the resources allow)."
    ),
    retries: int = typer.Option(2, "--retries", min=0, help="Retries of a game whose worker dies or fails."),
    force: bool = typer.Option(False, "--force", help="Run every game again, even one with a complete run."),
    report: bool = typer.Option(False, "--report", help="Then `multicam report` each game's run."),
    render: bool = typer.Option(False, "--render", help="Then `multicam render` each game's run."),
    name: str | None = typer.Option(
        None, "--name", help="Batch name: RUNS_DIR/_batches/<name>N (default: the batch file's name, or batch)."
    ),
    runs_dir: Path | None = typer.Option(None, "--runs-dir", help="Where run folders go [default: runs]."),
    model: str | None = typer.Option(None, "--model", help="Model name for every game (see `multicam models list`)."),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="Checkpoint (.pt) file for every game."),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N or mps."),
    image_size: int | None = typer.Option(None, "--image-size", help="SAM 2 input size, a multiple of 32."),
    layout: str | None = typer.Option(None, "--layout", help="interleave or concat."),
    dtype: str | None = typer.Option(None, "--dtype", help="auto, float32, bfloat16 or float16."),
    untrained: bool = typer.Option(False, "--untrained", help="Random weights: checks the mechanics only."),
    batch_objects: bool = typer.Option(False, "--batch-objects", help="Track a frame's objects as one batch."),
    feature_cache: str | None = typer.Option(None, "--feature-cache", help="auto, a folder, or off."),
    threads: int | None = typer.Option(
        None, "--threads", min=1, help="Torch threads per game (default: --cpus-per-game)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    verbose: bool = typer.Option(False, "--verbose", help="Show the workers' output."),
) -> None:
    """Process many games: each game is one Ray task (skipped when a complete run has the same inputs)."""
    from pydantic import ValidationError

    from multicam.batch import BatchError, BatchSettings, GameOptions, read_record, resolve_sources, status_table
    from multicam.game import format_validation_error

    if sources[0] == "status" and not Path("status").exists():
        if len(sources) != 2:
            raise BatchError("usage: multicam batch status RECORD (a RUNS_DIR/_batches/<name>N folder)")
        typer.echo(status_table(read_record(sources[1])))
        return
    try:
        cli_options = GameOptions(
            model=model,
            checkpoint=None if checkpoint is None else checkpoint.resolve(),
            device=device,
            image_size=image_size,
            layout=layout,
            dtype=dtype,
            untrained=True if untrained else None,
            batch_objects=True if batch_objects else None,
            feature_cache=feature_cache,
            threads=threads,
        )
    except ValidationError as exc:
        raise BatchError(format_validation_error(exc, "options").replace("\n", "; ")) from None
    resolved = resolve_sources([Path(s) for s in sources], cli_options, runs_dir)
    settings = BatchSettings(
        address=address,
        cpus=cpus,
        cpus_per_game=cpus_per_game,
        gpus_per_game=gpus_per_game,
        workers_per_game=workers_per_game,
        max_parallel=max_parallel,
        retries=retries,
        force=force,
        report=report,
        render=render,
        runs_dir=str(runs_dir or resolved.runs_dir or Path("runs")),
    )
    _run(resolved, settings, name or resolved.name or "batch", sources, quiet=quiet, verbose=verbose)


def _run(resolved, settings, name: str, sources: list[str], *, quiet: bool, verbose: bool) -> None:
    from multicam.batch import status_table
    from multicam.batch.runner import run_batch
    from multicam.manifest import UNTRAINED_WARNING

    def planned(record) -> None:
        counts = {a: sum(1 for g in record.games if g.action == a) for a in ("new", "resume", "skip")}
        bad = sum(1 for g in record.games if g.status == "failed")
        typer.echo(
            f"batch {record.name}: {len(record.games)} games - {counts['new']} new, {counts['resume']} to resume, "
            f"{counts['skip']} complete (skipped), {bad} unreadable; record {record.path}"
        )
        if any(g.options.untrained for g in record.games):
            typer.secho(f"warning: {UNTRAINED_WARNING}", fg=typer.colors.YELLOW, err=True)

    record = run_batch(
        resolved.jobs,
        settings,
        name=name,
        sources=sources,
        progress=not quiet,
        log_to_driver=verbose,
        on_record=planned,
    )
    typer.echo(status_table(record))
    for g in record.failed:
        typer.secho(f"{g.status}: {g.key}: {g.error}", fg=typer.colors.RED, err=True)
    if record.failed:
        raise typer.Exit(code=1)
