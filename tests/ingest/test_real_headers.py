"""Ingestion of the 196 real vendor headers of ``shared/dicom_headers`` never crashes.

Each header record is rebuilt into a DICOM file with 8 x 8 dummy pixels
(``helpers.headers.write_record``: geometry, Enhanced functional groups, private tags and
Siemens CSA headers kept). :func:`acuity.ingest.scan_folder` must index the folder without
raising (skipping a file or flagging a stack is fine), and :func:`acuity.ingest.load_volume`
must load every stack it calls usable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.headers import headers_path, load_records, write_records

from acuity.ingest import ScanResult, load_volume, scan_folder


@pytest.fixture(scope="module")
def records(shared_root: Path) -> list[dict[str, Any]]:
    path = headers_path(shared_root)
    if not path.is_file():
        pytest.skip(f"header corpus not found at {path}")
    return load_records(path)


@pytest.fixture(scope="module")
def scan(records: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    folder = tmp_path_factory.mktemp("real_header_files")
    paths = list(write_records(records, folder))
    assert len(paths) == len(records) == 196
    return scan_folder(folder)


def test_scan_indexes_every_file_without_raising(
    scan: ScanResult, records: list[dict[str, Any]]
) -> None:
    assert scan.n_files == len(records)
    # Every file is either in a series (each record is its own series) or skipped with a reason.
    n_series = sum(len(study.series) for study in scan.studies)
    assert n_series + len(scan.skipped) == len(records)
    assert all(s.reason for s in scan.skipped)
    # Only non-images (Raw Data Storage, ...) may be skipped.
    assert len(scan.skipped) <= 5


def test_usable_stacks_load(scan: ScanResult) -> None:
    loaded = 0
    for study in scan.studies:
        for series in study.series:
            for stack in series.stacks:
                if not stack.usable:
                    assert stack.unusable_reason or stack.geometry is None
                    continue
                volume = load_volume(stack, series)
                assert volume.image.GetSize()[2] == stack.n_slices
                loaded += 1
    assert loaded >= 150, f"only {loaded} usable stacks among the rebuilt headers"
