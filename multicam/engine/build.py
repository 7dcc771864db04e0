"""Building SAM 2's video predictor: sam2 import, device, dtype, config, weights.

sam2's ``__init__`` initialises Hydra globally, and ``build_sam2_video_predictor``
composes its config through that global Hydra, defaults to device ``cuda`` and appends
its own overrides after the caller's. Here the config YAML is read with OmegaConf and
instantiated directly, so a host application's Hydra set-up is neither needed nor
disturbed (:func:`import_sam2` even undoes the global initialisation sam2's import does
when Hydra was not initialised before).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from multicam.errors import ModelError

PREDICTOR_TARGET = "multicam.engine.predictor.MulticamVideoPredictor"
PREDICTOR_VOS_TARGET = "multicam.engine.predictor.MulticamVideoPredictorVOS"
DTYPES = ("auto", "float32", "bfloat16", "float16")


def import_sam2():
    """Import and return the ``sam2`` package, leaving Hydra's global state as it was.

    sam2 initialises Hydra's global config search path on import unless something did
    before; an application that sets up Hydra after importing multicam would then fail
    with "GlobalHydra is already initialized". multicam never composes through Hydra.
    """
    if "sam2" in sys.modules:
        return sys.modules["sam2"]
    from hydra.core.global_hydra import GlobalHydra

    was_initialized = GlobalHydra.instance().is_initialized()
    import sam2

    if not was_initialized and GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    return sam2


def has_extension() -> bool:
    """Whether sam2's compiled extension ``_C`` (hole filling on masks) is available."""
    import_sam2()
    try:
        from sam2 import _C  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_device(requested: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an explicit device must be available.

    Raises:
        ModelError: the requested device is not available, with what to use instead.
    """
    requested = (requested or "auto").strip()
    mps_ok = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_ok else torch.device("cpu")
    if requested == "cpu":
        return torch.device("cpu")
    if requested == "mps":
        if not mps_ok:
            raise ModelError("device mps is not available on this machine; use --device cpu (or auto)")
        return torch.device("mps")
    if requested == "cuda" or requested.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ModelError(
                f"device {requested} is not available (this torch {torch.__version__} sees no "
                f"CUDA GPU); use --device cpu (or auto)"
            )
        device = torch.device(requested)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ModelError(
                f"device {requested} does not exist; this machine has "
                f"{torch.cuda.device_count()} CUDA device(s): cuda:0.."
            )
        return device
    raise ModelError(f"unknown device {requested!r}; use auto, cpu, cuda, cuda:N or mps")


def resolve_dtype(requested: str, device: torch.device) -> torch.dtype:
    """The autocast dtype: ``auto`` is bfloat16 on CUDA and float32 elsewhere.

    Raises:
        ModelError: an unknown name, or float16 on the CPU (not supported there).
    """
    if requested not in DTYPES:
        raise ModelError(f"unknown dtype {requested!r}; use one of {', '.join(DTYPES)}")
    if requested == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if requested == "float16" and device.type == "cpu":
        raise ModelError("dtype float16 does not run on the CPU; use bfloat16 or float32")
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[requested]


def resolve_batch_objects(requested: bool | None, device: torch.device) -> bool:
    """Whether to track a frame's objects as one batch: ``None`` (auto) is on for CUDA only.

    On a GPU one batch replaces many small kernel launches; on the CPU it gains little and
    tracking one object at a time keeps a correction's masks bit-identical to a fresh run's.
    """
    return device.type == "cuda" if requested is None else bool(requested)


def model_config(config: str, *, image_size: int, compile: bool = False, fill_hole_area: int | None = None):
    """The OmegaConf config of a sam2 model (``configs/sam2.1/sam2.1_hiera_t.yaml``...) for video.

    Applies what ``build_sam2_video_predictor`` applies (multimask fallback, binarised
    click masks for the memory encoder, hole filling) plus the input size.
    """
    from omegaconf import OmegaConf

    sam2 = import_sam2()
    path = Path(sam2.__file__).parent / config
    if not path.is_file():
        raise ModelError(f"sam2 config {config!r} not found in {path.parent.parent} (sam2 {_sam2_version()})")
    if image_size % 32 or image_size < 64:
        raise ModelError(f"image size must be a multiple of 32 and at least 64, got {image_size}")
    cfg = OmegaConf.load(path)
    m = cfg.model
    m._target_ = PREDICTOR_VOS_TARGET if compile else PREDICTOR_TARGET
    if compile:
        m.compile_image_encoder = True
    m.image_size = image_size
    layer = m.memory_attention.layer
    for attn in (layer.self_attention, layer.cross_attention):
        if "feat_sizes" in attn:
            attn.feat_sizes = [image_size // 16, image_size // 16]
    m.sam_mask_decoder_extra_args = {
        "dynamic_multimask_via_stability": True,
        "dynamic_multimask_stability_delta": 0.05,
        "dynamic_multimask_stability_thresh": 0.98,
    }
    m.binarize_mask_from_pts_for_mem_enc = True
    m.fill_hole_area = (8 if has_extension() else 0) if fill_hole_area is None else fill_hole_area
    OmegaConf.resolve(cfg)
    return cfg


def build_predictor(
    config: str,
    checkpoint: str | Path | None,
    *,
    device: torch.device,
    image_size: int = 1024,
    compile: bool = False,
    seed: int = 0,
):
    """Build :class:`~multicam.engine.predictor.MulticamVideoPredictor` in eval mode on ``device``.

    Args:
        config: sam2 config name.
        checkpoint: a SAM 2 checkpoint; None builds random weights (seeded by ``seed``,
            without touching the global random state).
        device: where to run.
        image_size: model input size (multiple of 32).
        compile: ``torch.compile`` the model's parts (sam2's ``vos_optimized``).

    Raises:
        ModelError: a missing, unreadable or mismatching checkpoint.
    """
    from hydra.utils import instantiate

    cfg = model_config(config, image_size=image_size, compile=compile)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = instantiate(cfg.model, _recursive_=True)
    if checkpoint is not None:
        load_checkpoint(model, Path(checkpoint), config)
    model.fill_hole_area = int(cfg.model.fill_hole_area)
    return model.to(device).eval()


def load_checkpoint(model: torch.nn.Module, path: Path, config: str) -> None:
    """Load a SAM 2 checkpoint (``{"model": state_dict}`` or a bare state dict) strictly."""
    if not path.is_file():
        raise ModelError(f"checkpoint not found: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle, zip and runtime errors alike
        raise ModelError(
            f"cannot read checkpoint {path}: {exc} (is it a SAM 2 .pt file? download it "
            f"again with `multicam models download NAME`)"
        ) from None
    state = data.get("model", data) if isinstance(data, dict) else None
    if not isinstance(state, dict):
        raise ModelError(f"{path} holds no SAM 2 state dict (expected a dict with a 'model' entry)")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelError(
            f"checkpoint {path} does not fit the architecture of {config}: {len(missing)} missing "
            f"(e.g. {list(missing)[:3]}), {len(unexpected)} unexpected (e.g. {list(unexpected)[:3]}) "
            f"parameters; pass the model name that matches the checkpoint (--model)"
        )


def _sam2_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sam2")
    except PackageNotFoundError:
        return "unknown"


def versions() -> dict[str, str]:
    """Versions of multicam, torch and sam2 (for run manifests)."""
    import multicam

    return {
        "multicam": multicam.__version__,
        "torch": torch.__version__,
        "sam2": _sam2_version(),
        "python": sys.version.split()[0],
    }
