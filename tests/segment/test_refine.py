"""The per-body outline refiner: its configuration, its inputs, and what it does to a real exam."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from acuity.errors import ConfigError
from acuity.segment import LoadedModel, Segmentation, segment_image
from acuity.segment.evaluate import score_case
from acuity.segment.refine import INPUTS, RefinerConfig, body_input, crop2d, load_refiner


def test_config_validates_and_round_trips() -> None:
    cfg = RefinerConfig(name="r", training={"seed": 1})
    assert RefinerConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ConfigError, match="'crop' 60 must be a positive multiple of 8"):
        RefinerConfig(name="r", crop=60)
    with pytest.raises(ConfigError, match="'strides' needs 3 values"):
        RefinerConfig(name="r", strides=(2, 2))
    with pytest.raises(ConfigError, match="unknown fields \\['colour'\\]"):
        RefinerConfig.from_dict({"name": "r", "colour": 1})
    with pytest.raises(ConfigError, match="'inputs' must be"):
        RefinerConfig(name="r", inputs=("image",))


def test_missing_refiner_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="train_refiner.py"):
        load_refiner(tmp_path / "nope.pt")


def test_crop_pads_with_zeros_outside_the_array() -> None:
    a = np.arange(100, dtype=np.float32).reshape(10, 10)
    c = crop2d(a, 1.0, 8.0, 8)  # rows -3..4, columns 4..11
    assert c.shape == (8, 8)
    assert c[3, 0] == a[0, 4] and c[7, 5] == a[4, 9]
    assert not c[:3].any() and not c[:, 6:].any()


def test_body_input_channels() -> None:
    image = np.random.default_rng(0).random((5, 40, 40)).astype(np.float32)  # (Z, Y, X)
    prob = np.zeros_like(image)
    labels = np.zeros(image.shape, dtype=np.uint8)
    labels[1:4, 10:20, 12:30] = 2
    labels[1:4, 24:34, 12:30] = 3
    prob[labels > 0] = 0.9
    x = body_input(image, prob, labels, 2, 0, (15.0, 20.0), 32)
    assert x.shape == (len(INPUTS), 32, 32)
    # Slice 0 has no slice before it: the edge slice is repeated.
    np.testing.assert_array_equal(x[0], x[1])
    np.testing.assert_array_equal(x[2], crop2d(image[1], 15.0, 20.0, 32))
    # The mask channel holds body 2 only; the probability channel every body.
    assert not x[4].any()
    x = body_input(image, prob, labels, 2, 2, (15.0, 20.0), 32)
    assert x[4].sum() == 10 * 18
    assert (x[3] > 0).sum() > x[4].sum()


def test_refiner_is_used_and_can_be_switched_off(
    case_image: sitk.Image, case_reference: sitk.Image, case_seg: Segmentation, seg_model: LoadedModel
) -> None:
    """On a validation exam (vb1-03, never trained on by either network) the refined outlines
    are at least as close to the reference as the main network's."""
    assert seg_model.refiner_path() is not None and seg_model.refiner_path().is_file()  # type: ignore[union-attr]
    plain = segment_image(case_image, model=seg_model, refine=False)
    assert [b.level for b in plain.bodies] == [b.level for b in case_seg.bodies]
    ref = sitk.GetArrayFromImage(case_reference)
    dice = {
        name: score_case("vb1-03", "TIRM", sitk.GetArrayFromImage(seg.label_map), ref).mean_dice
        for name, seg in (("refined", case_seg), ("plain", plain))
    }
    assert not np.array_equal(
        sitk.GetArrayFromImage(case_seg.label_map), sitk.GetArrayFromImage(plain.label_map)
    )
    assert dice["refined"] >= dice["plain"] - 0.005, dice


def test_train_refiner_refuses_a_validation_exam(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from helpers.scripts import load_script

    train = load_script("train_refiner")
    assert train.main(["--data", str(shared_data), "--cases", "vb1-03"]) == 2
    assert "--cases ['vb1-03'] are not training exams" in capsys.readouterr().err


def test_train_refiner_usage_errors_name_the_option(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers.scripts import load_script

    train = load_script("train_refiner")
    assert train.main(["--data", str(shared_data), "--corner", "1.5"]) == 2
    assert "--corner 1.5 is a share of bodies" in capsys.readouterr().err
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert train.main(["--data", str(shared_data), "--cache", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert f"--cache {blocker} cannot be written" in err and "Traceback" not in err
    assert train.main(["--data", str(shared_data), "--hard", "-0.1"]) == 2
    assert "--hard -0.1 is a share of draws" in capsys.readouterr().err


def test_corner_perturbation_cuts_or_grows_the_mask_beyond_a_line() -> None:
    from helpers.scripts import load_script

    train = load_script("train_refiner")
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(20):
        x = np.zeros((5, 64, 64), np.float32)  # (C, Y, X)
        x[4, 20:44, 16:48] = 1.0
        x[3] = 0.9 * x[4]
        before = x[4].copy()
        train.shift_corner(x, rng)
        lost, gained = (before > 0) & (x[4] == 0), (before == 0) & (x[4] > 0)
        assert lost.any() != gained.any()  # one or the other
        changed = lost | gained
        # 10-40 % of the body's extent along a random direction: a corner or a side, never all.
        assert 0 < changed.sum() < before.sum()
        # The probability channel follows the mask: low where cut, high where grown.
        assert (x[3][lost] <= 0.27 + 1e-6).all() and (x[3][gained] >= 0.6).all()
        seen.add("cut" if lost.any() else "grown")
    assert seen == {"cut", "grown"}


def test_hard_slices_weight_gross_errors_not_the_outline() -> None:
    from helpers.scripts import load_script

    train = load_script("train_refiner")
    truth = np.zeros((3, 40, 40), np.uint8)  # (Z, Y, X)
    truth[:, 10:30, 10:30] = 1
    work = truth.copy()
    work[0, 9:31, 10:30] = work[0, 10:30, 9:31] = 1  # slice 0: one pixel wide of the truth, forgiven
    work[2, 2:10, 10:30] = 1  # slice 2: the disc above filled, 8 rows of 20 px
    work[2, 10:30, 10:13] = 0  # and a strip of 3 columns lost
    assert train.gross_error(work[0] == 1, truth[0] == 1) == 0
    # 7 of the 8 filled rows, and 2 of the lost columns less their end pixels (in the band).
    assert train.gross_error(work[2] == 1, truth[2] == 1) == 7 * 20 + 2 * 18
    vol = train.Volume("x#1", truth.astype(np.float16), truth.astype(np.float16), work, truth, frozenset({1}))
    body = train.Body(0, 1, 1, 0, 2, (20.0, 20.0), True)
    hard = train.hard_slices([vol], [body], 1.0)
    assert hard.z.tolist() == [0, 1, 2] and hard.p.tolist() == [0.0, 0.0, 1.0]
    # Hard draws follow the weights; the others stay uniform over the body's slices.
    rng = np.random.default_rng(0)
    assert {train.draw([body], [], rng, hard)[1] for _ in range(20)} == {2}
    off = train.hard_slices([vol], [body], 0.0)
    assert {train.draw([body], [], rng, off)[1] for _ in range(40)} == {0, 1, 2}
    # Without hard draws the random stream is the uniform recipe's, with or without weights.
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    assert [train.draw([body], [], a, off)[1] for _ in range(10)] == [
        train.draw([body], [], b)[1] for _ in range(10)
    ]
    xb, yb = train.make_batch([vol], [body], [], 4, 64, rng, hard=hard)
    assert xb.shape == (4, 5, 64, 64) and yb.shape == (4, 1, 64, 64)  # (B, C, S, S)


def test_prepared_volume_cache_round_trips(tmp_path: Path) -> None:
    from helpers.scripts import load_script

    train = load_script("train_refiner")
    rng = np.random.default_rng(0)
    v = train.Volume(
        name="vb1-08#2",
        image=rng.random((4, 8, 8)).astype(np.float16),
        prob=rng.random((4, 8, 8)).astype(np.float16),
        work=rng.integers(0, 3, (4, 8, 8)).astype(np.uint8),
        truth=rng.integers(0, 3, (4, 8, 8)).astype(np.uint8),
        fractured=frozenset({2, 5}),
    )
    path = tmp_path / "v.npz"
    train.save_volume(path, v)
    back = train.load_volume(path)
    assert back.name == v.name and back.fractured == v.fractured
    for field in ("image", "prob", "work", "truth"):
        assert np.array_equal(getattr(back, field), getattr(v, field))
        assert getattr(back, field).dtype == getattr(v, field).dtype
    assert [p.name for p in tmp_path.iterdir()] == ["v.npz"]  # no temporary file left


def test_a_refiner_trained_on_other_main_weights_is_named_stale(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from acuity.segment.network import load_model, models_dir, weights_digest
    from acuity.segment.refine import stale_refiner

    src = models_dir()
    for f in ("vertebrae_seg.pt", "vertebrae_seg.json", "vertebrae_refine.pt"):
        (tmp_path / f).write_bytes((src / f).read_bytes())
    cfg = json.loads((src / "vertebrae_refine.json").read_text())
    cfg["main_model_sha256"] = "0123456789ab"  # another main model's weights
    (tmp_path / "vertebrae_refine.json").write_text(json.dumps(cfg))
    model = load_model(tmp_path / "vertebrae_seg.pt")
    assert model.weights_sha256 == weights_digest(src / "vertebrae_seg.pt")
    refiner = load_refiner(tmp_path / "vertebrae_refine.pt")
    why = stale_refiner(model, refiner)
    assert why is not None and "0123456789ab" in why and "train_refiner.py" in why
    # The committed pair belongs together; an unrecorded digest is not called stale.
    committed = load_refiner(src / "vertebrae_refine.pt")
    assert stale_refiner(load_model(), committed) is None
    unrecorded = RefinerConfig.from_dict({**cfg, "main_model_sha256": ""})
    assert stale_refiner(model, type(refiner)(unrecorded, refiner.network)) is None
    # Segmenting with the stale pair says so once, not once per image.
    image = sitk.GetImageFromArray(np.random.default_rng(0).random((6, 48, 48)).astype(np.float32))
    with caplog.at_level("WARNING", logger="acuity.segment.api"):
        segment_image(image, model=model)
        segment_image(image, model=model)
    assert sum("0123456789ab" in r.getMessage() for r in caplog.records) == 1
