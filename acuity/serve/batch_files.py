"""The batch's own files in OUT: ``errors.csv``, ``summary.csv`` and ``batch.json``.

``errors.csv`` lists the studies that failed in this run, ``summary.csv`` the per-level rows of
every study whose output is complete and up to date, ``batch.json`` the run's counts, timings and
per-study status. Each is rewritten atomically.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from acuity import __version__
from acuity.errors import InputError
from acuity.io import write_atomic, write_json
from acuity.serve.batch_model import (
    BATCH_JSON,
    ERRORS_CSV,
    SUMMARY_CSV,
    BatchPlan,
    BatchResult,
    JobResult,
    JobStatus,
)
from acuity.serve.fingerprint import read_job_record

logger = logging.getLogger(__name__)

#: Columns of ``OUT/errors.csv``.
ERROR_COLUMNS = ("study_instance_uid", "folder", "output", "stage", "error", "message")
#: Columns put before the per-level columns of the studies' summary.csv in ``OUT/summary.csv``.
STUDY_COLUMNS = ("output", "folder")


def _csv_text(columns: Iterable[str], rows: Iterable[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_errors_csv(out: Path, results: Iterable[JobResult]) -> Path:
    """``OUT/errors.csv``: one row per failed study of this run (atomic rewrite)."""
    rows = [
        {
            "study_instance_uid": r.study_instance_uid,
            "folder": r.folder,
            "output": r.output,
            "stage": r.stage,
            "error": r.error,
            "message": r.message,
        }
        for r in results
        if r.status is JobStatus.FAILED
    ]
    path = out / ERRORS_CSV
    write_atomic(path, _csv_text(ERROR_COLUMNS, rows))
    return path


def _study_rows(study_out: Path) -> list[dict[str, str]]:
    """The per-level rows of a complete study: its summary.csv, else from its report.json."""
    per_study = study_out / SUMMARY_CSV
    if per_study.is_file():
        with open(per_study, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    from acuity.report.files import REPORT_JSON, read_report
    from acuity.report.table import summary_rows

    return summary_rows(read_report(study_out / REPORT_JSON))


def write_summary_csv(plan: BatchPlan) -> Path:
    """``OUT/summary.csv``: the per-level rows of every study whose output is complete and up
    to date, each prefixed with its output folder and source folder (atomic rewrite)."""
    from acuity.report.table import SUMMARY_COLUMNS

    columns = list(STUDY_COLUMNS) + list(SUMMARY_COLUMNS)
    entries = [(j.out_dir, j.fingerprint, j.folder) for j in plan.jobs]
    fingerprints = {e[0].name: e for e in entries}
    rows: list[dict[str, str]] = []
    names = sorted([j.out_dir.name for j in plan.jobs] + [s.output for s in plan.skipped])
    skipped = {s.output: s for s in plan.skipped}
    for name in names:
        study_out = plan.out / name
        rec = read_job_record(study_out)
        if rec is None or rec.get("status") != "ok":
            continue
        if name in fingerprints and rec.get("fingerprint") != fingerprints[name][1]:
            continue  # an older output of a study that failed or was interrupted this time
        folder = fingerprints[name][2] if name in fingerprints else skipped[name].folder
        try:
            study_rows = _study_rows(study_out)
        except (OSError, ValueError, KeyError, InputError) as exc:
            logger.warning("%s: summary rows not read: %s", name, exc)
            continue
        for row in study_rows:
            rows.append({"output": name, "folder": folder, **{k: row.get(k, "") for k in SUMMARY_COLUMNS}})
    path = plan.out / SUMMARY_CSV
    write_atomic(path, _csv_text(columns, rows))
    return path


def write_batch_json(plan: BatchPlan, result: BatchResult, runner: str, started: datetime) -> None:
    write_json(
        plan.out / BATCH_JSON,
        {
            "acuity_version": __version__,
            "root": str(plan.root),
            "runner": runner,
            "started": started.isoformat(timespec="seconds"),
            "seconds": round(result.seconds, 3),
            "interrupted": result.interrupted,
            "studies": plan.n_studies,
            "counts": {s.value: result.count(s) for s in JobStatus},
            "ignored_files": plan.ignored_files,
            "jobs": [
                {
                    "study_instance_uid": r.study_instance_uid,
                    "output": r.output,
                    "status": r.status.value,
                    "seconds": r.seconds,
                }
                for r in result.results
            ],
        },
    )
