"""``acuity batch``: every study under a folder, in parallel, resumable, one failure isolated.

* :func:`plan_batch` scans ROOT once (a study is a StudyInstanceUID: its files may be spread
  over folders or share a folder with other studies) and decides, per study, whether its
  output ``OUT/<StudyInstanceUID>/`` is up to date (its ``job.json`` says ``ok`` with the same
  fingerprint, :mod:`acuity.serve.fingerprint`) or must be (re)done.
* :func:`run_study` is the job run by a worker (a local process or a dask worker): one study
  into its output folder, all or nothing (:func:`acuity.serve.job.staged_dir`). It never
  raises across the process boundary: a failure comes back as a :class:`JobResult`.
* :func:`run_batch` runs the plan in a process pool (:mod:`acuity.serve.pool`; or on a
  dask.distributed cluster, see :mod:`acuity.serve.cluster`) and writes ``OUT/errors.csv``,
  ``OUT/summary.csv`` and ``OUT/batch.json`` (:mod:`acuity.serve.batch_files`).

The records (:class:`StudyJob`, :class:`JobResult`, :class:`BatchPlan`, :class:`BatchResult`)
are defined in :mod:`acuity.serve.batch_model` and exported here too.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from acuity import __version__
from acuity.errors import InputError
from acuity.ingest.model import ScanResult, Study
from acuity.io import write_json
from acuity.pipeline import AnalysisOptions, safe_uid
from acuity.serve.batch_files import write_batch_json, write_errors_csv, write_summary_csv
from acuity.serve.batch_model import (
    JOB_JSON,
    BatchPlan,
    BatchResult,
    JobResult,
    JobStatus,
    StudyJob,
)
from acuity.serve.fingerprint import (
    clinical_rows,
    settings_fingerprint,
    study_files,
    study_fingerprint,
    up_to_date,
)
from acuity.serve.job import staged_dir
from acuity.serve.pool import (
    Interrupt,
    Progress,
    interrupt_local_workers,
    interruptible,
    process_pool,
)

__all__ = [
    "BatchPlan",
    "BatchResult",
    "JobResult",
    "JobStatus",
    "StudyJob",
    "execute",
    "plan_batch",
    "run_batch",
    "run_study",
]

logger = logging.getLogger(__name__)

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
    clinical_row = clinical_rows(options)
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
        if not force and up_to_date(out_abs / name, fp):
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
        with interruptible() as interrupt, staged_dir(job.out_dir) as stage_dir:
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
            # A Ctrl-C that Python swallowed during the job (it only prints one that comes
            # during an import) must not let the study count as done.
            interrupt.check()
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


# --- the run --------------------------------------------------------------------------------


def _remove_stale_staging(out: Path) -> None:
    """Remove ``.NAME.partial-PID`` / ``.NAME.old-PID`` folders a killed run left behind."""
    if not out.is_dir():
        return
    for p in out.iterdir():
        if p.name.startswith(".") and (".partial-" in p.name or ".old-" in p.name) and p.is_dir():
            logger.info("removing %s left by an interrupted run", p.name)
            shutil.rmtree(p, ignore_errors=True)


def execute(
    jobs: list[StudyJob],
    make_executor: Callable[[], Executor],
    on_result: Callable[[JobResult], None],
    *,
    max_in_flight: int,
    on_interrupt: Callable[[], None] | None = None,
    interrupt_wait_s: float = 60.0,
    rebuild_broken: bool = True,
    interrupt: Interrupt | None = None,
) -> None:
    """Submit ``jobs`` to an executor (at most ``max_in_flight`` at a time) and hand each
    result to ``on_result`` as it completes.

    A job whose worker dies gives a FAILED result (stage ``worker``); a broken process pool is
    replaced and the batch goes on. On KeyboardInterrupt: no more submissions, the queued jobs
    are cancelled, ``on_interrupt`` runs (e.g. passes Ctrl-C on to the workers), the running
    jobs' results are collected (for up to ``interrupt_wait_s``), the executor is shut down and
    KeyboardInterrupt re-raised. ``interrupt`` (from :func:`interruptible`) is checked after
    every completion, so that a Ctrl-C Python swallowed on the way still stops the batch.
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
            if interrupt is not None:
                interrupt.check()
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
    bar = Progress(plan, show_progress)

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
        with interruptible() as interrupt:
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
                    process_pool(n),
                    on_result,
                    max_in_flight=n,
                    on_interrupt=interrupt_local_workers,
                    interrupt=interrupt,
                )
            interrupt.check()
    except KeyboardInterrupt:
        result.interrupted = True
        raise
    finally:
        bar.close()
        result.seconds = time.perf_counter() - clock
        write_errors_csv(plan.out, result.results)
        write_summary_csv(plan)
        write_batch_json(plan, result, runner, started)
    return result
