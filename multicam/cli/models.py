"""``multicam models list | download NAME | path NAME``: the SAM 2 checkpoints multicam knows."""

from __future__ import annotations

import typer

from multicam.cli import app

models_app = typer.Typer(
    help="SAM 2 checkpoints: list them, download one into the cache, print its path.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command("list")
def list_models() -> None:
    """Every known model: parameters, checkpoint size, config, and whether it is downloaded."""
    from multicam.models import REGISTRY, cached_checkpoint, models_dir

    header = f"{'name':<24} {'params':>8} {'size':>9}  {'downloaded':<10} config"
    typer.echo(header)
    typer.echo("-" * len(header))
    for spec in REGISTRY.values():
        size = f"{spec.size_bytes / 1e6:.1f} MB" if spec.size_bytes else f"~{spec.approx_mb} MB"
        have = "yes" if cached_checkpoint(spec.name) else "no"
        typer.echo(f"{spec.name:<24} {spec.params / 1e6:>7.1f}M {size:>9}  {have:<10} {spec.config}")
    typer.echo(f"cache: {models_dir()}  (set MULTICAM_HOME to move it)")


@models_app.command("download")
def download_model(
    name: str = typer.Argument(..., help="Model name, e.g. sam2.1_hiera_tiny."),
    force: bool = typer.Option(False, "--force", help="Download again even if it is cached."),
    url: str | None = typer.Option(None, "--url", help="Download from this URL (a mirror) instead."),
) -> None:
    """Download a checkpoint into the cache (verified size, SHA-256 recorded beside it)."""
    from multicam.models import checkpoint_sha256, download, get_model

    spec = get_model(name)
    path = download(spec.name, url=url, force=force)
    typer.echo(f"{path}")
    typer.echo(f"sha256 {checkpoint_sha256(path)}  ({path.stat().st_size} bytes)")


@models_app.command("path")
def model_path(name: str = typer.Argument(..., help="Model name, e.g. sam2.1_hiera_tiny.")) -> None:
    """Print where a model's checkpoint is cached (an error when it is not there yet)."""
    from multicam.errors import ModelError
    from multicam.models import checkpoint_path, get_model

    spec = get_model(name)
    path = checkpoint_path(spec.name)
    typer.echo(str(path))
    if not path.is_file():
        raise ModelError(
            f"{spec.name} is not downloaded yet: run `multicam models download {spec.name}` "
            f"or place {spec.url} at {path} by hand"
        )
