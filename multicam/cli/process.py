"""``multicam process GAME.yaml``: run SAM 2 over every camera of a game into a run directory."""

from __future__ import annotations

from pathlib import Path

import typer

from multicam.cli import app


@app.command()
def process(
    game: Path | None = typer.Argument(None, help="The game file (YAML); leave out with --resume."),
    model: str | None = typer.Option(
        None, "--model", help="Model name (see `multicam models list`); default: the game file's model.name."
    ),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="Checkpoint (.pt) file to load instead of the download cache."
    ),
    device: str | None = typer.Option(
        None, "--device", help="auto, cpu, cuda, cuda:N or mps; default: the game file's processing.device."
    ),
    image_size: int | None = typer.Option(
        None,
        "--image-size",
        help="SAM 2 input size, a multiple of 32 (1024 as trained; smaller is faster and coarser).",
    ),
    layout: str | None = typer.Option(
        None, "--layout", help="interleave (frames grouped by game time) or concat (one clip after the other)."
    ),
    name: str = typer.Option("run", "--name", help="Run folder prefix: RUNS_DIR/<game>/<name>N."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Where run folders are created."),
    untrained: bool = typer.Option(
        False,
        "--untrained",
        help="Random weights instead of a checkpoint: checks the pipeline end to end; the masks mean nothing.",
    ),
    dtype: str = typer.Option(
        "auto", "--dtype", help="auto (bfloat16 on CUDA, float32 elsewhere), float32, bfloat16 or float16 (GPU)."
    ),
    compile: bool = typer.Option(
        False, "--compile", help="torch.compile the model (faster on GPU after a slow start)."
    ),
    download: bool = typer.Option(
        True, "--download/--no-download", help="Download a missing checkpoint of a registry model."
    ),
    batch_objects: bool | None = typer.Option(
        None,
        "--batch-objects/--no-batch-objects",
        help="Track all objects of a frame as one batch (faster with many objects; masks equal up to rounding). "
        "Default: auto, on for CUDA, off elsewhere.",
        show_default=False,
    ),
    feature_cache: str = typer.Option(
        "auto",
        "--feature-cache",
        help="Cache image features for re-runs after a prompt correction: auto (RUNS_DIR/.features), a folder, or off.",
    ),
    feature_cache_gb: float = typer.Option(
        20.0,
        "--feature-cache-gb",
        help="Size limit of the feature cache (least recently used files are removed first).",
    ),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads for torch (default: one per core)."),
    encoder_batch: int = typer.Option(
        0,
        "--encoder-batch",
        min=0,
        help="Frames per image-encoder pass: 0 = auto (1 on the CPU; on CUDA the number of cameras, twice that "
        "with the feature cache), 1 = one by one.",
    ),
    resume: Path | None = typer.Option(
        None,
        "--resume",
        help="Continue an interrupted run (a runs/<game>/<name>N folder) with its own settings; give no GAME then.",
    ),
    from_run: Path | None = typer.Option(
        None,
        "--from",
        help="A previous complete run of the game: track again only the objects whose prompts changed, "
        "copy the others' masks from it (when model, options, clips and layout are the same).",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Split the run across N Ray workers: image features of chunks of frames, then groups of objects "
        "in separate SAM 2 states, in parallel; the masks are those of one worker.",
    ),
    address: str | None = typer.Option(
        None,
        "--address",
        help="With --workers: a Ray cluster to join (auto, ray://HOST:10001); default: a local Ray.",
    ),
    gpus_per_worker: float = typer.Option(0.0, "--gpus-per-worker", min=0.0, help="With --workers: GPUs per worker."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Track the prompted objects through every frame of every camera; write runs/<game>/<name>N/."""
    from multicam.errors import MulticamError
    from multicam.manifest import UNTRAINED_WARNING
    from multicam.pipeline import ProcessOptions, process_game, resume_run

    if resume is not None:
        if game is not None or from_run is not None:
            raise MulticamError(
                "give either a GAME file or --resume RUN, not both: a resumed run keeps its game and settings"
            )
        from multicam.rundir import open_run

        if open_run(resume).manifest.workers is not None:
            from multicam.workers import resume_split

            result = resume_split(resume, progress=not quiet, address=address)
        else:
            result = resume_run(resume, progress=not quiet)
        if result.untrained:
            typer.secho(f"warning: {UNTRAINED_WARNING}", fg=typer.colors.YELLOW, err=True)
        m = result.manifest
        assert m is not None
        typer.echo(
            f"run resumed in {result.run_dir}: {result.frames} more frames "
            f"({m.sequence_frames} in the {m.layout} sequence)"
        )
        return
    if game is None:
        raise MulticamError("missing GAME: give a game file (multicam process game.yaml) or --resume RUN")
    options = ProcessOptions(
        model=model,
        checkpoint=checkpoint,
        device=device,
        image_size=image_size,
        layout=layout,
        dtype=dtype,
        compile=compile,
        untrained=untrained,
        name=name,
        runs_dir=runs_dir,
        download=download,
        progress=not quiet,
        batch_objects=batch_objects,
        feature_cache=feature_cache,
        feature_cache_gb=feature_cache_gb,
        threads=threads,
        encoder_batch=encoder_batch,
        from_run=from_run,
    )
    if untrained:
        typer.secho(f"warning: {UNTRAINED_WARNING}", fg=typer.colors.YELLOW, err=True)
    from multicam.session import open_game, partial_overlaps

    opened = open_game(game)  # refuses a camera that never overlaps the reference
    for line in partial_overlaps(opened.timeline):
        typer.secho(f"note: {line}", fg=typer.colors.YELLOW, err=True)
    if workers > 1 or address is not None:
        from multicam.workers import WorkerSettings, process_split

        settings = WorkerSettings(count=workers, address=address, threads=threads, gpus=gpus_per_worker)
        result = process_split(game, options, settings)
    else:
        result = process_game(opened, options)
    m = result.manifest
    assert m is not None
    typer.echo(f"run written to {result.run_dir}")
    if m.workers is not None:
        w = m.workers
        typer.echo(
            f"  split across {w.count} worker(s), {w.threads_per_worker} thread(s) each: features "
            f"{w.encode_s}s ({w.frames_encoded} frames), tracking {w.track_s}s "
            f"({', '.join(str(p.objects) for p in w.parts)}), merge {w.merge_s}s"
        )
    correction = m.correction
    if correction:
        if correction["reused"]:
            typer.echo(
                f"  correction of {correction['source_run']}: tracked object(s) {correction['retracked']}, "
                f"copied {correction['reused']}"
            )
        else:
            typer.echo(f"  every object tracked again: {correction['reason']}")
    typer.echo(
        f"  {result.frames} frames ({m.sequence_frames} in the {m.layout} sequence) in "
        f"{result.track_s:.1f}s = {result.frames_per_s:.2f} frames/s on {m.device} ({m.dtype}, "
        f"{m.image_size} px)"
    )
    if untrained:
        typer.secho(f"warning: {UNTRAINED_WARNING}", fg=typer.colors.YELLOW, err=True)
