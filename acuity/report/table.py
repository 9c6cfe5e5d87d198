"""summary.csv: one row per level, for research scripts (one file per run).

Columns (:data:`SUMMARY_COLUMNS`) are stable within a schema major version; empty cells are
values not measured. Booleans are ``true``/``false``; reasons are joined with `` | ``.
No patient name, ID or birth date.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

SUMMARY_COLUMNS: tuple[str, ...] = (
    "study_instance_uid",
    "study_date",
    "label",
    "level",
    "level_confidence",
    "partial",
    "anterior_mm",
    "middle_mm",
    "posterior_mm",
    "width_mm",
    "expected_height_mm",
    "height_loss_pct",
    "genant_grade",
    "fractured",
    "deformity",
    "vertebra_plana",
    "posterior_wall",
    "posterior_displacement_mm",
    "edema_ratio",
    "edema_fraction",
    "edema_pattern",
    "t1_ratio",
    "acuity",
    "candidacy",
    "profile",
    "acuity_reasons",
    "candidacy_reasons",
    "edema_series",
    "software_version",
    "schema_version",
)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return " | ".join(str(x) for x in v)
    return str(v)


def summary_rows(report: Mapping[str, Any]) -> list[dict[str, str]]:
    """The rows of summary.csv (column -> text)."""
    profile = (report.get("profile") or {}).get("name")
    edema = (report.get("selection") or {}).get("edema")
    rows = []
    for lv in report["levels"]:
        heights = lv.get("heights") or {}
        grade = lv.get("genant_grade")
        values: dict[str, Any] = {
            "study_instance_uid": report["study_instance_uid"],
            "study_date": report.get("study_date"),
            "fractured": None if grade is None else grade >= 1,
            "profile": profile,
            "edema_series": edema,
            "software_version": report["software"]["version"],
            "schema_version": report["schema_version"],
            **{k: heights.get(k) for k in ("anterior_mm", "middle_mm", "posterior_mm", "width_mm")},
        }
        for k in SUMMARY_COLUMNS:
            if k not in values:
                values[k] = lv.get(k)
        rows.append({k: _cell(values[k]) for k in SUMMARY_COLUMNS})
    return rows


def render_csv(report: Mapping[str, Any]) -> str:
    """summary.csv as text (header row, then one row per level)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(SUMMARY_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(summary_rows(report))
    return buf.getvalue()
