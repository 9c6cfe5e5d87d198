"""The whole analysis of a study folder, stage by stage: ingest -> select -> (segment ->
measure -> acuity -> candidacy, as those stages land) -> report.

This is the function behind ``acuity analyze``; research scripts call it directly.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acuity import __version__
from acuity.errors import InputError
from acuity.ingest import load_volume, scan_folder
from acuity.ingest.model import ScanResult, Study
from acuity.io import write_json
from acuity.report.summary import series_summary

logger = logging.getLogger(__name__)

#: Version of report.json's layout; bumped on any incompatible change.
SCHEMA_VERSION = "0.1.0"

#: Stages of the product that this version does not run yet (reported, never faked).
PENDING_STAGES = ("segment", "measure", "acuity", "candidacy")


@dataclass(frozen=True)
class AnalysisOptions:
    """User choices for one analysis (all optional)."""

    #: Series to use for edema / T1 / T2 instead of the automatic choice: a
    #: SeriesInstanceUID, a stack id or a series number.
    edema_series: str | None = None
    t1_series: str | None = None
    t2_series: str | None = None
    #: A series-selection rules file replacing the shipped ``pipelines/series_rules.yaml``.
    rules_file: Path | None = None
    #: Analyse only this StudyInstanceUID when the folder holds several studies.
    study: str | None = None


def safe_uid(uid: str) -> str:
    """A UID made safe to use as a file or folder name (digits and dots only)."""
    cleaned = re.sub(r"[^0-9.]", "_", uid.strip())[:64].strip("._")
    return cleaned or "unknown"


def analyze_folder(
    root: str | Path,
    out_dir: str | Path,
    options: AnalysisOptions | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Analyse every study under ``root``; returns the report.json path of each.

    One study writes ``OUT/report.json``; several write ``OUT/<StudyInstanceUID>/report.json``.
    """
    options = options or AnalysisOptions()
    out = Path(out_dir)
    started = time.monotonic()
    scan = scan_folder(root, progress=progress)
    studies = scan.studies
    if options.study is not None:
        studies = [s for s in studies if s.study_instance_uid == options.study]
        if not studies:
            known = ", ".join(s.study_instance_uid for s in scan.studies) or "none"
            raise InputError(f"--study {options.study!r} is not in {root}; studies found: {known}")
    if not studies:
        reasons = "; ".join(f"{s.path.name}: {s.reason}" for s in scan.skipped[:5])
        raise InputError(
            f"no DICOM image study found under {root} ({scan.n_files} files"
            + (f"; e.g. {reasons}" if reasons else "")
            + ")"
        )
    reports = []
    for study in studies:
        target = out if len(studies) == 1 else out / safe_uid(study.study_instance_uid)
        report = analyze_study(study, scan, options)
        report["processing_seconds"] = round(time.monotonic() - started, 3)
        path = target / "report.json"
        write_json(path, report)
        logger.info("wrote %s", path)
        reports.append(path)
    return reports


def analyze_study(study: Study, scan: ScanResult, options: AnalysisOptions) -> dict[str, Any]:
    """The report of one study (a JSON-able dict)."""
    from acuity.select import load_rules, select_series

    rules = load_rules(options.rules_file) if options.rules_file else None
    selection = select_series(
        study,
        edema_series=options.edema_series,
        t1_series=options.t1_series,
        t2_series=options.t2_series,
        rules=rules,
    )
    warnings: list[str] = []
    volumes: dict[str, Any] = {}
    for role, chosen in selection.chosen().items():
        series = next(s for s in study.series if s.series_instance_uid == chosen.series_instance_uid)
        volume = load_volume(chosen, series)
        img = volume.image
        volumes[role] = {
            "stack_id": chosen.stack_id,
            "size": list(img.GetSize()),
            "spacing_mm": [round(v, 4) for v in img.GetSpacing()],
        }
    if selection.edema is None:
        warnings.append(
            f"no usable edema series ({selection.no_edema_reason}); acuity will be indeterminate"
        )
    for s in study.series:
        warnings.extend(f"series {s.series_number}: {p}" for p in s.problems)
    warnings.extend(
        f"pending stage not yet in this version of acuity: {stage}" for stage in PENDING_STAGES
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "software": {"name": "acuity", "version": __version__},
        "study_instance_uid": study.study_instance_uid,
        "study_date": study.study_date,
        "input": {
            "root": str(scan.root),
            "files": scan.n_files,
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in scan.skipped],
        },
        "series": [series_summary(s) for s in study.series],
        "selection": selection.to_dict(),
        "volumes": volumes,
        "levels": [],
        "stages_pending": list(PENDING_STAGES),
        "warnings": warnings,
    }
