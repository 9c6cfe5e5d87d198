"""Real inference with the committed weights on a validation exam the model never saw.

vb1-03 is a Siemens TIRM (STIR) lumbar exam with 9 masked bodies, T10-S1.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from acuity.errors import InputError
from acuity.segment import LoadedModel, Segmentation, VertebraLevel, map_labels, segment_image
from acuity.segment.evaluate import score_case

LEVELS = ["T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"]


def _score(seg_labels: sitk.Image, reference: sitk.Image, seg: Segmentation):  # type: ignore[no-untyped-def]
    return score_case(
        "vb1-03",
        "TIRM",
        sitk.GetArrayFromImage(seg_labels).astype(np.int32),
        sitk.GetArrayFromImage(reference).astype(np.int32),
        reference_levels=[VertebraLevel(v) for v in LEVELS],
        predicted_levels=[b.level for b in seg.bodies],
    )


def test_every_body_found_ordered_and_named(case_seg: Segmentation, case_reference: sitk.Image, case_image: sitk.Image) -> None:
    seg = case_seg
    assert seg.label_map.GetSize() == case_image.GetSize()
    assert seg.label_map.GetOrigin() == case_image.GetOrigin()
    score = _score(seg.label_map, case_reference, seg)
    assert score.n_detected == 9
    assert score.mean_dice > 0.80, score.to_dict()  # committed model: 0.839 on vb1-03 (TIRM)
    assert min(b.dice for b in score.bodies) > 0.7, score.to_dict()
    # numbered superior to inferior: LPS z decreases with the label
    z = [b.centroid_lps[2] for b in seg.bodies]
    assert z == sorted(z, reverse=True)
    assert [b.label for b in seg.bodies] == list(range(1, len(seg.bodies) + 1))
    assert seg.level_source == "s1"
    assert score.levels_correct == 9, (score.to_dict(), seg.level_note)
    s1 = seg.body("S1")
    assert s1 is not None and s1.label == len(seg.bodies) and s1.level_confidence > 0.5
    assert all(10_000 < b.volume_mm3 < 60_000 for b in seg.bodies if not b.partial)
    arr = sitk.GetArrayFromImage(seg.label_map)
    assert int(arr.max()) == len(seg.bodies)


def test_thick_slices_and_any_orientation(
    thick_image: sitk.Image,
    thick_seg: Segmentation,
    case_image: sitk.Image,
    case_reference: sitk.Image,
    seg_model: LoadedModel,
) -> None:
    assert thick_image.GetSpacing()[2] == 4.0
    # Mapped back to the 1 mm reference grid, the 4 mm result still matches the masks.
    mapped, report = map_labels(thick_seg, case_image)
    assert report.fraction_in_target > 0.99
    score = _score(mapped, case_reference, thick_seg)
    assert score.n_detected == 9
    assert score.mean_dice > 0.8, score.to_dict()
    assert [b.level.value if b.level else None for b in thick_seg.bodies] == LEVELS

    # The same series with its axes permuted and flipped (an axial-like array layout):
    # the same bodies, the same levels.
    turned = sitk.DICOMOrient(thick_image, "LAI")
    assert turned.GetDirection() != thick_image.GetDirection()
    seg2 = segment_image(turned, model=seg_model)
    assert [b.level for b in seg2.bodies] == [b.level for b in thick_seg.bodies]
    back = sitk.GetArrayFromImage(sitk.Resample(seg2.label_map, thick_image, sitk.Transform(), sitk.sitkNearestNeighbor))
    first = sitk.GetArrayFromImage(thick_seg.label_map)
    assert np.mean(back[first > 0] == first[first > 0]) > 0.97


def test_deterministic(thick_image: sitk.Image, thick_seg: Segmentation, seg_model: LoadedModel) -> None:
    again = segment_image(thick_image, model=seg_model)
    assert np.array_equal(sitk.GetArrayFromImage(again.label_map), sitk.GetArrayFromImage(thick_seg.label_map))
    assert [b.to_dict() for b in again.bodies] == [b.to_dict() for b in thick_seg.bodies]


def test_level_hints(thick_image: sitk.Image, thick_seg: Segmentation, seg_model: LoadedModel) -> None:
    # A hint by LPS point: the centroid of the 4th body (L1) named L1 gives the true levels.
    l1 = thick_seg.bodies[3]
    seg = segment_image(thick_image, model=seg_model, level_at=(l1.centroid_lps, "L1"))
    assert seg.level_source == "hint"
    assert [b.level.value if b.level else None for b in seg.bodies] == LEVELS
    assert all(b.level_confidence == 1.0 for b in seg.bodies)
    # A hint that contradicts the anatomy is still obeyed (the user knows the spine) ...
    seg = segment_image(thick_image, model=seg_model, lowest_level="L5")
    assert seg.bodies[0].level is VertebraLevel.T9 and seg.bodies[-1].level is VertebraLevel.L5
    assert "user hint" in seg.level_note
    # ... but a label number that does not exist is an error.
    with pytest.raises(InputError, match="level_at body 42"):
        segment_image(thick_image, model=seg_model, level_at=(42, "L3"))


def test_map_labels_between_series_of_one_frame(case_seg: Segmentation, shared_data, case_reference: sitk.Image) -> None:  # type: ignore[no-untyped-def]
    # vb1-02 is the same subject's T1 with the same masks, on a grid one column larger.
    t1 = sitk.ReadImage(str(shared_data / "vertebrae" / "vb1-02" / "image.nii.gz"))
    t1_ref = sitk.ReadImage(str(shared_data / "vertebrae" / "vb1-02" / "labels.nii.gz"))
    mapped, report = map_labels(case_seg, t1)
    assert mapped.GetSize() == t1.GetSize()
    assert report.fraction_in_target > 0.99 and report.lost_labels == ()
    assert all(b.fraction_in_target > 0.99 for b in report.bodies)
    score = _score(mapped, t1_ref, case_seg)
    assert score.mean_dice > 0.75  # committed model: 0.80 (TIRM mask mapped onto the T1 of the same subject)
    # A series elsewhere in space (another frame of reference) is refused.
    far = sitk.Image(t1)
    far.SetOrigin((500.0, 500.0, 500.0))
    with pytest.raises(InputError, match="frame of reference"):
        map_labels(case_seg, far)


def test_an_image_without_spine_gives_no_bodies(seg_model: LoadedModel) -> None:
    rng = np.random.default_rng(0)  # a small sagittal stack of noise
    blank = sitk.GetImageFromArray(rng.normal(100, 5, (5, 80, 80)).astype(np.float32))
    blank.SetSpacing((1.0, 1.0, 4.0))
    blank.SetDirection((0.0, 0.0, -1.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0))
    seg = segment_image(blank, model=seg_model)
    assert seg.bodies == [] and seg.level_source == "none"
    assert "no vertebral body" in seg.level_note
    assert sitk.GetArrayFromImage(seg.label_map).max() == 0
    with pytest.raises(InputError, match="3-D"):
        segment_image(sitk.Image([32, 32], sitk.sitkFloat32), model=seg_model)


def test_a_slab_narrower_than_the_bodies(thick_image: sitk.Image, seg_model: LoadedModel) -> None:
    # Without its first 3 slices (12 mm) the slab cuts the bodies' lateral edge, as clinical
    # sagittal series often do; their mid-sagittal planes stay in view, so they are measured.
    cut = segment_image(thick_image[:, :, 3:], model=seg_model)
    assert [b.level.value if b.level else None for b in cut.bodies] == LEVELS
    lumbar = [b for b in cut.bodies if b.level and b.level.value.startswith("L")]
    assert all(b.cut_laterally and not b.partial for b in lumbar), [b.to_dict() for b in lumbar]
    assert any("lateral edge beyond" in w and "L3" in w for w in cut.warnings), cut.warnings
    # A 5-slice (20 mm) slab shows less than a body's depth across: the bodies are partial.
    narrow = segment_image(thick_image[:, :, 4:9], model=seg_model)
    assert narrow.bodies and all(b.partial for b in narrow.bodies if b.cut_laterally)
    assert sum(b.cut_laterally for b in narrow.bodies) >= 5
