"""Sequence layouts and prompt resolution (pure: no torch, no clips)."""

from __future__ import annotations

import pytest

from multicam.errors import PromptError
from multicam.layout import build_layout, concat_layout, interleave_layout, resolve_prompts
from multicam.prompts import PromptsFile
from multicam.timeline import CameraTiming, Timeline, synchronized_order

A = CameraTiming("a", fps=25.0, frame_count=5, offset=0.0)
B = CameraTiming("b", fps=30.0, frame_count=7, offset=-0.1)
C = CameraTiming("c", fps=10.0, frame_count=3, offset=0.05)
SAME = CameraTiming("s", fps=25.0, frame_count=4, offset=0.0)
EMPTY = CameraTiming("e", fps=25.0, frame_count=0, offset=0.0)

TABLES = {
    "empty": (),
    "one camera": (A,),
    "two cameras, other fps and offset": (A, B),
    "three cameras": (A, B, C),
    "same clock (ties)": (A, SAME),
    "camera without frames": (A, EMPTY),
}


@pytest.mark.parametrize("kind", ["interleave", "concat"])
@pytest.mark.parametrize("cameras", list(TABLES.values()), ids=list(TABLES))
def test_index_maps_round_trip(kind, cameras):
    build = interleave_layout if kind == "interleave" else concat_layout
    layout = build(cameras, cameras[0].name if cameras else None)
    assert len(layout) == sum(c.frame_count for c in cameras)
    seen = set()
    for i, f in enumerate(layout):
        assert f.index == i
        assert layout.index_of(f.camera, f.frame) == i
        assert f.time == pytest.approx(layout.cameras[layout.camera_rank(f.camera)].time_of(f.frame))
        seen.add((f.camera, f.frame))
    assert seen == {(c.name, i) for c in cameras for i in range(c.frame_count)}
    for cam in cameras:
        assert [layout[int(i)].frame for i in layout.indices_of(cam.name)] == list(range(cam.frame_count))


@pytest.mark.parametrize("cameras", list(TABLES.values()), ids=list(TABLES))
def test_interleave_is_the_synchronized_order_reference_first(cameras):
    ref = cameras[-1].name if cameras else None  # a reference that is not listed first
    layout = interleave_layout(cameras, ref)
    order = [ref] + [c.name for c in cameras if c.name != ref] if cameras else []
    expected = synchronized_order(cameras, order=order)
    assert [(f.camera, f.frame) for f in layout] == [(cam, frame) for cam, frame, _ in expected]
    assert [f.time for f in layout] == pytest.approx([t for _, _, t in expected])


def test_interleave_groups_frames_by_time_reference_first():
    layout = interleave_layout((A, SAME), "a")
    assert [(f.camera, f.frame) for f in layout][:4] == [("a", 0), ("s", 0), ("a", 1), ("s", 1)]
    times = [f.time for f in layout]
    assert times == sorted(times)


@pytest.mark.parametrize("ref, expected_first", [("a", "a"), ("b", "b"), ("c", "c")])
def test_concat_puts_the_reference_first_then_game_order(ref, expected_first):
    layout = concat_layout((A, B, C), ref)
    cams = [f.camera for f in layout]
    order = [expected_first] + [n for n in "abc" if n != expected_first]
    assert cams == [n for n in order for _ in range({"a": 5, "b": 7, "c": 3}[n])]


def test_build_layout_uses_the_timeline_reference():
    timeline = Timeline(cameras=(B, A), reference="a")
    for kind in ("interleave", "concat"):
        layout = build_layout(timeline, kind)
        assert layout.kind == kind and layout.camera_names == ("a", "b")
    assert build_layout(timeline, "interleave").camera_memory
    assert not build_layout(timeline, "concat").camera_memory
    with pytest.raises(ValueError, match="unknown layout"):
        build_layout(timeline, "zigzag")


@pytest.mark.parametrize("bad", [-1, 12])
def test_out_of_range_lookups_are_errors(bad):
    layout = interleave_layout((A, B), "a")
    with pytest.raises(IndexError):
        layout.index_of("b", bad)
    with pytest.raises(IndexError):
        layout[bad if bad < 0 else len(layout)]
    with pytest.raises(KeyError, match="unknown camera"):
        layout.index_of("zz", 0)


def test_position_on_maps_game_time_onto_a_cameras_frame_axis():
    layout = interleave_layout((A, B), "a")
    rank_b = layout.camera_rank("b")
    for f in layout:
        pos = layout.position_on(f.index, rank_b)
        if f.camera == "b":
            assert pos == f.frame
        else:  # a's frame i is at time i/25; b's frame k at -0.1 + k/30
            assert pos == pytest.approx((f.time + 0.1) * 30)


# -- prompts -----------------------------------------------------------------------------------
def _prompts(*objects) -> PromptsFile:
    return PromptsFile.model_validate({"objects": list(objects)})


RES = {"a": (64, 48), "b": (80, 60)}


def test_resolve_prompts_by_frame_and_time_on_any_camera():
    layout = interleave_layout((A, B), "a")
    prompts = _prompts(
        {"id": 2, "name": "p2", "prompts": [{"frame": 1, "positive": [[5, 6]]}]},
        {
            "id": 1,
            "name": "ball",
            "prompts": [{"time": 0.08, "positive": [[1, 2]]}, {"frame": 3, "camera": "b", "box_xyxy": [1, 2, 10, 12]}],
        },
    )
    out = resolve_prompts(prompts, layout, "a", RES)
    by_obj = {(p.object_id, p.camera): p for p in out}
    assert by_obj[(2, "a")].frame == 1 and by_obj[(2, "a")].index == layout.index_of("a", 1)
    assert by_obj[(1, "a")].frame == 2  # 0.08 s * 25 fps = frame 2
    assert by_obj[(1, "b")].index == layout.index_of("b", 3)
    assert by_obj[(1, "b")].resolution_wh == (80, 60)
    assert [p.index for p in out] == sorted(p.index for p in out)


def test_prompts_of_one_object_on_one_frame_are_joined():
    layout = concat_layout((A,), "a")
    prompts = _prompts(
        {
            "id": 1,
            "name": "x",
            "prompts": [
                {"frame": 0, "positive": [[1, 1]]},
                {"frame": 0, "positive": [[2, 2]], "negative": [[3, 3]], "box_xyxy": [0, 0, 5, 5]},
            ],
        }
    )
    (joined,) = resolve_prompts(prompts, layout, "a", RES)
    assert joined.positive == ((1, 1), (2, 2)) and joined.negative == ((3, 3),)
    assert joined.box_xyxy == (0, 0, 5, 5)


@pytest.mark.parametrize(
    "prompt, message",
    [
        ({"time": 5.0, "positive": [[1, 1]]}, "outside camera 'a'"),
        ({"frame": 0, "camera": "zz", "positive": [[1, 1]]}, "unknown camera"),
        ({"frame": 9, "positive": [[1, 1]]}, "does not exist"),
    ],
)
def test_bad_prompts_are_clear_errors(prompt, message):
    layout = interleave_layout((A, B), "a")
    with pytest.raises(PromptError, match=message):
        resolve_prompts(_prompts({"id": 1, "name": "x", "prompts": [prompt]}), layout, "a", RES)


def test_two_boxes_for_one_object_and_frame_is_an_error():
    layout = concat_layout((A,), "a")
    prompts = _prompts(
        {
            "id": 1,
            "name": "x",
            "prompts": [{"frame": 0, "box_xyxy": [0, 0, 5, 5]}, {"frame": 0, "box_xyxy": [1, 1, 6, 6]}],
        }
    )
    with pytest.raises(PromptError, match="one box per object"):
        resolve_prompts(prompts, layout, "a", RES)


def test_no_objects_resolve_to_no_prompts():
    assert resolve_prompts(PromptsFile(), interleave_layout((A,), "a"), "a", RES) == []
