"""Outputs of an analysis: report.json (the persisted result) and its renderings.

* :func:`build_report` / :func:`write_analysis`: report.json (validated against the shipped
  JSON Schema, :data:`SCHEMA_VERSION`) + ``labels.nii.gz`` (+ ``edema_ratio.nii.gz``);
* :func:`render_outputs`: from those and the source DICOM, ``report.html``, ``summary.csv``,
  ``seg.dcm`` (DICOM SEG), ``sr.dcm`` (Comprehensive 3D SR, TID 1500) and ``key_image.dcm``
  (Secondary Capture), each written atomically.

Names are imported on first use, so that ``acuity.report.levels`` stays light. See
docs/report.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acuity.report.document import (
        LIMITATIONS,
        MapInfo,
        ModelInfo,
        build_report,
        file_sha256,
        patient_section,
        with_candidacy,
    )
    from acuity.report.files import read_report, write_analysis
    from acuity.report.render import RenderError, RenderResult, render_outputs, render_report
    from acuity.report.schema import SCHEMA_VERSION, load_schema, report_problems, validate_report

__all__ = [
    "LIMITATIONS",
    "SCHEMA_VERSION",
    "MapInfo",
    "ModelInfo",
    "RenderError",
    "RenderResult",
    "build_report",
    "file_sha256",
    "load_schema",
    "patient_section",
    "read_report",
    "render_outputs",
    "render_report",
    "report_problems",
    "validate_report",
    "with_candidacy",
    "write_analysis",
]

_MODULES = {
    "document": (
        "LIMITATIONS",
        "MapInfo",
        "ModelInfo",
        "build_report",
        "file_sha256",
        "patient_section",
        "with_candidacy",
    ),
    "files": ("read_report", "write_analysis"),
    "render": ("RenderError", "RenderResult", "render_outputs", "render_report"),
    "schema": ("SCHEMA_VERSION", "load_schema", "report_problems", "validate_report"),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'acuity.report' has no attribute {name!r}")
    return getattr(importlib.import_module(f"acuity.report.{module}"), name)
