"""What a batch is made of: game files, folders of game files and batch files, turned into jobs.

A batch file is YAML, strict like the game file; relative paths start from its folder::

    name: season_2026            # the record goes to RUNS_DIR/_batches/<name>N/
    options:                     # shared by every game (any `multicam process` option below)
      image_size: 512
      untrained: false
    games:
      - games/round01/game.yaml
      - game: games/round02/game.yaml
        options: {image_size: 1024}   # this game only
      - games/round03               # a folder: every game file in it

Options, most specific first: a game's own ``options``, then the command line, then the batch
file's ``options``, then ``multicam process``'s defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from multicam.errors import MulticamError
from multicam.game import format_validation_error, load_game, read_yaml

GAME_SUFFIXES = (".yaml", ".yml")
SKIPPED_FOLDERS = ("_batches", "ground_truth", "masks", "report", "render", "resume")


class BatchError(MulticamError):
    """A batch file, source or resource request is wrong."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GameOptions(_Frozen):
    """`multicam process` options a batch can set, for all games or one. ``None``: not set here."""

    model: str | None = Field(default=None, description="Model name (multicam models list).")
    checkpoint: Path | None = Field(default=None, description="Checkpoint (.pt) file.")
    device: str | None = Field(default=None, description="auto, cpu, cuda, cuda:N or mps.")
    image_size: int | None = Field(default=None, ge=64, le=4096, description="SAM 2 input size (multiple of 32).")
    layout: Literal["interleave", "concat"] | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] | None = None
    compile: bool | None = None
    untrained: bool | None = Field(default=None, description="Random weights: masks that mean nothing.")
    batch_objects: bool | None = None
    feature_cache: str | None = Field(default=None, description="auto, a folder, or off.")
    feature_cache_gb: float | None = Field(default=None, gt=0)
    threads: int | None = Field(default=None, ge=1, description="CPU threads for torch in one game's task.")
    snapshot_every_s: float | None = Field(default=None, ge=0)
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$", description="Run folder prefix.")

    def over(self, base: GameOptions) -> GameOptions:
        """These options where set, ``base``'s elsewhere."""
        return base.model_copy(update=self.model_dump(exclude_none=True))

    def with_paths_from(self, folder: Path) -> GameOptions:
        """Relative checkpoint path resolved against ``folder`` (the batch file's)."""
        if self.checkpoint is None or self.checkpoint.is_absolute():
            return self
        return self.model_copy(update={"checkpoint": (folder / self.checkpoint).resolve()})


class GameEntry(_Frozen):
    """One entry of a batch file's ``games``: a game file or folder, with its own options."""

    game: Path
    options: GameOptions = GameOptions()


class BatchFile(_Frozen):
    """A batch file: its name, options shared by its games, and the games."""

    name: str = Field(default="batch", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    runs_dir: Path | None = Field(default=None, description="Where run folders go (default: --runs-dir).")
    options: GameOptions = GameOptions()
    games: list[GameEntry] = Field(min_length=1)

    @field_validator("games", mode="before")
    @classmethod
    def _plain_paths(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"game": v} if isinstance(v, str) else v for v in value]
        return value


class GameJob(_Frozen):
    """One game of a batch, as planned: its key in the record, its file and its options.

    ``error`` is set when the game cannot even be read (the game then fails alone).
    """

    key: str
    game: Path
    name: str
    options: GameOptions = GameOptions()
    error: str | None = None


class Sources(_Frozen):
    """What the sources named on the command line resolve to."""

    name: str | None = None
    runs_dir: Path | None = None
    jobs: list[GameJob]


def load_batch_file(path: Path) -> BatchFile:
    data = read_yaml(path, "batch file")
    try:
        return BatchFile.model_validate(data)
    except ValidationError as exc:
        raise BatchError(format_validation_error(exc, str(path)).replace("\n", "; ")) from None


def _looks_like_batch(data: Any) -> bool:
    return isinstance(data, dict) and "games" in data and "cameras" not in data


def _looks_like_game(data: Any) -> bool:
    return isinstance(data, dict) and "cameras" in data


def games_in_folder(folder: Path, exclude: Path | None = None) -> list[Path]:
    """Game files under ``folder``: YAML files that hold a mapping with ``cameras:``, sorted.

    Run folders (``exclude``), ground truth, reports and hidden folders are not searched.
    """
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in GAME_SUFFIXES or not path.is_file():
            continue
        parts = path.relative_to(folder).parts[:-1]
        if any(p.startswith(".") or p in SKIPPED_FOLDERS for p in parts):
            continue
        if exclude is not None and path.resolve().is_relative_to(exclude):
            continue
        try:
            data = read_yaml(path, "game file")
        except MulticamError:
            continue
        if _looks_like_game(data):
            found.append(path.resolve())
    return found


def _job(path: Path, options: GameOptions) -> GameJob:
    """A job for a game file; a game that cannot be loaded becomes a job with its error."""
    try:
        game = load_game(path)
        return GameJob(key="", game=game.path, name=game.name, options=options)
    except MulticamError as exc:
        name = path.parent.name if path.name in ("game.yaml", "game.yml") else path.stem
        return GameJob(key="", game=path.resolve(), name=name, options=options, error=str(exc))


def resolve_sources(sources: list[Path], cli_options: GameOptions, runs_dir: Path | None = None) -> Sources:
    """Game files, folders and batch files -> one job per distinct (game, options), keys unique.

    Raises:
        BatchError: a source that does not exist, a bad batch file, a folder without any game,
            two batch files, or nothing to do.
    """
    exclude = None if runs_dir is None else runs_dir.resolve()
    name: str | None = None
    batch_runs_dir: Path | None = None
    jobs: list[GameJob] = []
    batch_files = 0
    for source in sources:
        source = Path(source)
        if source.is_dir():
            games = games_in_folder(source, exclude)
            if not games:
                raise BatchError(f"{source}: no game file found (YAML files with 'cameras:') in this folder")
            jobs += [_job(g, cli_options) for g in games]
        elif source.is_file():
            data = read_yaml(source, "source")
            if _looks_like_batch(data):
                batch_files += 1
                if batch_files > 1:
                    raise BatchError(f"{source}: give one batch file per batch (merge their 'games:' lists)")
                batch = load_batch_file(source)
                name = batch.name
                root = source.resolve().parent
                if batch.runs_dir is not None:
                    batch_runs_dir = batch.runs_dir if batch.runs_dir.is_absolute() else root / batch.runs_dir
                shared = cli_options.over(batch.options.with_paths_from(root))
                for entry in batch.games:
                    path = entry.game if entry.game.is_absolute() else root / entry.game
                    opts = entry.options.with_paths_from(root).over(shared)
                    if path.is_dir():
                        found = games_in_folder(path, exclude)
                        if not found:
                            raise BatchError(f"{source}: games: {entry.game}: no game file found in this folder")
                        jobs += [_job(g, opts) for g in found]
                    else:
                        jobs.append(_job(path, opts))
            elif _looks_like_game(data):
                jobs.append(_job(source, cli_options))
            else:
                raise BatchError(
                    f"{source}: neither a game file (no 'cameras:') nor a batch file (no 'games:'); "
                    f"see docs/guide/batch.md"
                )
        else:
            raise BatchError(f"source not found: {source} (give game files, folders of games or a batch file)")
    return Sources(name=name, runs_dir=batch_runs_dir, jobs=_unique_keys(_dedupe(jobs)))


def _dedupe(jobs: list[GameJob]) -> list[GameJob]:
    seen: dict[tuple[str, str], GameJob] = {}
    for job in jobs:
        seen.setdefault((str(job.game), job.options.model_dump_json()), job)
    return list(seen.values())


def _unique_keys(jobs: list[GameJob]) -> list[GameJob]:
    """Key = the game's name, with ``-2``, ``-3``... for a name met again."""
    count: dict[str, int] = {}
    out = []
    for job in jobs:
        count[job.name] = count.get(job.name, 0) + 1
        key = job.name if count[job.name] == 1 else f"{job.name}-{count[job.name]}"
        out.append(job.model_copy(update={"key": key}))
    return out
