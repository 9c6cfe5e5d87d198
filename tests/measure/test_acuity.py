"""Acuity decisions per class, thresholds as data, and the bundled sample study's truth."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import yaml
from measure_phantom import BodyShape, add_band, add_diffuse, make_spine, with_image

from acuity.errors import ConfigError, InputError
from acuity.measure import (
    Acuity,
    BodyInput,
    DeformityType,
    EdemaPattern,
    EdemaThresholds,
    GenantGrade,
    MorphometryThresholds,
    Thresholds,
    measure_study,
)
from acuity.measure.thresholds import default_thresholds_path
from acuity.segment.level import VertebraLevel

LEVELS = ["T11", "T12", "L1", "L2", "L3", "L4", "L5"]


@pytest.fixture(scope="module")
def study() -> tuple[list[object], dict[str, int]]:
    """Seven bodies: L1 acute (wedge + band edema), L3 chronic (crush), L4 edema without
    fracture (diffuse), T11 partial, the others normal."""
    shapes = [
        BodyShape(24, 24, 24),
        BodyShape(24.5, 24.5, 24.5),
        BodyShape(17, 21, 25),
        BodyShape(25.5, 25.5, 25.5),
        BodyShape(16, 16, 16),
        BodyShape(26.5, 26.5, 26.5),
        BodyShape(27, 27, 27),
    ]
    spine = make_spine(shapes, noise=5.0, seed=11)
    arr = sitk.GetArrayFromImage(spine.image)
    stir = add_band(spine, arr, 3, ratio=1.9)
    stir = add_diffuse(stir, spine.masks[6], ratio=1.7)
    t1 = add_band(spine, arr, 3, ratio=0.6)
    t1 = add_diffuse(t1, spine.masks[6], ratio=0.7)
    bodies = [
        BodyInput(k, VertebraLevel(n), 0.9, partial=(n == "T11"))
        for k, n in enumerate(LEVELS, start=1)
    ]
    findings = measure_study(
        spine.labels,
        bodies,
        with_image(spine, stir),
        t1=with_image(spine, t1),
        morphology=spine.image,
    )
    return findings, {n: k for k, n in enumerate(LEVELS)}  # type: ignore[return-value]


def test_each_acuity_class_with_its_reasons(study: tuple[list[object], dict[str, int]]) -> None:
    findings, idx = study
    by = {n: findings[i] for n, i in idx.items()}  # type: ignore[index]
    assert by["L1"].acuity is Acuity.ACUTE  # type: ignore[attr-defined]
    assert by["L3"].acuity is Acuity.CHRONIC  # type: ignore[attr-defined]
    assert by["L4"].acuity is Acuity.EDEMA_WITHOUT_FRACTURE  # type: ignore[attr-defined]
    assert by["T11"].acuity is Acuity.INDETERMINATE  # type: ignore[attr-defined]
    for n in ("T12", "L2", "L5"):
        assert by[n].acuity is Acuity.NONE, (n, by[n].reasons)  # type: ignore[attr-defined]
    l1 = by["L1"]
    assert l1.morphometry.deformity is DeformityType.WEDGE  # type: ignore[attr-defined]
    assert l1.edema.pattern is EdemaPattern.BAND  # type: ignore[attr-defined]
    assert l1.edema.t1_ratio < 0.9  # type: ignore[attr-defined]
    assert l1.fractured  # type: ignore[attr-defined]
    text = " ".join(l1.reasons)  # type: ignore[attr-defined]
    assert "Genant grade" in text and "% of the body core" in text and "T1 ratio" in text
    assert by["L4"].edema.pattern is EdemaPattern.DIFFUSE  # type: ignore[attr-defined]
    assert by["L3"].morphometry.deformity is DeformityType.CRUSH  # type: ignore[attr-defined]
    assert by["L3"].edema.fraction < 0.05  # type: ignore[attr-defined]
    assert "partial" in by["T11"].reasons[0]  # type: ignore[attr-defined]
    assert by["T11"].morphometry is None  # type: ignore[attr-defined]
    assert [f.label for f in findings] == list(range(1, 8))  # type: ignore[attr-defined]
    assert by["L1"].level is VertebraLevel.L1 and by["L1"].level_confidence == 0.9  # type: ignore[attr-defined]


def test_body_outside_the_edema_field_of_view_is_indeterminate() -> None:
    spine = make_spine([BodyShape(25, 25, 25)] * 5, seed=12)
    arr = sitk.GetArrayFromImage(spine.image)
    # The edema series covers the upper part only: the lowest body falls outside.
    size = list(spine.image.GetSize())
    z = spine.masks[5].nonzero()[1].min()
    crop = sitk.RegionOfInterest(with_image(spine, arr), [size[0], int(z) + 3, size[2]], [0, 0, 0])
    findings = measure_study(spine.labels, [(k, None, 0.0, False) for k in range(1, 6)], crop)
    assert findings[4].acuity is Acuity.INDETERMINATE
    assert "field of view" in findings[4].reasons[0]
    assert all(f.acuity is Acuity.NONE for f in findings[:4])


def test_bodies_input_forms_and_errors() -> None:
    spine = make_spine([BodyShape(25, 25, 25)] * 3, seed=13)
    with pytest.raises(InputError, match="repeat"):
        measure_study(spine.labels, [(1, None, 0.0, False), (1, None, 0.0, False)], None)
    with pytest.raises(InputError, match="level_confidence"):
        BodyInput(1, None, 2.0)
    assert BodyInput.of((2, "l2", 0.5, False)).level is VertebraLevel.L2
    with pytest.raises(InputError, match="3-D"):
        measure_study(sitk.Image([4, 4], sitk.sitkUInt8), [], None)


def test_shipped_file_equals_the_defaults() -> None:
    loaded = Thresholds.load()
    assert loaded.morphometry == MorphometryThresholds()
    assert loaded.edema == EdemaThresholds()
    data = yaml.safe_load(default_thresholds_path().read_text())
    for section, kind in (("morphometry", MorphometryThresholds), ("edema", EdemaThresholds)):
        assert set(data[section]) == {f.name for f in fields(kind)}


def test_bad_thresholds_are_named(tmp_path: Path) -> None:
    p = tmp_path / "t.yaml"
    p.write_text("version: 1\nmorphometry:\n  grade2_loss: 0.1\n")
    with pytest.raises(ConfigError, match="grade1_loss < grade2_loss"):
        Thresholds.load(p)
    p.write_text("version: 1\nedema:\n  min_fraction: lots\n")
    with pytest.raises(ConfigError, match="edema.min_fraction"):
        Thresholds.load(p)
    p.write_text("version: 1\nedema:\n  min_fractoin: 0.1\n")
    with pytest.raises(ConfigError, match="unknown key"):
        Thresholds.load(p)
    p.write_text("version: 2\n")
    with pytest.raises(ConfigError, match="version"):
        Thresholds.load(p)


def test_sample_study_truth(sample_dir: Path) -> None:
    from acuity.ingest import load_volume, scan_folder
    from acuity.select import select_series
    from acuity.sim.truth import Truth

    truth = Truth.read(sample_dir / "TRUTH.json")
    scan = scan_folder(sample_dir)
    st = scan.studies[0]
    selection = select_series(st)
    vols = {}
    for role, chosen in selection.chosen().items():
        series = next(s for s in st.series if s.series_instance_uid == chosen.series_instance_uid)
        vols[role] = load_volume(chosen, series).image
    labels = sitk.ReadImage(str(sample_dir / "TRUTH_labels.nii.gz"))
    bodies = [(lv.label, lv.name, 1.0, lv.partial) for lv in truth.levels]
    findings = measure_study(labels, bodies, vols["edema"], t1=vols.get("t1"))
    got = {f.level.value: f for f in findings if f.level is not None}
    assert got["L1"].acuity is Acuity.ACUTE
    assert got["L3"].acuity is Acuity.CHRONIC
    for lv in truth.levels:
        f = got[lv.name]
        if lv.partial:
            assert f.acuity is Acuity.INDETERMINATE
        elif lv.name not in ("L1", "L3"):
            assert f.acuity is Acuity.NONE, (lv.name, f.reasons)
    for les in truth.lesions:
        m = got[les.level].morphometry
        assert m is not None
        assert m.deformity is DeformityType(les.deformity)
        assert m.genant_grade is GenantGrade(les.genant_grade)
        assert abs(m.height_loss_pct - les.height_loss_pct) <= 3.0
        for key, value in les.heights_mm.items():
            assert abs(getattr(m, f"{key}_mm") - value) <= 1.0
    l1 = got["L1"].edema
    assert l1 is not None and l1.pattern is EdemaPattern.BAND and l1.t1_ratio is not None
    assert l1.t1_ratio < 0.9
    assert np.isfinite(got["L2"].morphometry.expected_height_mm)  # type: ignore[union-attr,arg-type]
