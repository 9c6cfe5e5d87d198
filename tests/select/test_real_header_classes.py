"""Classification of the real vendor headers of ``shared/dicom_headers/headers.jsonl``.

Each record is rebuilt into a DICOM file (``helpers.headers.write_record``), read back with
pydicom and classified; the class is compared with the record's label on the corpus label
set (t1_fs->t1, pd_fs->pd, flair and classes the corpus lacks->other). Only
``authenticity == "scanner"`` records count (the others have stripped or synthetic headers).

The confusion table in docs/series_selection.md comes from::

    .venv/bin/python -m pytest tests/select/test_real_header_classes.py -q -s -k confusion
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pydicom
import pytest
from helpers.headers import LABEL_SET, record_id, record_to_dataset, to_label_set, write_record

from acuity.select import SeriesClassification, classify_header

MIN_ACCURACY = 0.98


@pytest.fixture(scope="module")
def classified(
    header_records: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> list[tuple[dict[str, Any], SeriesClassification]]:
    folder = tmp_path_factory.mktemp("real_headers")
    out = []
    for i, record in enumerate(header_records):
        path = write_record(record, folder / f"{i:03d}.dcm")
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        out.append((record, classify_header(ds)))
    return out


def _scanner(
    classified: list[tuple[dict[str, Any], SeriesClassification]],
) -> list[tuple[str, str, str]]:
    return [
        (record["label"], to_label_set(c.contrast.value), record_id(i, record))
        for i, (record, c) in enumerate(classified)
        if record["authenticity"] == "scanner"
    ]


def confusion_markdown(rows: list[tuple[str, str, str]]) -> str:
    """Labels (rows) x predicted classes (columns) as a Markdown table."""
    counts = Counter((label, got) for label, got, _ in rows)
    labels = [x for x in LABEL_SET if any(k[0] == x or k[1] == x for k in counts)]
    lines = [
        "| label \\ predicted | " + " | ".join(labels) + " | total |",
        "|---" * (len(labels) + 2) + "|",
    ]
    for label in labels:
        n = sum(counts[(label, g)] for g in labels)
        if n == 0:
            continue
        cells = [str(counts[(label, g)]) if counts[(label, g)] else "." for g in labels]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {n} |")
    correct = sum(1 for label, got, _ in rows if label == got)
    lines.append("")
    lines.append(f"{correct}/{len(rows)} correct ({100.0 * correct / len(rows):.1f} %)")
    for label, got, rid in rows:
        if label != got:
            lines.append(f"- {rid}: labelled {label}, classified {got}")
    return "\n".join(lines)


def test_scanner_headers_get_their_label(
    classified: list[tuple[dict[str, Any], SeriesClassification]],
) -> None:
    rows = _scanner(classified)
    assert len(rows) >= 150, "the corpus should hold ~175 scanner headers"
    correct = sum(1 for label, got, _ in rows if label == got)
    accuracy = correct / len(rows)
    assert accuracy >= MIN_ACCURACY, confusion_markdown(rows)


def test_no_scanner_header_is_wrongly_called_stir_or_t2_fs(
    classified: list[tuple[dict[str, Any], SeriesClassification]],
) -> None:
    wrong = [
        (rid, label, got)
        for label, got, rid in _scanner(classified)
        if got in ("stir", "t2_fs") and got != label
    ]
    assert wrong == []


def test_confusion_table(classified: list[tuple[dict[str, Any], SeriesClassification]]) -> None:
    rows = _scanner(classified)
    table = confusion_markdown(rows)
    print("\n" + table)
    assert table.count("\n") >= 3
    # The one labelled STIR of the corpus (Philips, 1.0 T, TI 140 ms) is found.
    assert any(label == got == "stir" for label, got, _ in rows)


def test_file_and_dataset_agree(
    header_records: list[dict[str, Any]],
    classified: list[tuple[dict[str, Any], SeriesClassification]],
) -> None:
    """The in-memory rebuild and the written file carry the same evidence."""
    for record, from_file in classified[:60]:
        from_memory = classify_header(record_to_dataset(record))
        assert from_memory.contrast == from_file.contrast, record_id(0, record)
        assert from_memory.fat_suppression == from_file.fat_suppression, record_id(0, record)


def test_every_classification_explains_itself(
    classified: list[tuple[dict[str, Any], SeriesClassification]],
) -> None:
    for record, c in classified:
        d = c.to_dict()
        assert d["contrast"] == c.contrast.value
        assert all(0.0 <= x["confidence"] <= 1.0 for x in d["decisions"])
        if c.contrast.value in ("stir", "t2_fs", "t1", "t2", "dwi", "localizer"):
            assert c.evidence, f"{record_id(0, record)}: {c.summary()} without evidence"


def test_helper_rebuilds_private_and_enhanced_tags(
    header_records: list[dict[str, Any]], tmp_path: Path
) -> None:
    philips = next(r for r in header_records if (r.get("private") or {}).get("2001,1021"))
    ds = record_to_dataset(philips)
    block = ds.private_block(0x2001, "Philips Imaging DD 001")
    assert block[0x21].value == philips["private"]["2001,1021"]["value"]
    enhanced = next(r for r in header_records if r.get("enh_fg", {}).get("InversionTimes"))
    path = write_record(enhanced, tmp_path / "enh.dcm")
    read = pydicom.dcmread(path)
    modifier = read.SharedFunctionalGroupsSequence[0].MRModifierSequence[0]
    assert float(modifier.InversionTimes) == pytest.approx(enhanced["enh_fg"]["InversionTimes"])
    assert read.pixel_array.shape == (8, 8)
    siemens = next(
        r
        for r in header_records
        if (r.get("siemens") or {}).get("sPrepPulses.ucFatSat") and not r["is_enhanced_multiframe"]
    )
    c = classify_header(record_to_dataset(siemens))
    assert c.facts.get("siemens_fat_sat") is not None
