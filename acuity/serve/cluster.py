"""``acuity batch --dask-scheduler ADDR``: the batch's studies on a dask.distributed cluster.

Each study is one task running :func:`acuity.serve.batch.run_study` on a worker, which reads
the study's files and writes its output folder itself: ROOT and OUT must be on a file system
that every worker sees under the same paths, and every worker needs the same acuity install
and segmentation model (``models/`` or ``$ACUITY_MODELS``). See docs/batch.md.

dask is imported here only, so that ``acuity --help`` stays instant.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from acuity.errors import InputError
from acuity.serve.batch import execute
from acuity.serve.batch_model import JobResult, StudyJob

logger = logging.getLogger(__name__)


def run_on_cluster(
    jobs: list[StudyJob],
    scheduler: str,
    on_result: Callable[[JobResult], None],
    *,
    timeout_s: float | None = None,
) -> None:
    """Run ``jobs`` on the cluster whose scheduler is at ``scheduler`` (``tcp://HOST:PORT``),
    handing each result to ``on_result`` as it completes. ``timeout_s`` bounds the connection
    (default: dask's ``distributed.comm.timeouts.connect``, 30 s).

    A task the cluster loses (e.g. its worker dies repeatedly) gives a FAILED result. On
    Ctrl-C the queued tasks are cancelled; tasks already running on a worker cannot be
    stopped: they finish and write a complete output folder (or none).
    """
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise InputError(f"--dask-scheduler needs the 'distributed' package: {exc}") from exc
    try:
        make_client: Any = distributed.Client
        kwargs: dict[str, Any] = {} if timeout_s is None else {"timeout": timeout_s}
        client: Any = make_client(scheduler, set_as_default=False, **kwargs)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            f"--dask-scheduler {scheduler}: cannot connect ({exc}); give the address the "
            "dask scheduler prints, e.g. tcp://host:8786"
        ) from exc
    try:
        threads = sum(client.nthreads().values())
        if threads == 0:
            logger.warning("the dask cluster at %s has no worker yet; tasks wait for one", scheduler)
        logger.info("dask cluster %s: %d worker threads", scheduler, threads)
        execute(
            jobs,
            lambda: client.get_executor(pure=False),
            on_result,
            # All at once: the scheduler balances them over the workers (also workers that
            # join later); Ctrl-C cancels those not yet running.
            max_in_flight=max(1, len(jobs)),
            interrupt_wait_s=0.0,
            rebuild_broken=False,
        )
    finally:
        client.close()
