"""Fixtures of the selection tests: the vendor protocol matrix written as real DICOM, and
the real header corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.headers import headers_path, load_records
from protocols import PROTOCOLS

from acuity.ingest import Series, scan_folder
from acuity.sim import StudySpec, write_series


@pytest.fixture(scope="session")
def protocol_series(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Series]:
    """Every protocol of :data:`protocols.PROTOCOLS` written as one series of one study and
    scanned back: protocol id -> its :class:`~acuity.ingest.Series`."""
    root = tmp_path_factory.mktemp("protocols")
    study = StudySpec(accession_number="PROTOCOLS")
    for number, p in enumerate(PROTOCOLS, start=1):
        write_series(study, p.spec(number), root / p.id)
    scan = scan_folder(root)
    assert len(scan.studies) == 1, scan.skipped
    by_number = {s.series_number: s for s in scan.studies[0].series}
    return {p.id: by_number[number] for number, p in enumerate(PROTOCOLS, start=1)}


@pytest.fixture(scope="session")
def header_records(shared_root: Path) -> list[dict[str, Any]]:
    """The real header corpus (``shared/dicom_headers/headers.jsonl``)."""
    path = headers_path(shared_root)
    if not path.is_file():
        pytest.skip(f"header corpus not found at {path}")
    return load_records(path)
