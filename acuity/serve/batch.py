"""``acuity batch``: every study under a folder, in parallel, resumable, one failure isolated.

* :func:`plan_batch` scans ROOT once (a study is a StudyInstanceUID: its files may be spread
  over folders or share a folder with other studies) and decides, per study, whether its
  output ``OUT/<StudyInstanceUID>/`` is up to date (its ``job.json`` says ``ok`` with the same
  fingerprint) or must be (re)done.
* :func:`run_study` is the job run by a worker (a local process or a dask worker): one study
  into its output folder, all or nothing (:func:`acuity.serve.job.staged_dir`). It never
  raises across the process boundary: a failure comes back as a :class:`JobResult`.
* :func:`run_batch` runs the plan in a process pool (or on a dask.distributed cluster, see
  :mod:`acuity.serve.cluster`) and writes ``OUT/errors.csv``, ``OUT/summary.csv`` and
  ``OUT/batch.json``.

The fingerprint of a study hashes its files (path, size, mtime_ns), its clinical row, and the
settings that change results: the analysis options, the acuity version, the segmentation
model files, the shipped ``pipelines/`` YAML files, a rules file and the loaded profile.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from acuity import __version__
from acuity.errors import InputError
from acuity.ingest.model import ScanResult, Study
from acuity.io import write_atomic, write_json
from acuity.pipeline import AnalysisOptions, safe_uid
from acuity.serve.job import staged_dir

logger = logging.getLogger(__name__)

#: Per-study record written inside the study's output folder, with the outputs.
JOB_JSON = "job.json"
ERRORS_CSV = "errors.csv"
SUMMARY_CSV = "summary.csv"
BATCH_JSON = "batch.json"

#: Columns of ``OUT/errors.csv``.
ERROR_COLUMNS = ("study_instance_uid", "folder", "output", "stage", "error", "message")
#: Columns put before the per-level columns of the studies' summary.csv in ``OUT/summary.csv``.
STUDY_COLUMNS = ("output", "folder")

#: Environment variable: when set to a StudyInstanceUID, that study's job raises
#: KeyboardInterrupt after its staging folder is made (used by the Ctrl-C tests).
INTERRUPT_ENV = "ACUITY_BATCH_TEST_INTERRUPT"


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


# --- fingerprints ---------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def settings_fingerprint(options: AnalysisOptions) -> str:
    """Hash of everything besides the study's own files and clinical row that changes results.

    Reads the segmentation model files, the shipped ``pipelines/`` YAML files, the rules
    file, the profile (loaded: a bad profile raises here, before any study runs) and the
    profile folders.
    """
    from acuity.clinical import check_candidacy_inputs
    from acuity.config import pipeline_file
    from acuity.segment.network import DEFAULT_MODEL, models_dir

    profile = check_candidacy_inputs(None, options.profile, options.profile_dirs)
    parts: dict[str, Any] = {
        "acuity_version": __version__,
        "options": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in asdict(options).items()
            if k not in ("study", "clinical", "rules_file", "profile_dirs")
        },
        "profile": repr(profile),
    }
    if options.rules_file is not None:
        try:
            parts["rules_file"] = _sha256_file(options.rules_file)
        except OSError as exc:
            raise InputError(f"--rules {options.rules_file} cannot be read: {exc}") from exc
    pipelines = pipeline_file("acuity.yaml").parent
    parts["pipelines"] = {str(p.relative_to(pipelines)): _sha256_file(p) for p in _yaml_files(pipelines)}
    parts["profile_dirs"] = {
        str(p): _sha256_file(p) for d in options.profile_dirs for p in _yaml_files(Path(d))
    }
    models = models_dir()
    parts["model"] = {
        p.name: _sha256_file(p)
        for p in (models / f"{DEFAULT_MODEL}.pt", models / f"{DEFAULT_MODEL}.json")
        if p.is_file()
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def study_files(study: Study) -> list[Path]:
    """Every file holding a frame of the study, sorted, each once."""
    paths = {f.path for s in study.series for st in s.stacks for f in st.frames}
    return sorted(paths)


def study_fingerprint(study: Study, settings: str, clinical_row: str = "") -> str:
    """Hash of the settings fingerprint, the study's clinical row and its files' (path, size,
    modification time in ns): touching or replacing a file changes it."""
    h = hashlib.sha256()
    h.update(settings.encode("utf-8"))
    h.update(b"\0clinical\0" + clinical_row.encode("utf-8"))
    for path in study_files(study):
        try:
            st = path.stat()
            h.update(f"\0{path}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        except OSError:
            h.update(f"\0{path}\0missing".encode())
    return h.hexdigest()


def _clinical_rows(options: AnalysisOptions) -> Callable[[Study], str]:
    """A function giving the text of a study's clinical row (what its fingerprint hashes)."""
    if options.clinical is None:
        return lambda study: ""
    from acuity.clinical import StudyKeys
    from acuity.clinical.table import ClinicalTable

    if options.clinical.suffix.lower() != ".csv":
        raise InputError(
            f"--clinical-csv {options.clinical}: a batch needs a .csv file with one row per study, "
            "keyed by StudyInstanceUID, AccessionNumber or PatientID"
        )
    table = ClinicalTable.from_csv_file(options.clinical)

    def row_of(study: Study) -> str:
        keys = StudyKeys(
            study_instance_uid=study.study_instance_uid,
            accession_number=study.accession_number or None,
            patient_id=study.patient_id or None,
        )
        try:
            row = table.lookup(keys)
        except InputError as exc:
            return f"error: {exc}"
        return "none" if row is None else repr(row.clinical)

    return row_of


# --- planning -------------------------------------------------------------------------------


def _check_folders(root: Path, out: Path) -> None:
    if not root.is_dir():
        raise InputError(f"ROOT {root} is not a folder; give the folder holding the DICOM studies")
    r, o = root.resolve(), out.resolve()
    if o == r or o.is_relative_to(r):
        raise InputError(
            f"-o {out} is inside ROOT {root}: its DICOM outputs would be read as inputs on the "
            "next run; choose an output folder outside ROOT"
        )
    if out.exists() and not out.is_dir():
        raise InputError(f"-o {out} exists and is not a folder")


def _source_folder(study: Study, root: Path) -> str:
    parents = {p.parent for p in study_files(study)}
    if not parents:
        return "."
    common = Path(os.path.commonpath([str(p) for p in parents]))
    try:
        rel = common.resolve().relative_to(root.resolve())
    except ValueError:
        return str(common)
    return str(rel) if str(rel) else "."


def _output_names(studies: Iterable[Study]) -> dict[str, str]:
    """StudyInstanceUID -> output folder name (safe_uid; a hash suffix where two collide)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for study in studies:
        uid = study.study_instance_uid
        name = safe_uid(uid)
        if name in used:
            name = f"{name}-{hashlib.sha1(uid.encode()).hexdigest()[:8]}"
        used.add(name)
        names[uid] = name
    return names


def read_job_record(study_out: Path) -> dict[str, Any] | None:
    """The ``job.json`` of a study's output folder; None when absent or unreadable."""
    try:
        data = json.loads((study_out / JOB_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _up_to_date(study_out: Path, fingerprint: str) -> bool:
    rec = read_job_record(study_out)
    return rec is not None and rec.get("status") == "ok" and rec.get("fingerprint") == fingerprint


def plan_batch(
    root: str | Path,
    out: str | Path,
    options: AnalysisOptions | None = None,
    *,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BatchPlan:
    """Scan ``root`` once and split its studies into jobs to run and up-to-date ones.

    InputError when ``root`` is not a folder, ``out`` lies inside it, the root holds no
    study, or the clinical CSV / profile / rules file is bad (before any study runs).
    """
    from acuity.ingest import scan_folder

    options = options or AnalysisOptions()
    root_p, out_p = Path(root), Path(out)
    _check_folders(root_p, out_p)
    settings = settings_fingerprint(options)
    clinical_row = _clinical_rows(options)
    scan = scan_folder(root_p, progress=progress)
    if not scan.studies:
        reasons = "; ".join(f"{s.path.name}: {s.reason}" for s in scan.skipped[:5])
        raise InputError(
            f"no DICOM image study found under {root_p} ({scan.n_files} files"
            + (f"; e.g. {reasons}" if reasons else "")
            + ")"
        )
    names = _output_names(scan.studies)
    out_abs = out_p.resolve()
    root_abs = root_p.resolve()
    jobs: list[StudyJob] = []
    skipped: list[JobResult] = []
    for study in sorted(scan.studies, key=lambda s: s.study_instance_uid):
        name = names[study.study_instance_uid]
        fp = study_fingerprint(study, settings, clinical_row(study))
        folder = _source_folder(study, root_abs)
        if not force and _up_to_date(out_abs / name, fp):
            skipped.append(JobResult(study.study_instance_uid, name, folder, JobStatus.SKIPPED))
            continue
        jobs.append(
            StudyJob(
                study=study,
                root=root_abs,
                out_dir=out_abs / name,
                options=replace(options, study=None),
                fingerprint=fp,
                folder=folder,
                n_files=len(study_files(study)),
            )
        )
    return BatchPlan(
        root=root_abs,
        out=out_abs,
        options=options,
        jobs=jobs,
        skipped=skipped,
        ignored_files=len(scan.skipped),
    )


# --- the job --------------------------------------------------------------------------------


@contextmanager
def _interruptible() -> Iterator[None]:
    """Let Ctrl-C (SIGINT) interrupt the job in a worker process whose initializer ignores it
    (an idle worker must not die of it); a no-op outside a process's main thread (dask)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _failed_stage(timings: dict[str, float]) -> str:
    if "total" in timings:
        return "report"
    return next(reversed(timings), "select")


def _message(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:1000]


def run_study(job: StudyJob) -> JobResult:
    """Analyse one study into ``job.out_dir``, all or nothing, with its ``job.json``.

    Never raises an Exception: a failure is returned as a FAILED JobResult naming the stage;
    Ctrl-C in a worker process gives an INTERRUPTED one. The previous output is left as it
    was unless the study completes.
    """
    from acuity.pipeline import analyze_study, write_outputs

    started = time.perf_counter()
    stage = "select"
    timings: dict[str, float] = {}

    def result(status: JobStatus, exc: BaseException | None = None) -> JobResult:
        return JobResult(
            job.uid,
            job.out_dir.name,
            job.folder,
            status,
            seconds=round(time.perf_counter() - started, 3),
            stage=stage if exc is not None else "",
            error=type(exc).__name__ if exc is not None else "",
            message=_message(exc) if exc is not None else "",
        )

    try:
        with _interruptible(), staged_dir(job.out_dir) as stage_dir:
            if os.environ.get(INTERRUPT_ENV) == job.uid:
                raise KeyboardInterrupt
            scan = ScanResult(root=job.root, studies=[job.study], skipped=[], n_files=job.n_files)
            try:
                analysis = analyze_study(job.study, scan, job.options, timings=timings)
            except Exception:
                stage = _failed_stage(timings)
                raise
            stage = "write"
            write_outputs(analysis, stage_dir, render=False)
            if job.options.render:
                from acuity.report import render_outputs

                stage = "render"
                render_outputs(stage_dir)
            stage = "write"
            write_json(
                stage_dir / JOB_JSON,
                {
                    "status": JobStatus.OK.value,
                    "study_instance_uid": job.uid,
                    "fingerprint": job.fingerprint,
                    "acuity_version": __version__,
                    "source_folder": job.folder,
                    "files": job.n_files,
                    "render": job.options.render,
                    "seconds": round(time.perf_counter() - started, 3),
                    "timing_seconds": timings,
                    "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                },
            )
    except KeyboardInterrupt as exc:
        return result(JobStatus.INTERRUPTED, exc)
    except Exception as exc:
        logger.debug("study %s failed at %s", job.uid, stage, exc_info=True)
        return result(JobStatus.FAILED, exc)
    return result(JobStatus.OK)


def _crashed(job: StudyJob, exc: BaseException) -> JobResult:
    """The record of a job whose worker died (or that the cluster lost)."""
    message = _message(exc)
    if isinstance(exc, BrokenProcessPool):
        message = (
            "the worker process running this study (or another study running beside it) "
            f"died: {message}; re-run to retry"
        )
    return JobResult(
        job.uid, job.out_dir.name, job.folder, JobStatus.FAILED,
        stage="worker", error=type(exc).__name__, message=message,
    )


# --- local worker processes -----------------------------------------------------------------


def _init_worker(torch_threads: int, log_level: int) -> None:
    """Initializer of a local worker process: Ctrl-C only interrupts a running job; torch
    shares the cores with the other workers; acuity's log goes to stderr as in the CLI."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(torch_threads)
    log = logging.getLogger("acuity")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
    log.setLevel(log_level)


def cpu_count() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _process_pool(workers: int) -> Callable[[], Executor]:
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, cpu_count() // workers)
    level = logging.getLogger("acuity").getEffectiveLevel()
    context = multiprocessing.get_context("spawn")

    def make() -> Executor:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(threads, level),
        )

    return make


def _interrupt_local_workers() -> None:
    """Pass Ctrl-C on to the worker processes (a terminal sends it to them too; a
    ``kill -INT`` of the batch process alone does not)."""
    for child in multiprocessing.active_children():
        if child.pid is not None:
            try:
                os.kill(child.pid, signal.SIGINT)
            except OSError:
                pass


# --- the run --------------------------------------------------------------------------------


def _remove_stale_staging(out: Path) -> None:
    """Remove ``.NAME.partial-PID`` / ``.NAME.old-PID`` folders a killed run left behind."""
    if not out.is_dir():
        return
    for p in out.iterdir():
        if p.name.startswith(".") and (".partial-" in p.name or ".old-" in p.name) and p.is_dir():
            logger.info("removing %s left by an interrupted run", p.name)
            shutil.rmtree(p, ignore_errors=True)


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


def _write_batch_json(plan: BatchPlan, result: BatchResult, runner: str, started: datetime) -> None:
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


class _Progress:
    """tqdm bar on stderr: studies finished (done / failed / skipped), rate and ETA."""

    def __init__(self, plan: BatchPlan, enabled: bool) -> None:
        from tqdm import tqdm

        self.counts = {s: 0 for s in JobStatus}
        self.counts[JobStatus.SKIPPED] = len(plan.skipped)
        self.bar = tqdm(
            total=plan.n_studies,
            initial=len(plan.skipped),
            unit="study",
            desc="batch",
            file=sys.stderr,
            disable=not enabled,
            dynamic_ncols=True,
        )
        self._postfix()

    def _postfix(self) -> None:
        c = self.counts
        self.bar.set_postfix_str(
            f"done={c[JobStatus.OK]} failed={c[JobStatus.FAILED]} skipped={c[JobStatus.SKIPPED]}",
            refresh=False,
        )

    def add(self, r: JobResult) -> None:
        self.counts[r.status] += 1
        self._postfix()
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def execute(
    jobs: list[StudyJob],
    make_executor: Callable[[], Executor],
    on_result: Callable[[JobResult], None],
    *,
    max_in_flight: int,
    on_interrupt: Callable[[], None] | None = None,
    interrupt_wait_s: float = 60.0,
    rebuild_broken: bool = True,
) -> None:
    """Submit ``jobs`` to an executor (at most ``max_in_flight`` at a time) and hand each
    result to ``on_result`` as it completes.

    A job whose worker dies gives a FAILED result (stage ``worker``); a broken process pool is
    replaced and the batch goes on. On KeyboardInterrupt: no more submissions, the queued jobs
    are cancelled, ``on_interrupt`` runs (e.g. passes Ctrl-C on to the workers), the running
    jobs' results are collected (for up to ``interrupt_wait_s``), the executor is shut down and
    KeyboardInterrupt re-raised.
    """
    queue = iter(jobs)
    in_flight: dict[Future[JobResult], StudyJob] = {}
    executor = make_executor()

    def fill() -> None:
        nonlocal executor
        while len(in_flight) < max_in_flight:
            job = next(queue, None)
            if job is None:
                return
            try:
                fut = executor.submit(run_study, job)
            except BrokenProcessPool:
                executor.shutdown(wait=True)
                executor = make_executor()
                fut = executor.submit(run_study, job)
            in_flight[fut] = job

    def collect(done: Iterable[Future[JobResult]]) -> bool:
        broken = False
        for fut in done:
            job = in_flight.pop(fut)
            if fut.cancelled():
                continue
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - the worker died or the cluster lost it
                broken = broken or isinstance(exc, BrokenProcessPool)
                res = _crashed(job, exc)
            on_result(res)
        return broken

    try:
        fill()
        while in_flight:
            done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            if collect(done) and rebuild_broken:
                # Every job of a broken pool fails; the next jobs get a fresh pool.
                rest, _ = wait(list(in_flight))
                collect(rest)
                executor.shutdown(wait=True)
                executor = make_executor()
            fill()
    except KeyboardInterrupt:
        for fut in in_flight:
            fut.cancel()
        if on_interrupt is not None:
            on_interrupt()
        try:
            done, _ = wait(list(in_flight), timeout=interrupt_wait_s)
            collect([f for f in done if f in in_flight])
        except KeyboardInterrupt:
            pass  # a second Ctrl-C or an interrupted job: stop waiting
        executor.shutdown(wait=False)
        raise
    executor.shutdown(wait=True)


def run_batch(
    root: str | Path,
    out: str | Path,
    options: AnalysisOptions | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    force: bool = False,
    show_progress: bool = False,
    scan_progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Analyse every study under ``root`` into ``out/<StudyInstanceUID>/``.

    ``workers`` local worker processes, or the dask.distributed cluster whose scheduler is at
    ``scheduler`` (e.g. ``tcp://host:8786``). Studies whose output is up to date are skipped
    (all of them are redone with ``force``). A failing study never stops the batch: it is
    listed in ``out/errors.csv``. On Ctrl-C the running studies are stopped (their outputs are
    left as they were), the CSV files and ``batch.json`` are written for what completed, and
    KeyboardInterrupt is re-raised.
    """
    if workers < 1:
        raise InputError(f"--workers {workers}: give at least 1 worker process")
    started = datetime.now(UTC)
    clock = time.perf_counter()
    plan = plan_batch(root, out, options, force=force, progress=scan_progress)
    plan.out.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(plan.out)
    result = BatchResult(out=plan.out, results=list(plan.skipped))
    write_errors_csv(plan.out, [])
    bar = _Progress(plan, show_progress)

    def on_result(r: JobResult) -> None:
        result.results.append(r)
        if r.status is JobStatus.INTERRUPTED:
            raise KeyboardInterrupt  # Ctrl-C reached a worker: stop the whole batch
        bar.add(r)
        if r.status is JobStatus.FAILED:
            logger.warning("study %s failed at %s: %s: %s", r.output, r.stage, r.error, r.message)
            write_errors_csv(plan.out, result.results)

    runner = f"local, {workers} worker process{'es' if workers > 1 else ''}"
    try:
        if not plan.jobs:
            pass
        elif scheduler is not None:
            from acuity.serve.cluster import run_on_cluster

            runner = f"dask {scheduler}"
            run_on_cluster(plan.jobs, scheduler, on_result)
        else:
            n = min(workers, len(plan.jobs))
            execute(
                plan.jobs,
                _process_pool(n),
                on_result,
                max_in_flight=n,
                on_interrupt=_interrupt_local_workers,
            )
    except KeyboardInterrupt:
        result.interrupted = True
        raise
    finally:
        bar.close()
        result.seconds = time.perf_counter() - clock
        write_errors_csv(plan.out, result.results)
        write_summary_csv(plan)
        _write_batch_json(plan, result, runner, started)
    return result
