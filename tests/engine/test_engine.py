"""The SAM 2 engine on the real SAM 2.1 tiny architecture (random weights, 256 px, CPU)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from multicam.engine import CameraMemory, Engine, EngineOptions, masks_at_resolution, resolve_device, resolve_dtype
from multicam.engine.frames import to_model_input
from multicam.errors import ModelError, PromptError
from multicam.layout import build_layout, concat_layout, resolve_prompts
from multicam.models import get_model
from multicam.session import open_game

from .conftest import CAMERAS, IMAGE_SIZE, run, write_game

REPO = Path(__file__).resolve().parents[2]


# -- building ------------------------------------------------------------------------------------
@pytest.mark.sam2
def test_engine_builds_the_registry_architecture_with_random_weights(engine):
    info = engine.info
    assert info.untrained and info.checkpoint is None
    assert info.params == get_model("sam2.1_hiera_tiny").params
    assert (info.device, info.dtype, info.image_size) == ("cpu", "float32", IMAGE_SIZE)
    assert engine.predictor.image_size == IMAGE_SIZE and not engine.predictor.training
    try:
        from sam2 import _C  # noqa: F401

        has_ext = True
    except ImportError:
        has_ext = False
    assert info.fill_hole_area == (8 if has_ext else 0)


@pytest.mark.sam2
def test_importing_the_engine_leaves_hydra_uninitialised(engine):
    from hydra.core.global_hydra import GlobalHydra

    assert not GlobalHydra.instance().is_initialized()


@pytest.mark.sam2
def test_building_works_when_the_host_app_initialised_hydra_first(tmp_path):
    (tmp_path / "host.yaml").write_text("greeting: hello\n")
    script = textwrap.dedent(f"""
        from hydra import compose, initialize_config_dir
        from hydra.core.global_hydra import GlobalHydra
        with initialize_config_dir(config_dir={str(tmp_path)!r}, version_base=None):
            from multicam.engine import Engine, EngineOptions
            engine = Engine.build("configs/sam2.1/sam2.1_hiera_t.yaml", untrained=True,
                                  options=EngineOptions(device="cpu", image_size=64))
            assert compose(config_name="host").greeting == "hello"   # the host's Hydra still works
            print("built", engine.info.params)
        assert not GlobalHydra.instance().is_initialized()
        with initialize_config_dir(config_dir={str(tmp_path)!r}, version_base=None):  # and again later
            assert compose(config_name="host").greeting == "hello"
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"built {get_model('sam2.1_hiera_tiny').params}" in done.stdout


@pytest.mark.sam2
def test_checkpoints_load_strictly(engine, tmp_path):
    good = tmp_path / "good.pt"
    torch.save({"model": engine.predictor.state_dict()}, good)
    loaded = Engine.build(engine.info.config, good, options=dataclasses.replace(engine.options, seed=1))
    assert not loaded.info.untrained and loaded.info.checkpoint == str(good)
    for (name, a), (_, b) in zip(engine.predictor.state_dict().items(), loaded.predictor.state_dict().items()):
        assert torch.equal(a, b), name
    wrong = tmp_path / "wrong.pt"
    torch.save({"model": {"not_a_sam2_weight": torch.zeros(1)}}, wrong)
    with pytest.raises(ModelError, match="does not fit the architecture"):
        Engine.build(engine.info.config, wrong, options=engine.options)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot read checkpoint"):
        Engine.build(engine.info.config, garbage, options=engine.options)
    with pytest.raises(ModelError, match="no checkpoint"):
        Engine.build(engine.info.config, None, options=engine.options)


@pytest.mark.parametrize(
    "request_, ok", [("auto", True), ("cpu", True), ("cuda", None), ("cuda:7", None), ("tpu", False)]
)
def test_device_resolution(request_, ok):
    if ok is None:
        ok = torch.cuda.is_available() and (request_ == "cuda" or torch.cuda.device_count() > 7)
    if ok:
        assert resolve_device(request_).type in {"cpu", "cuda", "mps"}
    else:
        with pytest.raises(ModelError, match="device"):
            resolve_device(request_)


@pytest.mark.parametrize(
    "name, device, expected",
    [
        ("auto", "cpu", torch.float32),
        ("auto", "cuda", torch.bfloat16),
        ("bfloat16", "cpu", torch.bfloat16),
        ("float32", "cuda", torch.float32),
        ("float16", "cpu", None),
        ("int8", "cpu", None),
    ],
)
def test_dtype_resolution(name, device, expected):
    if expected is None:
        with pytest.raises(ModelError):
            resolve_dtype(name, torch.device(device))
    else:
        assert resolve_dtype(name, torch.device(device)) == expected


# -- frames --------------------------------------------------------------------------------------
@pytest.mark.sam2
def test_model_input_is_what_sam2s_own_loader_makes(tmp_path):
    from PIL import Image
    from sam2.utils.misc import _load_img_as_tensor

    rgb = np.random.default_rng(0).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "f.png")
    ref, h, w = _load_img_as_tensor(str(tmp_path / "f.png"), 64)
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    ref = (ref.float() - mean) / std
    ours = to_model_input(rgb, 64)
    assert ours.shape == (3, 64, 64) and ours.dtype == torch.float32 and (h, w) == (70, 90)
    assert torch.allclose(ours, ref, atol=1e-5)


# -- tracking ------------------------------------------------------------------------------------
@pytest.mark.sam2
def test_every_frame_of_every_camera_once_at_its_own_resolution(interleaved):
    frames, lay, _, _, _, _ = interleaved
    got = [(fm.camera, fm.frame) for fm in frames]
    assert sorted(got) == sorted((n, i) for n, _, _, _, count, _ in CAMERAS for i in range(count))
    assert len(set(got)) == len(got)
    size = {n: (w, h) for n, w, h, _, _, _ in CAMERAS}
    for fm in frames:
        assert fm.resolution_wh == size[fm.camera]
        assert fm.time == pytest.approx(lay[lay.index_of(fm.camera, fm.frame)].time)
        for obj in fm.objects:
            assert obj.decode().shape == (size[fm.camera][1], size[fm.camera][0])
            assert obj.area == int(obj.decode().sum()) > 0


@pytest.mark.sam2
def test_object_ids_survive_across_cameras(interleaved):
    frames = interleaved[0]
    for fm in frames:
        assert set(fm.object_ids) <= {1, 2} and list(fm.object_ids) == sorted(fm.object_ids)
    for name, *_ in CAMERAS:  # both prompted objects come out in every camera
        assert {oid for fm in frames if fm.camera == name for oid in fm.object_ids} == {1, 2}


@pytest.mark.sam2
def test_no_warnings_from_sam2(interleaved):
    caught = interleaved[5]
    noisy = [str(w.message)[:120] for w in caught if "sam2" in str(w.filename) or "post-processing" in str(w.message)]
    assert noisy == []


@pytest.mark.sam2
def test_interleave_memory_comes_from_the_same_camera(interleaved):
    frames, lay, state, _, calls, _ = interleaved
    assert calls, "SAM 2 never asked for memory"
    prompted = set(state.prompted_indices)
    other_camera_neighbours = 0
    for call in calls:
        i = call["index"]
        me = lay[i]
        assert call["local"] == me.frame
        assert call["num_frames"] == dict((n, c) for n, _, _, _, c, _ in CAMERAS)[me.camera]
        for key, t in call["non_cond"].items():  # every memory SAM 2 can pick is this camera's frame
            assert lay[t].camera == me.camera and key == lay[t].frame
        assert set(call["cond"].values()) == prompted  # the prompted frames stay visible to every camera
        previous_own = me.frame - 1
        if previous_own >= 0:
            t_prev = lay.index_of(me.camera, previous_own)
            if t_prev in call["all_tracked"]:
                assert call["non_cond"].get(previous_own) == t_prev  # the camera's previous frame is there
        if i - 1 in call["all_tracked"] and lay[i - 1].camera != me.camera:
            other_camera_neighbours += 1  # stock SAM 2 would have used another camera's frame here
    assert other_camera_neighbours > 0


@pytest.mark.sam2
def test_lazy_source_is_bounded_and_decodes_each_frame_once(interleaved):
    frames, lay, state, _, _, _ = interleaved
    source = state.frames
    assert 0 < source.max_held_frames <= source.held_frames_bound < len(lay)
    assert sum(clip.decoded_frames for clip in source.clips.values()) == len(lay)
    assert len(lay) <= source.conversions <= len(lay) + len(state.prompted_indices)
    assert source.held_frames == 0  # closed at the end


@pytest.mark.sam2
def test_backward_tracking_fills_the_frames_before_the_prompt(interleaved):
    frames, lay, state, _, _, _ = interleaved
    (start,) = state.prompted_indices
    assert start == lay.index_of("side", 0) == 2  # camera "end" starts 0.1 s before the reference
    order = [lay.index_of(fm.camera, fm.frame) for fm in frames]
    assert order == [1, 0] + list(range(start, len(lay)))
    assert {oid for fm in frames[:2] for oid in fm.object_ids} == {1, 2}


@pytest.mark.sam2
def test_concat_layout_with_prompts_mid_clip(engine, disc_game_late):
    frames, lay, state, _ = run(engine, disc_game_late, cameras=("side", "high"))
    (start,) = state.prompted_indices
    assert lay.kind == "concat" and start == lay.index_of("side", 3) == 3
    assert [(fm.camera, fm.frame) for fm in frames] == [("side", 2), ("side", 1), ("side", 0)] + [
        (f.camera, f.frame) for f in lay
    ][3:]
    assert {oid for fm in frames[:3] for oid in fm.object_ids} == {1, 2}
    assert {oid for fm in frames if fm.camera == "high" for oid in fm.object_ids} == {1, 2}
    assert all(fm.resolution_wh == ((96, 64) if fm.camera == "high" else (160, 120)) for fm in frames)


@pytest.mark.sam2
@pytest.mark.slow
def test_bfloat16_autocast_runs_on_the_cpu(disc_game):
    """The GPU's default path (bfloat16 autocast), on the CPU at 64 px and two frames: CPUs without
    native bfloat16 run its convolutions ~20x slower than float32."""
    small = Engine.build(
        get_model("sam2.1_hiera_tiny").config,
        untrained=True,
        options=EngineOptions(device="cpu", image_size=64, dtype="bfloat16"),
    )
    assert small.info.dtype == "bfloat16"
    opened = open_game(disc_game)
    lay = concat_layout([dataclasses.replace(opened.timeline.camera("side"), frame_count=2)], "side")
    prompts = resolve_prompts(opened.prompts, lay, "side", {"side": (160, 120)})
    frames = list(small.track(lay, {"side": opened.clip("side")}, prompts))
    assert [(fm.camera, fm.frame) for fm in frames] == [("side", 0), ("side", 1)]
    assert all(fm.resolution_wh == (160, 120) for fm in frames)
    assert {oid for fm in frames for oid in fm.object_ids} == {1, 2}


@pytest.mark.sam2
def test_releasing_old_outputs_keeps_masks_identical_and_memory_bounded(engine, tmp_path):
    long = (("a", 96, 64, 10, 17, 0.0), ("b", 64, 48, 10, 4, 0.05))
    game = write_game(tmp_path, cameras=long)
    (game.parent / "prompts.yaml").write_text(
        "objects:\n  - {id: 1, name: red, prompts: [{frame: 0, positive: [[24, 26]]}]}\n"
    )
    kept = Engine(
        engine.predictor, engine.info, dataclasses.replace(engine.options, release_memory=False), engine.dtype
    )
    frames_all, _, state_all, _ = run(kept, game)
    frames_rel, lay, state_rel, _ = run(engine, game)
    assert [(f.camera, f.frame, f.objects) for f in frames_rel] == [(f.camera, f.frame, f.objects) for f in frames_all]
    predictor = engine.predictor
    held = state_rel.tracked_outputs(1)
    full = {t for t, out in held.items() if out["maskmem_features"] is not None}
    mine = [t for t in held if lay[t].camera == "a"]
    assert len(mine) == predictor.pointer_memory_reach < 16  # frames 1..16 were tracked
    assert len([t for t in full if lay[t].camera == "a"]) == predictor.mask_memory_reach
    assert len([t for t in held if lay[t].camera == "b"]) == 4  # camera b is within the window
    assert len(state_all.tracked_outputs(1)) == len(lay) - 1
    assert state_rel.held_bytes() < state_all.held_bytes()


@pytest.mark.sam2
def test_tracking_without_prompts_is_a_prompt_error(engine, disc_game):
    opened = open_game(disc_game)
    lay = build_layout(opened.timeline, "interleave")
    with pytest.raises(PromptError, match="nothing to track"):
        next(engine.track(lay, {n: opened.clip(n) for n in lay.camera_names}, []))


# -- pure helpers ----------------------------------------------------------------------------------
def test_masks_at_resolution_resizes_per_camera_and_drops_absent_objects():
    logits = torch.full((3, 1, 8, 8), -5.0)
    logits[0, 0, 2:4, 2:6] = 5.0
    logits[2, 0, 4:8, 0:2] = 3.0
    fm = masks_at_resolution("cam", 4, 0.5, (40, 24), logits, torch.tensor([1.0, -2.0, 0.5]), [7, 3, 5])
    assert fm.resolution_wh == (40, 24) and fm.object_ids == (5, 7)
    red = fm.get(7)
    assert red.decode().shape == (24, 40) and red.score == pytest.approx(1.0)
    x0, y0, x1, y1 = red.box_xyxy
    assert 8 <= x0 < x1 <= 32 and 4 <= y0 < y1 <= 14  # logits cols 2:6, rows 2:4 scaled by 5 and 3


def test_camera_memory_view_keeps_only_the_cameras_own_frames():
    from multicam.layout import interleave_layout
    from multicam.timeline import CameraTiming

    lay = interleave_layout((CameraTiming("a", 10.0, 4, 0.0), CameraTiming("b", 20.0, 8, 0.0)), "a")
    memory = CameraMemory(lay)
    a0, a2 = lay.index_of("a", 0), lay.index_of("a", 2)
    bs = [lay.index_of("b", k) for k in range(5)]
    outputs = {
        "cond_frame_outputs": {a0: "A0"},
        "non_cond_frame_outputs": {**{t: f"B{k}" for k, t in enumerate(bs) if k}, lay.index_of("a", 1): "A1"},
    }
    local, view, n = memory.view(lay.index_of("b", 5), outputs)
    assert (local, n) == (5, 8)
    assert view["non_cond_frame_outputs"] == {1: "B1", 2: "B2", 3: "B3", 4: "B4"}
    assert view["cond_frame_outputs"] == {0.0: "A0"}
    local, view, n = memory.view(a2, outputs)
    assert (local, n) == (2, 4) and view["non_cond_frame_outputs"] == {1: "A1"}
    outputs["cond_frame_outputs"][bs[0]] = "B0"  # two prompted frames at the same moment
    _, view, _ = memory.view(a2, outputs)
    assert sorted(view["cond_frame_outputs"].values()) == ["A0", "B0"]
