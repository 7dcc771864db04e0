"""`multicam export`: DAVIS PNGs, COCO JSON and MOTChallenge files read back equal to the masks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from multicam.cli import app
from multicam.export import ExportError, coco_dataset, davis_palette, export, mot_rows
from multicam.masks import FrameMasks, decode_rle
from multicam.rundir import CameraInfo, ObjectInfo, RunWriter, open_run

H, W = 30, 40
DAVIS_PRED = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "davis_jf_reference" / "pred"


def _label_map(cam: int, i: int) -> np.ndarray:
    lm = np.zeros((H, W), np.int32)
    lm[2 + i : 10 + i, 3 : 12 + cam] = 1
    if i != 2:  # object 7 is absent in frame 2
        lm[15:25, 20 + i : 30 + i] = 7
    return lm


@pytest.fixture
def run_dir(tmp_path) -> Path:
    cams = [CameraInfo("side", (W, H), 25.0, 4, 0.0), CameraInfo("end", (W, H), 30.0, 4, -0.2)]
    path = tmp_path / "run"
    with RunWriter(
        path,
        {"reference": "side", "model": {"name": "sam2.1_hiera_tiny", "untrained": False}},
        cams,
        [ObjectInfo(1, "ball"), ObjectInfo(7, "home 7", "home")],
    ) as w:
        for k, cam in enumerate(("side", "end")):
            for i in range(4):
                fm = FrameMasks.from_label_map(cam, i, i / 25, _label_map(k, i))
                if i == 1:  # give the frame scores, as a model would
                    fm = FrameMasks(
                        cam,
                        i,
                        fm.time,
                        fm.resolution_wh,
                        tuple(type(o)(o.object_id, o.rle, o.box_xyxy, o.area, 2.0) for o in fm.objects),
                    )
                w.write(fm)
    return path


def test_davis_palette_is_the_davis_one():
    pal = davis_palette()
    assert len(pal) == 768 and pal[:12] == [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0]
    if DAVIS_PRED.is_dir():  # the palette of real DAVIS result PNGs
        from PIL import Image

        png = next(DAVIS_PRED.rglob("*.png"))
        assert Image.open(png).getpalette()[:768] == pal


def test_davis_pngs_read_back_equal(run_dir, tmp_path):
    import cv2
    from PIL import Image

    paths = list(export(open_run(run_dir), "davis", tmp_path / "out"))
    assert len(paths) == 8 and paths[0] == tmp_path / "out" / "davis" / "side" / "00000.png"
    for k, cam in enumerate(("side", "end")):
        for i in range(4):
            path = tmp_path / "out" / "davis" / cam / f"{i:05d}.png"
            img = Image.open(path)
            assert img.mode == "P" and img.getpalette()[:768] == davis_palette()
            np.testing.assert_array_equal(np.array(img), _label_map(k, i))
            # OpenCV expands the palette: each pixel shows its id's DAVIS colour (BGR)
            colours = np.array(davis_palette(), np.uint8).reshape(256, 3)[:, ::-1]
            np.testing.assert_array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), colours[_label_map(k, i)])


def test_davis_rejects_ids_above_255(tmp_path):
    path = tmp_path / "big"
    with RunWriter(path, {}, [CameraInfo("a", (W, H), 25.0, 1, 0.0)], [ObjectInfo(300, "x")]) as w:
        lm = np.zeros((H, W), np.int32)
        lm[:4, :4] = 300
        w.write(FrameMasks.from_label_map("a", 0, 0.0, lm))
    with pytest.raises(ExportError, match="1..255"):
        list(export(open_run(path), "davis", tmp_path / "out"))


def test_coco_json_decodes_to_the_masks(run_dir, tmp_path):
    from pycocotools.coco import COCO

    paths = list(export(open_run(run_dir), "coco", tmp_path / "out"))
    assert [p.name for p in paths] == ["side.json", "end.json"]
    data = json.loads(paths[0].read_text())
    assert [c["id"] for c in data["categories"]] == [1, 7] and data["categories"][1]["supercategory"] == "home"
    assert [im["frame_index"] for im in data["images"]] == [0, 1, 2, 3]
    assert len(data["annotations"]) == 7  # object 7 missing in frame 2
    coco = COCO(str(paths[0]))  # the official API loads it
    for im in data["images"]:
        expected = _label_map(0, im["frame_index"])
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=[im["id"]])):
            np.testing.assert_array_equal(coco.annToMask(ann).astype(bool), expected == ann["category_id"])
            np.testing.assert_array_equal(decode_rle(ann["segmentation"]), expected == ann["category_id"])
            x, y, w, h = ann["bbox"]
            ys, xs = np.nonzero(expected == ann["category_id"])
            assert (x, y, w, h) == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
            assert ann["score"] == (pytest.approx(1 / (1 + np.exp(-2.0))) if im["frame_index"] == 1 else 1.0)


def test_mot_boxes_read_back(run_dir, tmp_path):
    (side, end) = list(export(open_run(run_dir), "mot", tmp_path / "out"))
    rows = np.loadtxt(side, delimiter=",", ndmin=2)
    assert rows.shape == (7, 10) and set(rows[:, 0]) == {1, 2, 3, 4}  # 1-based frames
    assert (rows[:, 7:] == -1).all()
    for frame, oid, x, y, w, h, conf, *_ in rows:
        ys, xs = np.nonzero(_label_map(0, int(frame) - 1) == int(oid))
        assert (x, y, w, h) == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
        assert conf == pytest.approx(0.8808, abs=1e-4) if frame == 2 else conf == 1.0
    assert list(mot_rows([])) == []


def test_empty_run_exports_nothing_but_folders(tmp_path):
    path = tmp_path / "empty"
    RunWriter(path, {}, [CameraInfo("a", (W, H), 25.0, 0, 0.0)], []).close()
    assert list(export(open_run(path), "davis", tmp_path / "out")) == []
    assert coco_dataset(open_run(path), "a")["images"] == []
    (mot,) = export(open_run(path), "mot", tmp_path / "out")
    assert mot.read_text() == ""


def test_unknown_format_and_camera(run_dir, tmp_path):
    with pytest.raises(ExportError, match="davis, coco, mot"):
        list(export(open_run(run_dir), "yolo", tmp_path))
    with pytest.raises(ExportError, match="unknown camera"):
        list(export(open_run(run_dir), "mot", tmp_path, cameras=["top"]))


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("davis", ["davis/side/00000.png", "davis/end/00003.png"]),
        ("coco", ["coco/side.json", "coco/end.json"]),
        ("mot", ["mot/side.txt", "mot/end.txt"]),
    ],
)
def test_cli(run_dir, fmt, expected):
    result = CliRunner().invoke(app, ["export", str(run_dir), "--format", fmt])
    assert result.exit_code == 0, result.output
    for rel in expected:
        assert (run_dir / "export" / rel).is_file()


def test_cli_camera_filter_and_out(run_dir, tmp_path):
    result = CliRunner().invoke(
        app, ["export", str(run_dir), "-f", "mot", "--camera", "end", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "o" / "mot").iterdir()] == ["end.txt"]
