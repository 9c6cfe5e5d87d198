"""JSON-able summaries of ingestion results (no patient name, ID or birth date)."""

from __future__ import annotations

from typing import Any

from acuity.ingest.model import ScanResult, Series, SeriesStack, Study


def stack_summary(stack: SeriesStack) -> dict[str, Any]:
    geo = stack.geometry
    return {
        "stack_id": stack.stack_id,
        "slices": stack.n_slices,
        "plane": geo.plane.value if geo else None,
        "size": list(geo.size) if geo else None,
        "spacing_mm": [round(v, 4) for v in geo.spacing] if geo else None,
        "origin_mm": [round(v, 4) for v in geo.origin] if geo else None,
        "direction": [round(v, 6) for v in geo.direction] if geo else None,
        "usable": stack.usable,
        "unusable_reason": stack.unusable_reason,
        "issues": [{"kind": i.kind.value, "message": i.message} for i in stack.issues],
    }


def series_summary(series: Series) -> dict[str, Any]:
    return {
        "series_instance_uid": series.series_instance_uid,
        "series_number": series.series_number,
        "description": series.description,
        "modality": series.modality,
        "enhanced": series.enhanced,
        "acquired": series.acquired,
        "problems": list(series.problems),
        "stacks": [stack_summary(st) for st in series.stacks],
    }


def study_summary(study: Study) -> dict[str, Any]:
    return {
        "study_instance_uid": study.study_instance_uid,
        "study_date": study.study_date,
        "description": study.description,
        "series": [series_summary(s) for s in study.series],
    }


def scan_summary(scan: ScanResult) -> dict[str, Any]:
    return {
        "root": str(scan.root),
        "files": scan.n_files,
        "studies": [study_summary(st) for st in scan.studies],
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in scan.skipped],
    }
