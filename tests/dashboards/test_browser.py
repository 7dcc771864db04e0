"""The dashboard in a real headless Chromium, started with `multicam dashboard` like a user would.

Screenshots go to tmp_path. With MULTICAM_UPDATE_SCREENSHOTS=1 they go to docs/images/dashboard_<page>.png
and show a copy of the sample game (sample_data/demo_game) with a consistency report of its ground truth.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dash_helpers import REPO

CHROMIUM = Path("/usr/bin/chromium")
SAMPLE = REPO / "sample_data" / "demo_game"
UPDATE = os.environ.get("MULTICAM_UPDATE_SCREENSHOTS") == "1"
POINT = re.compile(r"\+(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install -y chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def game(tmp_path, dash_game):
    """(game file, runs dir): the tiny game, or for the documentation's screenshots the sample game."""
    if not UPDATE or not (SAMPLE / "game.yaml").is_file():
        return dash_game.game_path, dash_game.runs_dir
    root = tmp_path / "demo_game"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("report"))
    from multicam.report import ReportOptions, build_report, write_report
    from multicam.rundir import open_run

    gt = open_run(root / "ground_truth")
    write_report(build_report(gt, ReportOptions(appearance_samples=0)), gt.path / "report")
    return root / "game.yaml", tmp_path / "runs"


@contextlib.contextmanager
def serve(game_path: Path, runs_dir: Path, log_path: Path, *extra: str, env: dict | None = None):
    """Start `multicam dashboard` like a user would; yield its URL (on 127.0.0.1)."""
    port = free_port()
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "multicam", "dashboard", str(runs_dir), "--game", str(game_path), "--port", str(port)]
        + list(extra),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(
                        f"`multicam dashboard` exited with code {proc.returncode}: "
                        f"{log_path.read_text(errors='replace')}"
                    )
                time.sleep(0.3)
        else:
            pytest.fail("the dashboard did not start within 60 s")
        yield url
    finally:
        stop_group(proc.pid)
        proc.wait(timeout=5)
        log.close()


@pytest.fixture
def server(game, tmp_path):
    game_path, runs_dir = game
    with serve(game_path, runs_dir, tmp_path / "dashboard.log") as url:
        yield url


def stop_group(pgid: int, timeout: float = 10.0) -> None:
    """SIGTERM a process group, then SIGKILL whatever is left of it after ``timeout`` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


@pytest.fixture
def page():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1300})
        finally:
            browser.close()


def settle(page) -> None:
    """Wait until the app has finished running: no 'Running...' status widget, no loading skeletons."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "!document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')",
        timeout=60_000,
    )
    page.wait_for_timeout(500)


def shot(page, name: str, tmp_path: Path) -> Path:
    folder = REPO / "docs" / "images" if UPDATE else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"dashboard_{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000
    return path


def test_dashboard_pages_in_a_real_browser(server, page, game, tmp_path):
    from multicam.game import load_game

    cameras = load_game(game[0]).config.camera_names

    # Review: one image per camera, all captioned with the same moment
    page.goto(server)
    page.wait_for_selector("[data-testid='stImage']", timeout=60_000)
    page.wait_for_selector("[data-testid='stDataFrame'] canvas", timeout=30_000)
    settle(page)
    captions = page.locator("[data-testid='stImageCaption'], [data-testid='caption']").all_inner_texts()
    assert [c.split(" ")[0] for c in captions] == list(cameras)
    times = [float(re.search(r"t=(-?[\d.]+) s", c).group(1)) for c in captions]
    assert max(times) - min(times) < 0.05
    shot(page, "review", tmp_path)

    # Consistency: timelines and flagged moments of the report
    page.get_by_role("link", name="Consistency").click()
    page.wait_for_selector("text=Presence timelines", timeout=30_000)
    page.wait_for_selector(".js-plotly-plot", timeout=30_000)
    settle(page)
    shot(page, "consistency", tmp_path)

    # Prompts: a click on the reference frame adds a point that appears in the prompt list
    page.get_by_role("link", name="Prompts").click()
    image = page.frame_locator("iframe").first.locator("img#image")
    image.wait_for(timeout=30_000)
    settle(page)
    summary = page.locator(".st-key-frame_prompts")
    points_before = POINT.findall(summary.inner_text())
    before = len(points_before)
    box = image.bounding_box()
    image.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.75})
    page.wait_for_function(
        f"document.querySelector('.st-key-frame_prompts').innerText.split('+').length > {before + 1}", timeout=30_000
    )
    settle(page)
    points_after = POINT.findall(summary.inner_text())
    added = [p for p in points_after if p not in points_before]
    assert len(points_after) == before + 1 and len(added) == 1
    width, height = _size(game[0])
    x, y = (float(v) for v in added[0])
    assert abs(x - 0.25 * width) <= width / 50 and abs(y - 0.75 * height) <= height / 50
    shot(page, "prompts", tmp_path)


def _size(game_path: Path) -> tuple[int, int]:
    from multicam.clips import probe_clip
    from multicam.game import load_game

    game = load_game(game_path)
    return probe_clip(game.video_path(game.config.reference)).resolution_wh


def test_a_shared_dashboard_asks_the_password_and_keeps_paths_inside(dash_game, page, tmp_path):
    """--host 0.0.0.0 --read-only with a password (from the environment): gate, no Process, no way out."""
    outside = tmp_path / "outside"
    shutil.copytree(dash_game.root, outside)
    (dash_game.runs_dir / "link").symlink_to(outside, target_is_directory=True)
    env = {"MULTICAM_DASHBOARD_PASSWORD": "s3cret"}
    with serve(
        dash_game.game_path, dash_game.runs_dir, tmp_path / "shared.log", "--host", "0.0.0.0", "--read-only", env=env
    ) as url:
        page.goto(url)
        field = page.get_by_label("Password", exact=True)
        field.wait_for(timeout=60_000)
        settle(page)
        assert page.locator("[data-testid='stImage']").count() == 0
        assert page.locator("[data-testid='stSidebar']").count() == 0
        page.goto(url + "prompts")  # a page's own URL shows the password form too
        field.wait_for(timeout=60_000)
        settle(page)
        assert page.locator("iframe").count() == 0 and page.get_by_text("Process").count() == 0
        page.goto(url)
        field.wait_for(timeout=60_000)
        settle(page)
        field.fill("wrong")
        page.get_by_role("button", name="Open the dashboard").click()
        page.wait_for_selector("text=wrong password", timeout=30_000)
        assert page.locator("[data-testid='stImage']").count() == 0
        field.fill("s3cret")
        page.get_by_role("button", name="Open the dashboard").click()
        page.wait_for_selector("[data-testid='stImage']", timeout=60_000)
        settle(page)
        typed = page.get_by_placeholder("path/to/game.yaml or runs/<game>/run1")
        for attempt in ("../../etc/passwd", f"{dash_game.runs_dir}/../outside/game.yaml", f"{dash_game.runs_dir}/link"):
            typed.fill(attempt)
            typed.press("Enter")
            page.wait_for_selector("text=outside the folders this dashboard may use", timeout=30_000)
            settle(page)
        page.get_by_role("link", name="Prompts").click()
        page.wait_for_selector("text=Read-only dashboard", timeout=60_000)
        settle(page)
        assert page.get_by_role("button", name="Save prompts and process").count() == 0
        assert page.get_by_role("button", name="Save prompts").count() == 0
