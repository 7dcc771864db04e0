"""Write estimated offsets back into a game file, keeping everything else as it was.

The file is edited with ruamel.yaml's round-trip mode: comments, key order, quoting and the
other cameras stay untouched; only each named camera's ``offset:`` value changes (the key is
added after ``video:`` when the camera had none).
"""

from __future__ import annotations

from pathlib import Path

from multicam.errors import GameFileError
from multicam.io import atomic_path

OFFSET_DECIMALS = 4  # 0.1 ms


def write_offsets(game_path: str | Path, offsets: dict[str, float], decimals: int = OFFSET_DECIMALS) -> None:
    """Set ``cameras[*].offset`` of the named cameras in a game file, in place.

    Args:
        game_path: the game file (YAML).
        offsets: seconds per camera name.
        decimals: digits kept after the decimal point.

    Raises:
        GameFileError: the file is not a game file or names none of ``offsets``' cameras.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.util import load_yaml_guess_indent

    path = Path(game_path)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    try:
        text = path.read_text(encoding="utf-8")
        _, indent, offset = load_yaml_guess_indent(text)  # keep the file's own indentation
        data = yaml.load(text)
    except (OSError, YAMLError) as exc:
        raise GameFileError(f"cannot read game file {path}: {exc}") from exc
    if indent is not None:
        offset = offset or 0
        yaml.indent(mapping=max(indent - offset, 2), sequence=indent, offset=offset)
    cameras = data.get("cameras") if hasattr(data, "get") else None
    if not isinstance(cameras, list):
        raise GameFileError(f"{path}: no 'cameras:' list to write offsets into")
    missing = set(offsets)
    for cam in cameras:
        name = cam.get("name") if hasattr(cam, "get") else None
        if name not in offsets:
            continue
        value = round(float(offsets[name]), decimals) + 0.0  # + 0.0: no "-0.0"
        if "offset" in cam:
            cam["offset"] = value
        else:
            keys = list(cam.keys())
            pos = keys.index("video") + 1 if "video" in keys else len(keys)
            cam.insert(pos, "offset", value)
        missing.discard(name)
    if missing:
        raise GameFileError(f"{path}: camera(s) {sorted(missing)} not found in 'cameras:'")
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
