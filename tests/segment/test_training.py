"""Training targets, the masked loss and the synthetic training volumes (no network)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.scripts import load_script

from acuity.segment.training import boundary_band, core_target, masked_loss


def test_core_target_is_an_inplane_erosion() -> None:
    lab = np.zeros((3, 40, 40), np.uint8)
    lab[:, 10:30, 10:30] = 1
    core = core_target(lab, erosion_mm=3.0)
    assert core[1, 20, 20] and not core[1, 11, 20] and core[1, 14, 20]
    assert core[0, 20, 20]  # per slice: the outer slices keep their core


def test_masked_loss_ignores_the_unlabelled_region() -> None:
    import torch

    torch.manual_seed(0)
    target = torch.zeros(2, 3, 16, 16)
    target[:, 0, 4:12, 4:12] = 1
    mask = torch.ones(2, 3, 16, 16)
    mask[:, :, :, 12:] = 0
    logits = torch.randn(2, 3, 16, 16)
    base, _ = masked_loss(logits, target, mask)
    changed = logits.clone()
    changed[:, :, :, 12:] = 50.0  # confident "body" where nothing is known
    again, _ = masked_loss(changed, target, mask)
    assert float(again) == pytest.approx(float(base), rel=1e-5)
    changed[:, :, :, :4] = 50.0  # but in the known background it costs
    worse, _ = masked_loss(changed, target, mask)
    assert float(worse) > float(base) + 0.1


def test_boundary_band_is_the_outline_ring() -> None:
    import torch

    t = torch.zeros(1, 12, 12)
    t[0, 3:9, 3:9] = 1
    band = boundary_band(t, 1)[0]
    assert band[2, 5] == 1 and band[3, 5] == 1  # one pixel outside, the edge pixel inside
    assert band[4, 5] == 0
    assert band[5, 5] == 0 and band[0, 5] == 0  # deep inside / far outside


def test_boundary_weight_makes_an_endplate_spill_cost_more() -> None:
    import torch

    target = torch.zeros(1, 3, 24, 24)
    target[:, 0, 6:18, 6:18] = 1
    mask = torch.ones(1, 3, 24, 24)
    logits = torch.where(target > 0, 4.0, -4.0)
    spill = logits.clone()
    spill[:, 0, 18:20, 6:18] = 4.0  # the mask runs 2 px into the disc below the body
    far = logits.clone()
    far[:, 0, 0:2, 0:12] = 4.0  # the same number of wrong pixels far from any body
    for w, spill_dearer in ((1.0, False), (3.0, True)):
        base, _ = masked_loss(logits, target, mask, boundary_weight=w)
        at_edge, _ = masked_loss(spill, target, mask, boundary_weight=w)
        away, _ = masked_loss(far, target, mask, boundary_weight=w)
        assert float(at_edge) > float(base) and float(away) > float(base)
        bce_edge, bce_away = float(at_edge) - float(base), float(away) - float(base)
        if spill_dearer:
            assert bce_edge > 1.5 * bce_away
        else:
            assert bce_edge == pytest.approx(bce_away, rel=0.05)


def test_synthetic_lesions_are_one_or_two_valid_fractures() -> None:
    from acuity.segment.synthetic import LESION_LEVELS, _random_lesions
    from acuity.sim.phantom import AnatomyParams, build_anatomy

    rng = np.random.default_rng(5)
    assert _random_lesions(rng, 0.0) == ()
    drawn = [_random_lesions(rng, 1.0) for _ in range(40)]
    assert all(1 <= len(d) <= 2 for d in drawn)
    assert {len(d) for d in drawn} == {1, 2}
    for d in drawn:
        assert len({x.level for x in d}) == len(d) and all(x.level in LESION_LEVELS for x in d)
        assert all(0.15 <= x.height_loss <= 0.6 for x in d)
    kinds = {(x.deformity.value, x.acuity.value) for d in drawn for x in d}
    assert {k for k, _ in kinds} == {"wedge", "biconcave", "crush"}
    assert {a for _, a in kinds} == {"acute", "chronic"}
    # The phantom takes them: each becomes a fracture of the anatomy at its level.
    anatomy = build_anatomy(AnatomyParams(seed=11, lesions=drawn[1]))
    assert [f.vertebra.name for f in anatomy.fractures] == [x.level for x in drawn[1]]


def test_synthetic_lesion_share_is_checked() -> None:
    from acuity.errors import InputError
    from acuity.segment.synthetic import synthetic_training_volumes

    with pytest.raises(InputError, match="lesion_p 1.5"):
        synthetic_training_volumes(1, seed=3, lesion_p=1.5)


def test_retrain_recipe_is_two_valid_training_runs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The one-command recipe: phase B starts from (and pseudo-labels S1 with) phase A's
    export, and both argument lists pass train_segmentation.py's own checks."""
    retrain = load_script("retrain_segmentation")
    train = load_script("train_segmentation")
    args = retrain.parse_args(["--out-dir", str(tmp_path), "--epochs-a", "2", "--epochs-b", "3"])
    (a_name, a_argv), (b_name, b_argv) = retrain.phase_commands(args)
    assert (a_name, b_name) == ("phase_a", "phase_b")
    a, b = train.parse_args(a_argv), train.parse_args(b_argv)
    assert a.init is None and a.epochs == 2 and b.epochs == 3
    assert b.init == b.pseudo_s1 == a.export_dir / f"{a.name}.pt"
    assert b.fracture_copies == 3 and b.synthetic_lesions == 0.5 and b.boundary_weight == 3.0
    assert a.out_dir != b.out_dir and tmp_path in b.export_dir.parents
    with pytest.raises(SystemExit):
        retrain.parse_args(["--epochs-b", "0"])
