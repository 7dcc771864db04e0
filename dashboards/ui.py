"""What every page shares: the configuration, the sidebar (game and run) and page-to-page state."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import streamlit as st

from multicam.dashboards import data
from multicam.errors import MulticamError
from multicam.game import Game
from multicam.manifest import UNTRAINED_WARNING
from multicam.rundir import MANIFEST, Run

# Widget values that must survive a page switch (Streamlit forgets widgets a page does not draw).
PERSISTENT_KEYS = (
    "game_select",
    "run_select",
    "review_focus",
    "review_objects",
    "review_opacity",
    "review_mode",
    "review_labels",
    "review_boxes",
    "review_gt",
    "review_columns",
    "prompt_frame",
    "prompt_object",
)
PENDING_RUN = "_open_run"
EXTRA_GAMES = "_extra_games"
BATCH_GAMES = "_batch_games"  # games opened from a batch record in the runs folder (the Season page)


@dataclass
class Context:
    """The current selection.

    Attributes:
        config: folders and games the dashboard was started with.
        game: the selected game (``None`` when there is none).
        runs: the game's ground truth and runs.
        entry: the selected run entry (``None`` when the game has neither).
        run: the selected run read back.
    """

    config: data.DashboardConfig
    game: Game | None = None
    runs: list[data.RunEntry] | None = None
    entry: data.RunEntry | None = None
    run: Run | None = None


def keep_widget_state() -> None:
    """Re-assign persistent widget keys so that switching pages keeps their values."""
    for key in PERSISTENT_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def _open_typed_path(text: str, config: data.DashboardConfig) -> None:
    """Open a typed game file or run folder, refusing anything outside the allowed folders."""
    try:
        p = data.check_path(text, config.roots, "path")
        if p.is_dir() and (p / MANIFEST).is_file():
            found = data.load_run(p).game_path()
            game_file = str(found) if found else None
            if not game_file:
                raise MulticamError(f"{p}: the run does not say which game it belongs to")
            game = data.load_allowed_game(game_file, config.roots)
            _remember_game(game.path)
            st.session_state["game_select"] = str(game.path)
            st.session_state[PENDING_RUN] = str(p)
        elif p.is_file():
            game = data.load_allowed_game(p, config.roots)
            _remember_game(game.path)
            st.session_state["game_select"] = str(game.path)
        else:
            raise MulticamError(f"{p}: not a game file or a run folder (no {MANIFEST})")
        st.session_state["_typed_error"] = None
    except MulticamError as exc:
        st.session_state["_typed_error"] = str(exc)


def _remember_game(path: Path) -> None:
    extra = list(st.session_state.get(EXTRA_GAMES, []))
    if str(path) not in extra:
        extra.append(str(path))
    st.session_state[EXTRA_GAMES] = extra


def game_choices(config: data.DashboardConfig) -> list[str]:
    games = [str(g.resolve()) for g in config.games] + list(st.session_state.get(EXTRA_GAMES, []))
    return list(dict.fromkeys(games))


def sidebar(config: data.DashboardConfig) -> Context:
    """Draw the sidebar (game, run, open by path) and return the current selection."""
    ctx = Context(config=config)
    with st.sidebar:
        st.markdown("### multicam")
        typed = st.text_input(
            "Open a game file or run folder", key="typed_path", placeholder="path/to/game.yaml or runs/<game>/run1"
        )
        if typed and typed != st.session_state.get("_typed_done"):
            st.session_state["_typed_done"] = typed
            _open_typed_path(typed, config)
        if st.session_state.get("_typed_error"):
            st.error(st.session_state["_typed_error"])
        games = game_choices(config)
        if not games:
            st.info("No game yet: start with `multicam dashboard RUNS_DIR --game GAME.yaml`.")
            return ctx
        if st.session_state.get("game_select") not in games:
            st.session_state["game_select"] = games[0]
        game_path = st.selectbox(
            "Game", games, key="game_select", format_func=lambda p: Path(p).parent.name + "/" + Path(p).name
        )
        try:
            ctx.game = data.load_allowed_game(game_path, config.roots)
        except MulticamError as exc:
            st.error(str(exc))
            return ctx
        ctx.runs = data.list_runs(ctx.game, config.runs_dir, config.roots)
        options = [str(e.path) for e in ctx.runs]
        pending = st.session_state.pop(PENDING_RUN, None)
        if pending in options:
            st.session_state["run_select"] = pending
        elif st.session_state.get("run_select") not in options:
            default = data.default_run(ctx.runs)
            st.session_state["run_select"] = str(default.path) if default else None
        if not options:
            st.info(
                f"No run or ground truth for {ctx.game.name} yet: label objects on the Prompts page "
                f"and process the game."
            )
            return ctx
        labels = {str(e.path): e.label for e in ctx.runs}
        chosen = st.selectbox("Run", options, key="run_select", format_func=lambda p: labels.get(p, p))
        ctx.entry = next(e for e in ctx.runs if str(e.path) == chosen)
        try:
            ctx.run = data.load_run(ctx.entry.path)
        except MulticamError as exc:
            st.error(str(exc))
            ctx.entry = None
        if ctx.run is not None:
            damaged, incomplete = data.run_problems(ctx.run)
            for line in damaged[:3]:
                st.error(f"damaged run, not shown: {line} (see `multicam check {ctx.run.path}`)")
            for line in incomplete:
                st.warning(f"this run is {line}")
            if damaged:
                ctx.run = ctx.entry = None
        if ctx.run is not None and ctx.run.untrained:
            st.warning(UNTRAINED_WARNING)
        st.caption(f"Runs folder: `{config.runs_dir.name}`", help=str(config.runs_dir))
    return ctx


def page_setup() -> Context:
    """What every page does first: keep widget values across pages, draw the sidebar, return the selection."""
    keep_widget_state()
    try:
        config = data.DashboardConfig.from_env()
    except MulticamError as exc:
        st.error(str(exc))
        st.stop()
    batch_games = tuple(Path(g) for g in st.session_state.get(BATCH_GAMES, []))
    if batch_games:  # a batch record in the runs folder vouches for its games' folders
        config = replace(config, games=tuple(dict.fromkeys(config.games + batch_games)))
    return sidebar(config)


def open_batch_game(game_path: str, run_path: str) -> None:
    """Select a game of a batch and its run, for the page switched to next."""
    games = list(st.session_state.get(BATCH_GAMES, []))
    if game_path not in games:
        games.append(game_path)
    st.session_state[BATCH_GAMES] = games
    st.session_state["game_select"] = str(Path(game_path).resolve())
    st.session_state[PENDING_RUN] = str(Path(run_path).resolve())


def open_review(time: float, camera: str | None = None, run_path: str | None = None) -> None:
    """Make the Review page show a moment (and a run) the next time it is drawn."""
    st.session_state["review_t"] = float(time)
    st.session_state["review_focus"] = camera
    if run_path is not None:
        st.session_state[PENDING_RUN] = run_path
