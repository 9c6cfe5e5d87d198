"""The records of ``acuity batch``: the studies to run, what became of each, the batch's files.

:class:`StudyJob` is what a worker (a local process or a dask worker) is sent; :class:`JobResult`
is what it sends back. :class:`BatchPlan` is made by :func:`acuity.serve.batch.plan_batch`,
:class:`BatchResult` by :func:`acuity.serve.batch.run_batch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from acuity.ingest.model import Study
from acuity.pipeline import AnalysisOptions

#: Per-study record written inside the study's output folder, with the outputs.
JOB_JSON = "job.json"
ERRORS_CSV = "errors.csv"
SUMMARY_CSV = "summary.csv"
BATCH_JSON = "batch.json"


class JobStatus(str, Enum):
    """What became of one study in a batch run."""

    OK = "ok"
    FAILED = "failed"
    #: Up to date from an earlier run (same fingerprint, status ok): not redone.
    SKIPPED = "skipped"
    #: Stopped by Ctrl-C; its previous output (if any) is left as it was.
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class StudyJob:
    """One study to analyse into ``out_dir`` (picklable: sent to worker processes)."""

    study: Study
    root: Path
    out_dir: Path
    options: AnalysisOptions
    fingerprint: str
    #: Folder holding the study's files, relative to the root ("." for the root itself).
    folder: str
    n_files: int

    @property
    def uid(self) -> str:
        return self.study.study_instance_uid


@dataclass(frozen=True)
class JobResult:
    """The small record a job sends back (never an exception)."""

    study_instance_uid: str
    output: str
    folder: str
    status: JobStatus
    seconds: float = 0.0
    #: Where it failed ("select", "load", "segment", "measure", "candidacy", "report",
    #: "write", "render", "worker") and the exception's type and message.
    stage: str = ""
    error: str = ""
    message: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", JobStatus(self.status))


@dataclass
class BatchPlan:
    """The studies of a batch: those to run and those already up to date."""

    root: Path
    out: Path
    options: AnalysisOptions
    jobs: list[StudyJob]
    skipped: list[JobResult]
    #: Files under the root that are not DICOM images of a study (not an error).
    ignored_files: int = 0

    @property
    def n_studies(self) -> int:
        return len(self.jobs) + len(self.skipped)


@dataclass
class BatchResult:
    """What a batch run did; the same counts are in ``OUT/batch.json``."""

    out: Path
    results: list[JobResult]
    seconds: float = 0.0
    interrupted: bool = False

    def count(self, status: JobStatus | str) -> int:
        s = JobStatus(status)
        return sum(1 for r in self.results if r.status is s)

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.results if r.status is JobStatus.FAILED]

    @property
    def errors_csv(self) -> Path:
        return self.out / ERRORS_CSV

    @property
    def summary_csv(self) -> Path:
        return self.out / SUMMARY_CSV
