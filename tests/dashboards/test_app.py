"""The Streamlit app, page by page, through Streamlit's AppTest (no browser)."""

from __future__ import annotations

import json
import re
import shutil
import sys

import pytest
from dash_helpers import CAMERAS, REPO
from streamlit.testing.v1 import AppTest

from multicam.dashboards import data
from multicam.prompts import load_prompts
from multicam.report import ReportOptions, build_report
from multicam.rundir import open_run

APP = REPO / "dashboards" / "app.py"
PAGES = ("pages/review.py", "pages/consistency.py", "pages/prompts.py")
CAPTION = re.compile(r"(?P<camera>\w+)(?: \(ref\))? · frame (?P<frame>\d+) · t=(?P<time>-?[\d.]+) s")


@pytest.fixture
def app(dash_game, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, dash_game.env())
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def captions(at: AppTest) -> list[str]:
    return [im.proto.imgs[0].caption for im in at.image]


def parsed(at: AppTest) -> dict[str, tuple[int, float]]:
    out = {}
    for text in captions(at):
        m = CAPTION.search(text)
        if m:
            out[m["camera"]] = (int(m["frame"]), float(m["time"]))
    return out


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [e.value for e in at.sidebar.error]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_exception(app, page):
    app.switch_page(page)
    app.run()
    assert not app.exception, app.exception
    assert not errors(app)


def test_review_grid_has_one_image_per_camera(app, dash_game):
    assert app.session_state["run_select"] == str(dash_game.run_path)
    assert len(app.image) == len(CAMERAS)
    assert set(parsed(app)) == {c[0] for c in CAMERAS} - {None}
    assert any("UNTRAINED" in w.value for w in app.warning)


@pytest.mark.parametrize("time", [0.0, 0.2, 0.3])
def test_the_slider_moves_every_camera_to_the_same_time(app, dash_game, time):
    app.slider(key="review_time").set_value(time).run()
    assert not app.exception
    shown = app.session_state["review_t"]
    assert shown == pytest.approx(time, abs=1 / 60)
    frames = parsed(app)
    timeline = open_run(dash_game.run_path).timeline()
    for name, _, _, fps, _, _ in CAMERAS:
        expected = timeline.camera(name).frame_at(shown)
        if expected is None:
            assert name not in frames
            continue
        frame, frame_time = frames[name]
        assert frame == expected
        assert abs(frame_time - shown) <= 0.5 / fps + 1e-3  # every camera at the same moment
    rows = app.dataframe[0].value
    assert set(rows["camera"]) == set(frames)
    assert all(rows[rows["camera"] == c]["frame"].iloc[0] == f for c, (f, _) in frames.items())


def test_frame_buttons_step_one_tick(app):
    start = app.session_state["review_t"]
    app.button(key="review_next").click().run()
    app.button(key="review_next").click().run()
    app.button(key="review_prev").click().run()
    assert app.session_state["review_t"] == pytest.approx(start + 1 / 30, abs=1e-6)


def test_overlay_controls_change_the_images_and_table(app):
    before = [im.proto.imgs[0].url for im in app.image]
    app.radio(key="review_mode").set_value("outline").run()
    after = [im.proto.imgs[0].url for im in app.image]
    assert after != before
    assert set(app.dataframe[0].value["id"]) == {1, 2}
    app.button_group(key="review_objects").set_value([2]).run()
    assert set(app.dataframe[0].value["id"]) == {2}
    app.checkbox(key="review_gt").check().run()
    assert not app.exception


def test_ground_truth_is_reviewable_before_any_run(dash_game, monkeypatch):
    shutil.rmtree(dash_game.runs_dir)
    monkeypatch.setenv(data.ENV_VAR, dash_game.env())
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    assert at.session_state["run_select"] == str(dash_game.gt_path)
    assert len(at.image) == len(CAMERAS) and not any("UNTRAINED" in w.value for w in at.warning)
    assert at.checkbox(key="review_gt").disabled  # it is the ground truth itself


def test_consistency_without_report_says_how_to_make_one(app):
    app.switch_page("pages/consistency.py").run()
    assert any("no report yet: run `multicam report" in i.value for i in app.info)


def test_clicking_a_flagged_moment_opens_it_on_the_review_page(app, dash_game):
    built = build_report(open_run(dash_game.run_path), ReportOptions(appearance_samples=0)).data
    moment = {"end_frame": 0, "other_object_id": None}
    review = [
        {**moment, "camera": "end", "time": 0.2, "frame": 9, "object_id": 2, "kind": "lost", "reason": "band lost"},
        {**moment, "camera": "corner", "time": 0.36, "frame": 4, "object_id": 1, "kind": "jump", "reason": "jumps"},
    ]
    review = [{**m, "end_frame": m["frame"], "severity": s} for m, s in zip(review, (0.8, 0.5))]
    report = {**built, "review": review, "scores": {**built["scores"], "overall": 0.75}}
    (dash_game.run_path / "report").mkdir()
    (dash_game.run_path / "report" / "report.json").write_text(json.dumps(report))
    app.switch_page("pages/consistency.py").run()
    assert not app.exception and not app.info
    assert app.metric[0].value == "0.750"
    app.button(key="moment_1").click().run()
    assert not app.exception
    assert app.session_state["review_t"] == pytest.approx(0.36, abs=1 / 60)
    focused = [c for c in captions(app) if c.startswith("▶ flagged")]
    assert len(focused) == 1 and "corner · frame 4" in focused[0]


def test_prompts_saved_from_state_appear_in_the_file(app, dash_game):
    app.switch_page("pages/prompts.py").run()
    assert app.session_state["draft"][0]["name"] == "square"
    app.session_state["draft"] = [
        {
            "id": 1,
            "name": "square",
            "team": "red",
            "prompts": [
                {
                    "frame": 3,
                    "time": None,
                    "camera": None,
                    "positive": [[12.0, 13.0]],
                    "negative": [],
                    "box_xyxy": [6.0, 10.0, 14.0, 18.0],
                }
            ],
        },
        {
            "id": 2,
            "name": "band",
            "team": None,
            "prompts": [
                {
                    "frame": 0,
                    "time": None,
                    "camera": "end",
                    "positive": [[40.0, 31.0]],
                    "negative": [],
                    "box_xyxy": None,
                }
            ],
        },
    ]
    app.run()
    app.button(key="save_prompts").click().run()
    assert not errors(app), errors(app)
    saved = load_prompts(dash_game.root / "prompts.yaml")
    assert [(o.id, o.name) for o in saved.objects] == [(1, "square"), (2, "band")]
    assert saved.objects[0].prompts[0].positive == ((12.0, 13.0),)
    assert saved.objects[0].prompts[0].box_xyxy == (6.0, 10.0, 14.0, 18.0)
    assert saved.objects[1].prompts[0].camera == "end"


def test_prompts_page_adds_objects_and_points(app, dash_game):
    app.switch_page("pages/prompts.py").run()
    form_inputs = [t for t in app.text_input if t.label == "name"]
    form_inputs[0].input("ball")
    app.button[[b.label for b in app.button].index("Add object")].click().run()
    assert [o["name"] for o in app.session_state["draft"]] == ["square", "ball"]
    assert app.session_state["prompt_object"] == 2
    app.slider(key="prompt_frame").set_value(5).run()
    app.number_input(key="typed_x").set_value(30.0)
    app.number_input(key="typed_y").set_value(20.0)
    app.button(key="typed_add").click().run()
    ball = app.session_state["draft"][1]
    assert ball["prompts"] == [
        {"frame": 5, "time": None, "camera": None, "positive": [[30.0, 20.0]], "negative": [], "box_xyxy": None}
    ]
    assert (
        "2 ball: +30,20"
        in app.markdown[[m.value.startswith("**On this frame") for m in app.markdown].index(True)].value
    )


def test_invalid_prompts_are_not_saved(app, dash_game):
    app.switch_page("pages/prompts.py").run()
    before = (dash_game.root / "prompts.yaml").read_text()
    app.session_state["draft"] = [
        {
            "id": 1,
            "name": "square",
            "team": None,
            "prompts": [
                {"frame": 0, "time": None, "camera": None, "positive": [[500.0, 5.0]], "negative": [], "box_xyxy": None}
            ],
        }
    ]
    app.run()
    app.button(key="save_prompts").click().run()
    assert any("outside camera 'side'" in e for e in errors(app))
    assert (dash_game.root / "prompts.yaml").read_text() == before


@pytest.mark.parametrize("typed", ["/etc/hosts", "{outside}/game.yaml", "{runs}/../../elsewhere"])
def test_a_typed_path_outside_the_allowed_folders_is_refused(app, dash_game, tmp_path, typed):
    outside = tmp_path / "other_game"
    shutil.copytree(dash_game.root, outside)
    app.sidebar.text_input(key="typed_path").input(typed.format(outside=outside, runs=dash_game.runs_dir)).run()
    assert not app.exception
    assert any("outside the folders this dashboard may use" in e for e in errors(app)), errors(app)
    assert app.session_state["game_select"] == str(dash_game.game_path)


def test_a_typed_run_inside_the_roots_is_opened(app, dash_game):
    app.session_state["run_select"] = str(dash_game.gt_path)
    app.run()
    app.sidebar.text_input(key="typed_path").input(str(dash_game.run_path)).run()
    assert not errors(app)
    assert app.session_state["run_select"] == str(dash_game.run_path)


def test_a_game_whose_clip_lies_outside_is_refused(dash_game, tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.move(dash_game.root / "clips" / "corner.mp4", outside / "corner.mp4")
    text = dash_game.game_path.read_text().replace("clips/corner.mp4", str(outside / "corner.mp4"))
    dash_game.game_path.write_text(text)
    monkeypatch.setenv(data.ENV_VAR, dash_game.env())
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    assert any("cameras.corner.video" in e and "outside" in e for e in errors(at))
    assert len(at.image) == 0


def test_processing_started_from_the_prompts_page_opens_the_new_run(app, dash_game, monkeypatch):
    from multicam.dashboards import processing

    script = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/..']; from dash_helpers import write_masks; "
        "from multicam.rundir import next_run_dir; "
        "write_masks(next_run_dir(sys.argv[2], 'tiny'), {'game_path': sys.argv[3]}, 'run')"
    )
    commands, sources = [], []

    def fake_command(game_path, runs_dir, *, untrained=False, image_size=None, from_run=None):
        commands.append((game_path, runs_dir, untrained, image_size))
        sources.append(from_run)
        return [sys.executable, "-c", script, str(REPO / "tests" / "dashboards"), str(runs_dir), str(game_path)]

    monkeypatch.setattr(processing, "process_command", fake_command)
    manifest_path = dash_game.run_path / "manifest.json"  # run1: a complete run of this game file
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "game": {"name": "tiny", "path": str(dash_game.game_path)}}))
    app.switch_page("pages/prompts.py").run()
    app.checkbox(key="process_untrained").check()
    app.number_input(key="process_image_size").set_value(256)
    app.button(key="process_start").click().run()
    assert not app.exception and not errors(app), errors(app)
    assert commands == [(dash_game.game_path, dash_game.runs_dir, True, 256)]
    assert sources == [dash_game.run_path]  # only the objects whose prompts changed are tracked again
    job = app.session_state["process_job"]
    assert job.popen.wait(timeout=60) == 0
    app.run()  # the progress fragment sees the completed run and opens it on the Review page
    assert not app.exception
    new_run = dash_game.runs_dir / "tiny" / "run2"
    assert app.session_state["run_select"] == str(new_run)
    assert len(app.image) == len(CAMERAS)


def test_the_prompt_table_edits_and_deletes_prompts(app):
    app.switch_page("pages/prompts.py").run()
    app.session_state["draft"] = [
        {
            "id": 1,
            "name": "square",
            "team": "red",
            "prompts": [
                {"frame": 0, "time": None, "camera": None, "positive": [[4.0, 14.0]], "negative": [], "box_xyxy": None},
                {"frame": 2, "time": None, "camera": None, "positive": [[8.0, 14.0]], "negative": [], "box_xyxy": None},
            ],
        }
    ]
    app.run()
    key = f"prompt_table_{app.session_state['draft_version']}"
    assert list(app.data_editor[0].value["positive"]) == ["4,14", "8,14"]
    app.session_state[key] = {
        "edited_rows": {0: {"negative": "30,40", "name": "big square"}},
        "added_rows": [],
        "deleted_rows": [1],
    }
    app.run()
    assert not app.exception and not errors(app), errors(app)
    assert app.session_state["draft"] == [
        {
            "id": 1,
            "name": "big square",
            "team": "red",
            "prompts": [
                {
                    "frame": 0,
                    "time": None,
                    "camera": None,
                    "positive": [[4.0, 14.0]],
                    "negative": [[30.0, 40.0]],
                    "box_xyxy": None,
                }
            ],
        }
    ]
