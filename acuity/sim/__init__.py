"""Synthetic data for tests and the bundled sample study.

:mod:`acuity.sim.dicom_writer` writes real DICOM series (classic or Enhanced MR, any of
several transfer syntaxes) from a numpy volume and its LPS geometry.
"""

from acuity.sim.dicom_writer import (
    AXIAL_DIRECTION,
    CORONAL_DIRECTION,
    SAGITTAL_DIRECTION,
    SUPPORTED_TRANSFER_SYNTAXES,
    FileNaming,
    PrivateTag,
    SeriesSpec,
    StudySpec,
    make_uid,
    write_series,
)

__all__ = [
    "AXIAL_DIRECTION",
    "CORONAL_DIRECTION",
    "SAGITTAL_DIRECTION",
    "SUPPORTED_TRANSFER_SYNTAXES",
    "FileNaming",
    "PrivateTag",
    "SeriesSpec",
    "StudySpec",
    "make_uid",
    "write_series",
]
