"""One analysis into one output folder, all or nothing.

The outputs are built in a hidden sibling folder (``.NAME.partial-<pid>``) and swapped in
only when complete, so an interrupted or failed run (Ctrl-C, a killed worker, an exception)
never leaves a half-written study output: the previous complete output, if any, stays.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acuity.pipeline import AnalysisOptions

logger = logging.getLogger(__name__)


@contextmanager
def staged_dir(out_dir: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder beside ``out_dir``; on success it replaces ``out_dir``.

    On any exception (KeyboardInterrupt included) the staging folder is removed and
    ``out_dir`` is left as it was.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.partial-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    # Two renames: out -> old, stage -> out. A crash between them leaves the complete old
    # output under a hidden name and no out (a re-run redoes the study), never a mix.
    if out.exists():
        os.replace(out, old)
    os.replace(stage, out)
    shutil.rmtree(old, ignore_errors=True)


def run_study_job(
    study_dir: str | Path,
    out_dir: str | Path,
    options: AnalysisOptions | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """``acuity analyze study_dir -o out_dir``, all or nothing; returns the report.json paths.

    Paths returned point into ``out_dir`` (after the swap).
    """
    from acuity.pipeline import analyze_folder

    out = Path(out_dir)
    with staged_dir(out) as stage:
        reports = analyze_folder(study_dir, stage, options, progress=progress)
    return [out / p.relative_to(stage) for p in reports]
