"""Every vendor protocol of the matrix, written as real DICOM and scanned back, gets its class."""

from __future__ import annotations

import pytest
from protocols import PROTOCOLS, Protocol

from acuity.ingest import Series
from acuity.select import classify_stack


@pytest.mark.parametrize("p", PROTOCOLS, ids=[p.id for p in PROTOCOLS])
def test_protocol_is_classified(p: Protocol, protocol_series: dict[str, Series]) -> None:
    series = protocol_series[p.id]
    assert len(series.stacks) == 1
    c = classify_stack(series.stacks[0], series)
    explain = "\n".join(str(e) for e in c.evidence)
    assert c.contrast == p.contrast, f"{c.summary()}\n{explain}"
    assert c.fat_suppression == p.fat, f"{c.summary()}\n{explain}"
    assert c.derived is p.derived, f"{c.summary()}\n{explain}"
    assert c.plane == p.plane
    assert 0.0 < c.confidence <= 1.0
    assert c.evidence, "a classification must carry its evidence"


def test_matrix_covers_vendors_field_strengths_and_formats() -> None:
    vendors = {str(p.header["Manufacturer"]).split()[0].upper() for p in PROTOCOLS}
    assert {"SIEMENS", "GE", "PHILIPS", "TOSHIBA", "CANON_MEC", "HITACHI"} <= vendors
    assert {p.header["MagneticFieldStrength"] for p in PROTOCOLS} >= {0.3, 1.5, 3.0}
    assert any(p.enhanced for p in PROTOCOLS) and any(not p.enhanced for p in PROTOCOLS)
    classes = {p.contrast.value for p in PROTOCOLS}
    assert {
        "stir",
        "t2_fs",
        "t2",
        "t1",
        "dixon_water",
        "dixon_fat",
        "dixon_in_phase",
        "dixon_opposed_phase",
        "localizer",
        "dwi",
        "flair",
    } <= classes
    assert any(p.derived for p in PROTOCOLS)
