"""Season: the games of a batch (``multicam batch``) with their report numbers; open any in Review or Consistency."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from multicam.batch.record import list_records, read_record
from multicam.dashboards import data, ui
from multicam.errors import MulticamError

ctx = ui.page_setup()
st.header("Season")
records = list_records(ctx.config.runs_dir)
if not records:
    st.info(
        f"No batch in {ctx.config.runs_dir} yet: process games with "
        f"`multicam batch GAMES_FOLDER --runs-dir {ctx.config.runs_dir}`."
    )
    st.stop()

chosen = st.selectbox("Batch", [str(p) for p in records], key="season_batch", format_func=lambda p: Path(p).name)
try:
    record = read_record(chosen)
except MulticamError as exc:
    st.error(str(exc))
    st.stop()


def report_of(run_dir: str | None):
    if run_dir is None:
        return None
    try:
        return data.load_report(Path(run_dir))
    except MulticamError:
        return None


reports = {g.key: report_of(g.run_dir) for g in record.games}
if any(g.untrained for g in record.games):
    st.warning("UNTRAINED runs (random weights) in this batch: their masks and scores only check the mechanics.")
counts = record.counts()
st.caption(
    f"{record.status} · {len(record.games)} games · "
    + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    + f" · started {record.started_at}"
)
rows = []
for g in record.games:
    rep = reports[g.key]
    rows.append(
        {
            "game": g.key,
            "status": g.status,
            "score": None if rep is None else rep.scores.overall,
            "flagged": None if rep is None else len(rep.review),
            "frames/s": g.frames_per_s,
            "time (s)": g.seconds,
            "untrained": bool(g.untrained),
            "node": g.node,
            "error": g.error,
        }
    )
st.dataframe(rows, hide_index=True, width="stretch")
if not any(reports.values()):
    st.info(f"No game has a report yet: `multicam report --season {record.path}` builds them.")

st.subheader("Open a game")
widths = [3, 2, 1, 2, 2]
for g in record.games:
    cols = st.columns(widths)
    cols[0].write(g.key)
    cols[1].write(g.status)
    rep = reports[g.key]
    cols[2].write("-" if rep is None or rep.scores.overall is None else f"{rep.scores.overall:.3f}")
    usable = g.run_dir is not None and (Path(g.run_dir) / "manifest.json").is_file()
    for col, title, page in ((cols[3], "Review", "pages/review.py"), (cols[4], "Consistency", "pages/consistency.py")):
        if col.button(title, key=f"season_{title.lower()}_{g.key}", disabled=not usable):
            ui.open_batch_game(g.game, g.run_dir)
            st.switch_page(page)
