"""Test helpers: a storage / verification SCU and small datasets, over real associations."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import Verification

#: Basic Text SR Storage: a non-image object (no pixel data).
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"


def sample_files(sample_dir: Path) -> list[Path]:
    return sorted(p for p in sample_dir.glob("SE*/*") if p.is_file())


def c_store(port: int, datasets: Sequence[Dataset], *, calling: str = "MODALITY") -> list[int]:
    """C-STORE the datasets over one association; their statuses (-1: no answer)."""
    ae = AE(ae_title=calling)
    contexts: dict[str, set[str]] = {}
    for ds in datasets:
        contexts.setdefault(str(ds.SOPClassUID), set()).add(str(ds.file_meta.TransferSyntaxUID))
    for sop_class, syntaxes in contexts.items():
        for syntax in sorted(syntaxes | {ExplicitVRLittleEndian}):
            ae.add_requested_context(sop_class, syntax)
    assoc = ae.associate("127.0.0.1", port, ae_title="ACUITY")
    assert assoc.is_established, "association not established"
    try:
        statuses = []
        for ds in datasets:
            status = assoc.send_c_store(ds)
            statuses.append(int(status.Status) if status else -1)
        return statuses
    finally:
        assoc.release()


def c_echo(port: int, *, calling: str = "MODALITY") -> Any:
    """The association (released) and the C-ECHO status, or the association when refused."""
    ae = AE(ae_title=calling)
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port, ae_title="ACUITY")
    if not assoc.is_established:
        return assoc, None
    status = assoc.send_c_echo()
    assoc.release()
    return assoc, int(status.Status) if status else -1


def text_sr(study_uid: str | None = None, *, sop_uid: str | None = None) -> Dataset:
    """A tiny Basic Text SR instance (nothing acuity can analyse)."""
    ds = Dataset()
    ds.SOPClassUID = BASIC_TEXT_SR
    ds.SOPInstanceUID = sop_uid or generate_uid()
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "SR"
    ds.PatientName = "TEST^NONIMAGE"
    ds.PatientID = "NONIMAGE-1"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def read_all(paths: Sequence[Path]) -> list[Dataset]:
    return [pydicom.dcmread(p) for p in paths]
