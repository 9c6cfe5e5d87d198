"""The voxel rule of ``edema_mask`` (the ``mask_*`` settings): Hepburn et al.'s threshold,
per-slice clusters, hysteresis; on small synthetic STIR images with thick slices."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import SimpleITK as sitk

from acuity.errors import ConfigError
from acuity.measure import EdemaThresholds, edema_mask
from acuity.measure.edema import mask_threshold, reference_threshold

#: (x, y, z) spacing of the real sacroiliac STIR: 0.6 mm pixels, 3.3 mm slices.
SPACING = (0.6, 0.6, 3.3)
VOXEL_MM3 = 0.6 * 0.6 * 3.3
BASE = EdemaThresholds(bias_correction="none")


def _image(arr: np.ndarray) -> sitk.Image:
    img = sitk.GetImageFromArray(arr.astype(np.float32))
    img.SetSpacing(SPACING)
    return img


def _scene(rng_seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(signal, ROI, reference): 9 slices of 48 x 48; marrow at 100 (noise sd 3), the left
    third is the reference, the rest the ROI."""
    rng = np.random.default_rng(rng_seed)
    arr = 100.0 + rng.normal(0.0, 3.0, size=(9, 48, 48))
    ref = np.zeros(arr.shape, dtype=bool)
    ref[:, :, :14] = True
    roi = np.zeros(arr.shape, dtype=bool)
    roi[:, :, 16:] = True
    return arr, roi, ref


def _run(arr: np.ndarray, roi: np.ndarray, ref: np.ndarray, t: EdemaThresholds) -> np.ndarray:
    got = edema_mask(_image(arr), _image(roi), _image(ref), t)
    return sitk.GetArrayFromImage(got.mask) > 0


def test_hepburn_threshold_follows_the_brightest_reference_voxels() -> None:
    rng = np.random.default_rng(1)
    # Normal marrow (100, sd 10) with a few bright voxels (1 %, 1.5 x).
    values = np.concatenate([rng.normal(100.0, 10.0, size=2000), np.full(20, 150.0)])
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    iqr = q3 - q1
    # The fence (about 1.27 x) lies more than IQR/2 under the maximum, so Hepburn et al.
    # raise it to max - IQR/2; the body rule keeps max(1.3, fence).
    assert (q3 + 1.5 * iqr) < 150.0 - iqr / 2
    _, thr = mask_threshold(values, BASE)
    assert thr == pytest.approx((150.0 - iqr / 2) / med, rel=1e-6)
    assert mask_threshold(values, replace(BASE, mask_threshold="fence")) == pytest.approx(
        reference_threshold(values, BASE)
    )
    assert reference_threshold(values, BASE)[1] == pytest.approx(1.3)
    # One brighter voxel in the reference (a vessel) lifts Hepburn's threshold with it.
    lifted = np.append(values, 200.0)
    assert mask_threshold(lifted, BASE)[1] == pytest.approx((200.0 - iqr / 2) / med, rel=0.01)
    # A narrow reference: the threshold never drops under voxel_ratio.
    narrow = rng.normal(100.0, 1.0, size=2000)
    assert mask_threshold(narrow, BASE)[1] == pytest.approx(1.3)
    # No voxel above the fence: the threshold is the reference maximum, not above it.
    flat = np.concatenate([np.full(200, 100.0), np.full(50, 120.0), np.full(50, 145.0)])
    assert mask_threshold(flat, BASE)[1] == pytest.approx(1.45)  # fence 1.5


def test_clusters_are_counted_per_slice_or_across_slices() -> None:
    arr, roi, ref = _scene()
    # A column 3 x 3 pixels wide through 5 slices (53 mm3 in 3-D, 11 mm3 a slice) ...
    arr[2:7, 10:13, 30:33] = 200.0
    # ... and a patch 6 x 6 pixels in one slice (43 mm3).
    arr[4, 30:36, 30:36] = 200.0
    assert 9 * VOXEL_MM3 < 30.0 < 36 * VOXEL_MM3
    per_slice = _run(arr, roi, ref, BASE)
    across = _run(arr, roi, ref, replace(BASE, mask_connectivity="3d"))
    assert per_slice[4, 30:36, 30:36].all() and across[4, 30:36, 30:36].all()
    assert not per_slice[2:7, 10:13, 30:33].any()
    assert across[2:7, 10:13, 30:33].all()
    assert per_slice.sum() == 36
    assert across.sum() == 36 + 45


def test_hysteresis_keeps_a_dim_rim_on_a_bright_core_and_drops_a_dim_blob() -> None:
    arr, roi, ref = _scene(2)
    # Lesion: bright core (2.5 x) in a dimmer rim (1.6 x), three slices.
    arr[3:6, 8:20, 22:34] = 160.0
    arr[3:6, 12:16, 26:30] = 250.0
    # Elsewhere an isolated blob as dim as the rim, as large as the whole lesion.
    arr[3:6, 30:42, 30:42] = 160.0
    lesion = np.zeros(arr.shape, dtype=bool)
    lesion[3:6, 8:20, 22:34] = True
    blob = np.zeros(arr.shape, dtype=bool)
    blob[3:6, 30:42, 30:42] = True
    t = replace(BASE, voxel_ratio=1.5)
    plain = _run(arr, roi, ref, t)
    seeded = _run(arr, roi, ref, replace(t, mask_seed_ratio=2.2))
    assert (plain == (lesion | blob)).all()
    assert (seeded == lesion).all()
    # Seeds above every voxel: nothing is left.
    assert not _run(arr, roi, ref, replace(t, mask_seed_ratio=3.0)).any()


def test_the_body_rule_stays_available() -> None:
    arr, roi, ref = _scene(3)
    arr[4, 20:30, 24:34] = 180.0  # one slice, 10 x 10 pixels (119 mm3)
    body_rule = replace(BASE, mask_threshold="fence", mask_smoothing_mm=1.0, mask_connectivity="3d")
    got = edema_mask(_image(arr), _image(roi), _image(ref), body_rule)
    ratio = sitk.GetArrayFromImage(got.ratio)
    # Smoothed within the ROI: the patch's edge is blurred, its centre keeps 1.8 x.
    assert ratio[4, 25, 29] == pytest.approx(1.8, abs=0.05)
    assert 1.1 < ratio[4, 20, 29] < 1.6
    shipped = edema_mask(_image(arr), _image(roi), _image(ref), BASE)
    assert sitk.GetArrayFromImage(shipped.ratio)[4, 20, 29] == pytest.approx(1.8, abs=0.1)
    assert (sitk.GetArrayFromImage(shipped.mask)[4] > 0).sum() == 100


def test_mask_settings_validate() -> None:
    with pytest.raises(ConfigError, match="mask_seed_ratio"):
        EdemaThresholds(mask_seed_ratio=0.5)
    with pytest.raises(ConfigError, match="mask_connectivity"):
        EdemaThresholds(mask_connectivity="4d")
    with pytest.raises(ConfigError, match="mask_threshold"):
        EdemaThresholds(mask_threshold="otsu")
