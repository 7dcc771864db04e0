"""SAM 2 model registry and checkpoint download cache. No torch here.

Checkpoints live in ``$MULTICAM_HOME/models/<name>.pt`` (default ``~/.cache/multicam``),
each with ``<name>.pt.sha256`` beside it. :func:`download` writes through a temporary
file and renames it only once the whole file arrived with the expected size, so a
failed or interrupted download never leaves a half checkpoint behind.

Parameter counts were measured by building each architecture from its sam2 1.1.0
config; download URLs are those of facebookresearch/sam2 ``checkpoints/download_ckpts.sh``.
A checkpoint's exact size in bytes is listed only where it is known
(``size_bytes=None`` otherwise: the download is then checked against the server's
``Content-Length``); ``approx_mb`` is the rounded size for display.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from multicam.errors import ModelError
from multicam.io import atomic_path

SAM2_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/072824"
SAM2_1_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/092824"
DEFAULT_MODEL = "sam2.1_hiera_tiny"


@dataclass(frozen=True)
class ModelSpec:
    """A SAM 2 checkpoint and the config that builds its architecture.

    Attributes:
        name: registry name, e.g. ``sam2.1_hiera_tiny`` (also the checkpoint's file stem).
        config: sam2 config name, e.g. ``configs/sam2.1/sam2.1_hiera_t.yaml``.
        url: official download URL.
        params: number of parameters.
        size_bytes: exact checkpoint size in bytes, or None where not known.
        approx_mb: approximate checkpoint size in MB (10^6 bytes), for display.
    """

    name: str
    config: str
    url: str
    params: int
    size_bytes: int | None
    approx_mb: int

    @property
    def filename(self) -> str:
        return f"{self.name}.pt"


def _spec(version: str, size: str, cfg: str, params: int, approx_mb: int, size_bytes: int | None = None) -> ModelSpec:
    if version == "2.1":
        name, config, base = f"sam2.1_hiera_{size}", f"configs/sam2.1/sam2.1_hiera_{cfg}.yaml", SAM2_1_URL
    else:
        name, config, base = f"sam2_hiera_{size}", f"configs/sam2/sam2_hiera_{cfg}.yaml", SAM2_URL
    return ModelSpec(
        name=name, config=config, url=f"{base}/{name}.pt", params=params, size_bytes=size_bytes, approx_mb=approx_mb
    )


REGISTRY: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        _spec("2.1", "tiny", "t", 38_962_498, 156),
        _spec("2.1", "small", "s", 46_060_354, 184),
        _spec("2.1", "base_plus", "b+", 80_850_178, 324),
        _spec("2.1", "large", "l", 224_446_642, 898),
        _spec("2", "tiny", "t", 38_945_986, 156, size_bytes=155_906_050),
        _spec("2", "small", "s", 46_043_842, 184),
        _spec("2", "base_plus", "b+", 80_833_666, 324),
        _spec("2", "large", "l", 224_430_130, 898),
    )
}


def get_model(name: str) -> ModelSpec:
    """The registry entry of a model name."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ModelError(
            f"unknown model {name!r}; known models: {', '.join(REGISTRY)} (see `multicam models list`)"
        ) from None


def multicam_home() -> Path:
    """``$MULTICAM_HOME`` or ``~/.cache/multicam``."""
    return Path(os.environ.get("MULTICAM_HOME") or Path.home() / ".cache" / "multicam").expanduser()


def models_dir() -> Path:
    return multicam_home() / "models"


def checkpoint_path(name: str) -> Path:
    """Where the cache keeps (or would keep) a model's checkpoint."""
    return models_dir() / get_model(name).filename


def cached_checkpoint(name: str) -> Path | None:
    """The cached checkpoint of a model, or None when it is not there."""
    path = checkpoint_path(name)
    return path if path.is_file() else None


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_sha256(path: str | Path) -> str:
    """SHA-256 of a checkpoint: read from ``<file>.sha256`` when it matches the file, else computed."""
    path = Path(path)
    side = path.with_name(path.name + ".sha256")
    if side.is_file() and side.stat().st_mtime >= path.stat().st_mtime:
        text = side.read_text(encoding="utf-8").split()
        if text and len(text[0]) == 64:
            return text[0]
    return sha256_file(path)


def manual_instructions(spec: ModelSpec) -> str:
    target = models_dir() / spec.filename
    return (
        f"download {spec.url} by hand and place it at {target} "
        f"(or set model.checkpoint in the game file / pass --checkpoint FILE)"
    )


def download(
    name: str,
    *,
    url: str | None = None,
    progress: bool = True,
    force: bool = False,
    timeout_s: float = 30.0,
    on_progress: Callable[[int], None] | None = None,
) -> Path:
    """Download a model's checkpoint into the cache and return its path.

    Writes ``<name>.pt`` through a temporary file in the same folder, checks its size
    (against the registry where known and the server's ``Content-Length``), then renames
    it into place and writes its SHA-256 to ``<name>.pt.sha256``.

    Args:
        name: registry name.
        url: download from here instead of the official URL (a mirror, or ``file://``).
        progress: show a tqdm progress bar on stderr.
        force: download again even if the file is already cached.
        timeout_s: network timeout per read.
        on_progress: called with the number of bytes of each block received.

    Raises:
        ModelError: unknown name, offline, HTTP error or size mismatch; the message says
        how to place the checkpoint by hand.
    """
    import urllib.error
    import urllib.request

    from multicam.progress import progress as progress_display

    spec = get_model(name)
    target = models_dir() / spec.filename
    if target.is_file() and not force:
        return target
    source = url or spec.url
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    received = 0
    with atomic_path(target) as tmp:
        with tmp.open("wb") as out:
            try:
                response = urllib.request.urlopen(source, timeout=timeout_s)  # noqa: S310 - http(s)/file URL
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                raise ModelError(
                    f"cannot download {spec.name} from {source}: {reason}. Offline? {manual_instructions(spec)}"
                ) from None
            with response:
                length = response.headers.get("Content-Length")
                expected = int(length) if length and length.isdigit() else None
                total = spec.size_bytes if spec.size_bytes is not None else expected
                with progress_display(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=spec.filename,
                    disable=not progress,
                    leave=False,
                ) as bar:
                    while True:
                        try:
                            block = response.read(1 << 20)
                        except (OSError, urllib.error.URLError) as exc:
                            raise ModelError(
                                f"download of {spec.name} from {source} broke off after "
                                f"{received} bytes ({exc}); run it again, or "
                                f"{manual_instructions(spec)}"
                            ) from None
                        if not block:
                            break
                        out.write(block)
                        digest.update(block)
                        received += len(block)
                        bar.update(len(block))
                        if on_progress is not None:
                            on_progress(len(block))
        for what, size in (("the server announced", expected), ("the registry lists", spec.size_bytes)):
            if size is not None and received != size:
                raise ModelError(
                    f"download of {spec.name} from {source} is {received} bytes but {what} "
                    f"{size}; run it again, or {manual_instructions(spec)}"
                )
        if received == 0:
            raise ModelError(f"download of {spec.name} from {source} is empty; {manual_instructions(spec)}")
    side = target.with_name(target.name + ".sha256")
    side.write_text(f"{digest.hexdigest()}  {target.name}\n", encoding="utf-8")
    return target


def resolve_checkpoint(
    name: str, checkpoint: Path | None = None, *, download_missing: bool = True, progress: bool = True
) -> Path:
    """The checkpoint to load: an explicit file, else the cache (downloading it when missing).

    Raises:
        ModelError: the file is missing or cannot be downloaded; the message says where to
        place it by hand and points to ``--untrained`` for trying the pipeline without it.
    """
    spec = get_model(name)
    if checkpoint is not None:
        checkpoint = Path(checkpoint).expanduser()
        if not checkpoint.is_file():
            raise ModelError(f"checkpoint not found: {checkpoint}")
        return checkpoint
    cached = cached_checkpoint(name)
    if cached is not None:
        return cached
    if not download_missing:
        raise ModelError(
            f"no checkpoint for {name}: run `multicam models download {name}`, or "
            f"{manual_instructions(spec)}. To try the pipeline without weights, use --untrained."
        )
    try:
        return download(name, progress=progress)
    except ModelError as exc:
        raise ModelError(
            f"{exc}. To try the pipeline without weights, use --untrained (masks from random weights)."
        ) from None
