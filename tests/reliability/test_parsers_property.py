"""Property-based: ANY YAML value, in any field, as a game or prompts file either loads or gives a clean error.

"Clean": a :class:`~multicam.errors.MulticamError` whose message names the file, holds no pydantic
internals (``literal[``, "after validation", "Input should be"), and has one line per problem.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multicam.errors import MulticamError
from multicam.game import load_game
from multicam.prompts import load_prompts

LEAKS = ("literal[", "after validation", "Input should be", "function-after", "Value error,", "[type=")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["auto", "a", "b", "clips/a.mp4", "interleave", "0.5", "-1", "", "~", "null", "1e400"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["name", "video", "offset", "id", "frame", "x", "objects"]), inner, max_size=4),
    ),
    max_leaves=12,
)


def _dump(data: object, path: Path) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)


def _clean(exc: MulticamError, path: Path) -> None:
    message = str(exc)
    assert message.strip(), "empty message"
    assert not any(leak in message for leak in LEAKS), message
    for line in message.splitlines():
        assert str(path) in line, line


GAME = {
    "name": "g",
    "reference": "a",
    "cameras": [{"name": "a", "video": "a.mp4", "offset": 0.0}, {"name": "b", "video": "a.mp4", "offset": 0.5}],
    "processing": {"layout": "interleave", "image_size": 64, "device": "cpu"},
    "model": {"name": "sam2.1_hiera_tiny"},
}
GAME_FIELDS = [
    ("name",),
    ("reference",),
    ("cameras",),
    ("cameras", 1),
    ("cameras", 1, "name"),
    ("cameras", 1, "offset"),
    ("cameras", 1, "video"),
    ("processing",),
    ("processing", "layout"),
    ("processing", "image_size"),
    ("processing", "device"),
    ("model",),
    ("model", "checkpoint"),
    ("prompts",),
    ("extra",),
]
PROMPTS = {"objects": [{"id": 1, "name": "ball", "team": None, "prompts": [{"frame": 0, "positive": [[1, 2]]}]}]}
PROMPT_FIELDS = [
    ("objects",),
    ("objects", 0),
    ("objects", 0, "id"),
    ("objects", 0, "name"),
    ("objects", 0, "team"),
    ("objects", 0, "prompts"),
    ("objects", 0, "prompts", 0),
    ("objects", 0, "prompts", 0, "frame"),
    ("objects", 0, "prompts", 0, "time"),
    ("objects", 0, "prompts", 0, "positive"),
    ("objects", 0, "prompts", 0, "negative"),
    ("objects", 0, "prompts", 0, "box_xyxy"),
    ("objects", 0, "prompts", 0, "camera"),
]


def _replaced(base: dict, where: tuple, value: object) -> object:
    import copy

    data = copy.deepcopy(base)
    node = data
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    return data


FOLDER = Path(tempfile.mkdtemp(prefix="multicam-property-"))
(FOLDER / "a.mp4").write_bytes(b"")  # exists (load_game checks paths, not contents)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.one_of(values, st.sampled_from(GAME_FIELDS).flatmap(lambda w: values.map(lambda v: _replaced(GAME, w, v)))))
def test_any_yaml_game_file_loads_or_gives_a_clean_error(data):
    path = FOLDER / "game.yaml"
    _dump(data, path)
    try:
        game = load_game(path)
    except MulticamError as exc:
        _clean(exc, path)
    else:
        assert game.config.reference in game.config.camera_names


@PROPERTY
@given(
    st.one_of(values, st.sampled_from(PROMPT_FIELDS).flatmap(lambda w: values.map(lambda v: _replaced(PROMPTS, w, v))))
)
def test_any_yaml_prompts_file_loads_or_gives_a_clean_error(data):
    path = FOLDER / "prompts.yaml"
    _dump(data, path)
    try:
        prompts = load_prompts(path)
    except MulticamError as exc:
        _clean(exc, path)
    else:
        assert all(obj.prompts for obj in prompts.objects)


@PROPERTY
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_as_a_game_file_give_a_clean_error(content):
    path = FOLDER / "raw.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    try:
        load_game(path)
    except MulticamError as exc:
        assert str(path) in str(exc) and not any(leak in str(exc) for leak in LEAKS), str(exc)
