"""DICOM study ingestion: index a folder (headers only), then rebuild stacks into volumes.

>>> scan = scan_folder("study/")                       # doctest: +SKIP
>>> study, series, stack = find_series(scan, "3")      # doctest: +SKIP
>>> volume = load_volume(stack, series)                # doctest: +SKIP
"""

from acuity.ingest.enum import Plane, StackProblem
from acuity.ingest.lookup import find_series
from acuity.ingest.model import (
    Frame,
    ScanResult,
    Series,
    SeriesStack,
    SkippedFile,
    StackGeometry,
    StackIssue,
    Study,
    Volume,
)
from acuity.ingest.scan import scan_folder
from acuity.ingest.volume import load_volume

__all__ = [
    "Frame",
    "Plane",
    "ScanResult",
    "Series",
    "SeriesStack",
    "SkippedFile",
    "StackGeometry",
    "StackIssue",
    "StackProblem",
    "Study",
    "Volume",
    "find_series",
    "load_volume",
    "scan_folder",
]
