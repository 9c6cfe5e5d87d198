"""The local side of ``acuity batch``: worker processes, Ctrl-C, the progress bar.

Local worker processes are spawned with an initializer that ignores Ctrl-C (SIGINT), so that an
idle worker does not die of it; a running job lets it interrupt the study
(:func:`interruptible`), and :func:`interrupt_local_workers` passes it on to the workers. A
Ctrl-C that Python swallowed on the way (it only prints one that comes during an import) still
stops the job and the batch (:class:`Interrupt`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from types import FrameType

from acuity.serve.batch_model import BatchPlan, JobResult, JobStatus


class Interrupt:
    """Whether Ctrl-C (SIGINT) came while :func:`interruptible` was in force.

    Python raises KeyboardInterrupt where the main thread happens to be, and in a few places
    only prints it and goes on: an import's module-lock callback, a finaliser, a weakref
    callback. A job that lost its interrupt that way must still not count as done:
    :meth:`check` raises it again.
    """

    def __init__(self) -> None:
        self.requested = False

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C came (even if something swallowed it)."""
        if self.requested:
            raise KeyboardInterrupt


@contextmanager
def interruptible() -> Iterator[Interrupt]:
    """Let Ctrl-C (SIGINT) interrupt the job in a worker process whose initializer ignores it
    (an idle worker must not die of it), and remember that it came (:class:`Interrupt`); a
    no-op outside a process's main thread (dask)."""
    interrupt = Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield interrupt
        return

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        interrupt.requested = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield interrupt
    finally:
        signal.signal(signal.SIGINT, previous)


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


def process_pool(workers: int) -> Callable[[], Executor]:
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


def interrupt_local_workers() -> None:
    """Pass Ctrl-C on to the worker processes (a terminal sends it to them too; a
    ``kill -INT`` of the batch process alone does not)."""
    for child in multiprocessing.active_children():
        if child.pid is not None:
            try:
                os.kill(child.pid, signal.SIGINT)
            except OSError:
                pass


class Progress:
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
