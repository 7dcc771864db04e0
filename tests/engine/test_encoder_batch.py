"""The image encoder batched across cameras: the same features and masks as one frame at a time (64 px, CPU)."""

from __future__ import annotations

import pytest
import torch

from multicam.pipeline import process_game

from .conftest import CAMERAS
from .test_correction import opts
from .test_performance import masks_of

N = sum(c[4] for c in CAMERAS)


def same_masks(a: dict, b: dict) -> bool:
    """Equal masks frame by frame; scores within 1e-5."""
    assert a.keys() == b.keys()
    for key in a:
        fa, fb = a[key], b[key]
        assert fa.object_ids == fb.object_ids, key
        for x, y in zip(fa.objects, fb.objects, strict=True):
            assert (x.rle, x.box_xyxy, x.area) == (y.rle, y.box_xyxy, y.area), key
            assert abs(x.score - y.score) < 1e-5, key
    return True


@pytest.mark.sam2
@pytest.mark.parametrize("frames", [1, 3, 5])
def test_batched_features_are_those_of_one_frame_passes(frames):
    from multicam.engine import Engine, EngineOptions

    engine = Engine.build(
        "configs/sam2.1/sam2.1_hiera_t.yaml",
        untrained=True,
        options=EngineOptions(device="cpu", image_size=64, dtype="float32"),
    )
    # channels-last, as the engine's inputs (a single frame's input is then a slice of the batch's)
    images = torch.randn(frames, 64, 64, 3, generator=torch.Generator().manual_seed(frames)).permute(0, 3, 1, 2)
    with torch.inference_mode():
        batched = engine.predictor.forward_image_batch(images)
        assert len(batched) == frames
        for k, out in enumerate(batched):
            alone = engine.predictor.forward_image(images[k : k + 1])
            for key in ("backbone_fpn", "vision_pos_enc"):
                for a, b in zip(out[key], alone[key], strict=True):
                    assert torch.equal(a, b)  # bit-identical
                    assert key != "backbone_fpn" or a.stride()[1:] == b.stride()[1:]  # same layout


@pytest.mark.parametrize("shape", [(48, 64, 3), (7, 5, 3), (64, 64, 4), (64, 64)])
def test_frames_prepared_on_the_host_as_uint8_give_the_same_model_input(shape):
    """The accelerator path (uint8 on the host, normalised on the device) against the CPU path."""
    import numpy as np

    from multicam.engine.frames import resized_frame, to_model_input, upload

    rgb = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    if len(shape) != 3 or shape[2] != 3:
        with pytest.raises(ValueError, match="expected an RGB"):
            resized_frame(rgb, 32)
        return
    host = resized_frame(rgb, 32)
    assert host.dtype == torch.uint8 and host.shape == (3, 32, 32)
    a, b = upload(host, torch.device("cpu")), to_model_input(rgb, 32)
    assert torch.equal(a, b) and a.stride() == b.stride() == (1, 96, 3)  # channels-last, bit-identical


@pytest.fixture(scope="module")
def one_by_one(disc_game_late, tmp_path_factory):
    result = process_game(disc_game_late, opts(tmp_path_factory.mktemp("unbatched"), encoder_batch=1))
    f = result.manifest.features.model_dump()
    assert f["encoder_forwards"] == f["encoder_batches"] == N
    return masks_of(result.run_dir)


@pytest.mark.sam2
@pytest.mark.parametrize("batch, cache", [(3, False), (6, True)])
def test_batched_encoder_gives_the_masks_of_the_unbatched_run(disc_game_late, one_by_one, tmp_path, batch, cache):
    """3 frames (the 3 cameras' frames of one game time) and 6 with the feature cache, then read back.

    Masks (RLEs, boxes, areas) are equal; object scores agree to 1e-5, not to the last bit:
    the batched encoder's features differ from one-frame passes by rounding end to end.
    """
    changes = {"encoder_batch": batch, "feature_cache": tmp_path / "features" if cache else "off"}
    result = process_game(disc_game_late, opts(tmp_path / "runs", **changes))
    f = result.manifest.features.model_dump()
    assert f["encoder_forwards"] == N and f["encoder_batches"] < N / 2  # prompted frames are encoded alone
    assert same_masks(masks_of(result.run_dir), one_by_one) and any(fm.objects for fm in one_by_one.values())
    if cache:
        again = process_game(disc_game_late, opts(tmp_path / "runs", **changes))
        assert again.manifest.features.loaded == N and again.manifest.features.encoder_forwards == 0
        assert same_masks(masks_of(again.run_dir), one_by_one)
