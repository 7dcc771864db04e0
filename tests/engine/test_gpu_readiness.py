"""What the GPU path needs, checked on the CPU: auto batching, cache writes off the model thread, bf16 default."""

from __future__ import annotations

import time

import pytest
import torch

from multicam.engine import FeatureCache, FeatureSpace, FeatureStore, resolve_dtype
from multicam.engine.build import resolve_batch_objects


@pytest.mark.parametrize(
    "requested, device, expected",
    [(None, "cuda", True), (None, "cpu", False), (None, "mps", False), (True, "cpu", True), (False, "cuda", False)],
)
def test_batch_objects_auto_is_on_for_cuda_only(requested, device, expected):
    assert resolve_batch_objects(requested, torch.device(device)) is expected


@pytest.mark.parametrize("device, expected", [("cuda", torch.bfloat16), ("cpu", torch.float32), ("mps", torch.float32)])
def test_dtype_auto_is_bfloat16_on_cuda_and_float32_elsewhere(device, expected):
    assert resolve_dtype("auto", torch.device(device)) == expected


def test_feature_cache_writes_do_not_hold_up_the_model_thread(tmp_path, monkeypatch):
    slow = 0.4
    write = FeatureCache._write

    def slow_write(path, data):
        time.sleep(slow)
        write(path, data)

    monkeypatch.setattr(FeatureCache, "_write", staticmethod(slow_write))
    cache = FeatureCache(tmp_path)
    space = FeatureSpace("cfg", "w", 64, "float32", False, "1")
    (tmp_path / "clip.mp4").write_bytes(b"0")
    store = FeatureStore(cache, space, {"cam": tmp_path / "clip.mp4"})
    out = {"backbone_fpn": [torch.full((1, 4, 4, 4), 1.0)], "vision_pos_enc": [torch.zeros(1, 4, 4, 4)]}
    t0 = time.perf_counter()
    for frame in range(3):
        store.store("cam", frame, out)
    handed_over = time.perf_counter() - t0
    assert handed_over < slow  # 4 writes (position encodings + 3 frames) take 1.6 s on the thread
    store.flush()
    assert cache.stats.stores == 3 and cache.stats.failed == 0
    assert torch.equal(store.load("cam", 2, "cpu")[0], out["backbone_fpn"][0])
    store.close()


def test_a_failed_cache_write_costs_only_its_entry(tmp_path, monkeypatch):
    def full_disk(path, data):
        raise OSError(28, "No space left on device")

    cache = FeatureCache(tmp_path)
    store = FeatureStore(cache, FeatureSpace("cfg", "w", 64, "float32", False, "1"), {})
    store.clip_ids["cam"] = "clip"
    monkeypatch.setattr(FeatureCache, "_write", staticmethod(full_disk))
    store.store("cam", 0, {"backbone_fpn": [torch.ones(1, 2, 2, 2)], "vision_pos_enc": [torch.zeros(1, 2, 2, 2)]})
    store.close()
    assert cache.stats.failed == 1 and cache.stats.stores == 0
