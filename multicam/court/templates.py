"""Court templates: named landmarks (metres, on the floor) and the lines to draw, read from YAML files.

The templates shipped with multicam live in ``multicam/court/templates/<name>.yaml``; a user's own
template is any file with the same fields::

    name: my_court
    sport: basketball
    description: ...
    length_m: 28.0
    width_m: 15.0
    landmarks:             # at least 4, not all on one line
      corner_left_near: [0.0, 0.0]
      ...
    lines:                 # polylines, each a list of [x, y] points
      - [[0, 0], [28, 0]]
    arcs:                  # circles and arcs: centre, radius, angles in degrees (counter-clockwise from +x)
      - {center: [14, 7.5], radius: 1.8, start_deg: 0, end_deg: 360}
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from multicam.errors import MulticamError

TEMPLATE_DIR = "templates"
MIN_LANDMARKS = 4

Point2 = tuple[float, float]


class CourtError(MulticamError):
    """A court template, calibration or landmark file is missing, malformed or degenerate."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Arc(_Frozen):
    """A circle or an arc on the floor."""

    center: Point2
    radius: float = Field(gt=0)
    start_deg: float = 0.0
    end_deg: float = 360.0

    def points(self, step_deg: float = 5.0) -> np.ndarray:
        """``(N, 2)`` points along the arc."""
        n = max(2, int(np.ceil(abs(self.end_deg - self.start_deg) / step_deg)) + 1)
        a = np.radians(np.linspace(self.start_deg, self.end_deg, n))
        return np.column_stack([self.center[0] + self.radius * np.cos(a), self.center[1] + self.radius * np.sin(a)])


class CourtTemplate(_Frozen):
    """A court: its size, named landmarks on the floor (metres) and its lines for drawing."""

    name: str = Field(min_length=1)
    sport: str = ""
    description: str = ""
    source: str = ""
    length_m: float = Field(gt=0)
    width_m: float = Field(gt=0)
    landmarks: dict[str, Point2]
    lines: tuple[tuple[Point2, ...], ...] = ()
    arcs: tuple[Arc, ...] = ()

    @model_validator(mode="after")
    def _enough_landmarks(self) -> CourtTemplate:
        if len(self.landmarks) < MIN_LANDMARKS:
            raise ValueError(
                f"landmarks: a template needs at least {MIN_LANDMARKS} named landmarks not all on one line, "
                f"got {len(self.landmarks)}"
            )
        pts = np.array(list(self.landmarks.values()), dtype=np.float64)
        if np.linalg.matrix_rank(pts - pts.mean(axis=0), tol=1e-6) < 2:
            raise ValueError("landmarks: every landmark lies on one line; add landmarks off that line")
        return self

    def xy(self, names: list[str] | tuple[str, ...]) -> np.ndarray:
        """``(N, 2)`` floor coordinates of the named landmarks."""
        unknown = [n for n in names if n not in self.landmarks]
        if unknown:
            raise CourtError(
                f"template {self.name!r} has no landmark(s) {unknown}; its landmarks are {sorted(self.landmarks)}"
            )
        return np.array([self.landmarks[n] for n in names], dtype=np.float64).reshape(-1, 2)

    def polylines(self, step_deg: float = 5.0) -> list[np.ndarray]:
        """Every line and arc as an ``(N, 2)`` polyline in metres, for drawing."""
        return [np.asarray(line, dtype=np.float64) for line in self.lines] + [a.points(step_deg) for a in self.arcs]


def builtin_templates() -> list[str]:
    """Names of the templates shipped with multicam."""
    folder = resources.files("multicam.court") / TEMPLATE_DIR
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def parse_template(data: object, source: str) -> CourtTemplate:
    """A template from parsed YAML/JSON; errors name ``source`` and the field."""
    from multicam.game import format_validation_error

    if not isinstance(data, dict):
        raise CourtError(f"{source}: a court template is a mapping (name:, length_m:, width_m:, landmarks: ...)")
    try:
        return CourtTemplate.model_validate(data)
    except ValidationError as exc:
        raise CourtError(format_validation_error(exc, source).replace("\n", "; ")) from None


def load_template(name_or_path: str | Path) -> CourtTemplate:
    """A shipped template by name (``basketball_fiba``...) or a user's template file (YAML or JSON).

    Raises:
        CourtError: unknown name, missing or malformed file, fewer than 4 landmarks.
    """
    from multicam.game import GameFileError, read_yaml

    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.is_file():
        try:
            data = read_yaml(path, "court template")
        except GameFileError as exc:
            raise CourtError(str(exc)) from None
        return parse_template(data, str(path))
    names = builtin_templates()
    if text not in names:
        raise CourtError(f"unknown court template {text!r}; use one of {names} or the path of your own YAML file")
    resource = resources.files("multicam.court") / TEMPLATE_DIR / f"{text}.yaml"
    from ruamel.yaml import YAML

    return parse_template(YAML(typ="safe", pure=True).load(resource.read_text(encoding="utf-8")), f"template {text}")
