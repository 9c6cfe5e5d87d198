"""Running one study's analysis in its own process, so a crash cannot take the listener down.

:func:`analyze_isolated` starts a fresh interpreter (``spawn``) that runs
:func:`acuity.serve.job.run_study_job`; a Python exception, a segfault or the OOM killer in
that process becomes a failed :class:`JobOutcome` with the reason, never an exception here.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from acuity.pipeline import AnalysisOptions

logger = logging.getLogger(__name__)

#: Seconds between checks of the cancel event while a study runs.
_POLL_S = 0.2


@dataclass(frozen=True)
class JobOutcome:
    """How an isolated analysis ended."""

    ok: bool
    reports: tuple[Path, ...] = ()
    reason: str = ""
    #: True when the run was stopped by the cancel event (listener shutting down).
    cancelled: bool = False


def _child(study_dir: str, out_dir: str, options: AnalysisOptions, conn: Connection) -> None:
    """Body of the analysis process: run the job, send back ("ok", paths) or ("error", why)."""
    try:
        from acuity.serve.job import run_study_job

        reports = run_study_job(study_dir, out_dir, options)
        conn.send(("ok", [str(p) for p in reports]))
    except BaseException as exc:  # noqa: BLE001 - everything goes back as a reason
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def analyze_isolated(
    study_dir: Path,
    out_dir: Path,
    options: AnalysisOptions,
    *,
    cancel: threading.Event | None = None,
) -> JobOutcome:
    """``run_study_job(study_dir, out_dir, options)`` in a new process; never raises."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_child, args=(str(study_dir), str(out_dir), options, sender), name="acuity-study"
    )
    try:
        process.start()
    except OSError as exc:
        return JobOutcome(False, reason=f"cannot start the analysis process: {exc}")
    finally:
        sender.close()
    message: tuple[str, object] | None = None
    try:
        while True:
            if receiver.poll(_POLL_S):
                try:
                    message = receiver.recv()
                except (EOFError, OSError):
                    message = None  # died without a word
                break
            if cancel is not None and cancel.is_set():
                process.terminate()
                process.join(10)
                if process.is_alive():  # pragma: no cover - ignores SIGTERM
                    process.kill()
                return JobOutcome(False, reason="cancelled", cancelled=True)
            if not process.is_alive() and not receiver.poll(0):
                break
    finally:
        receiver.close()
        process.join(30)
        if process.is_alive():  # pragma: no cover - hangs after answering
            process.kill()
            process.join()
    if message is None:
        return JobOutcome(
            False, reason=f"the analysis process died (exit code {process.exitcode})"
        )
    kind, payload = message
    if kind == "ok" and isinstance(payload, list):
        return JobOutcome(True, tuple(Path(str(p)) for p in payload))
    return JobOutcome(False, reason=str(payload))
