"""``acuity batch ROOT -o OUT``: every study under a folder, in parallel, resumable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from acuity.cli.analyze import add_analysis_arguments, analysis_options
from acuity.cli.progress import progress_printer


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n}: give at least 1")
    return n


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "batch",
        help="analyse every study under a folder (parallel, resumable)",
        description=(
            "Find every study under ROOT (any folder layout) and analyse each into "
            "OUT/<StudyInstanceUID>/ in parallel worker processes (or on a dask.distributed "
            "cluster). One failing study never stops the batch: it is listed in "
            "OUT/errors.csv. A re-run skips the studies whose inputs and settings are "
            "unchanged. OUT/summary.csv has every level of every complete study. "
            "See docs/batch.md."
        ),
    )
    p.add_argument("root", metavar="ROOT", help="folder holding the DICOM studies (any layout)")
    p.add_argument("-o", "--out", required=True, type=Path, metavar="OUT", help="output folder")
    run = p.add_mutually_exclusive_group()
    run.add_argument(
        "--workers", type=_positive_int, default=None, metavar="N",
        help="worker processes on this machine (default 1)",
    )
    run.add_argument(
        "--dask-scheduler", metavar="ADDR",
        help="run the studies on the dask.distributed cluster whose scheduler is at ADDR "
        "(e.g. tcp://host:8786); ROOT and OUT must be on storage every worker sees",
    )
    p.add_argument("--force", action="store_true", help="redo every study, even up-to-date ones")
    p.add_argument(
        "--clinical-csv", dest="clinical", type=Path, metavar="FILE",
        help="clinical data CSV, one row per study keyed by StudyInstanceUID, AccessionNumber "
        "or PatientID",
    )
    add_analysis_arguments(p)
    p.add_argument(
        "--no-render", action="store_true",
        help="write report.json, labels and job.json only (no HTML, DICOM SR/SEG, key image)",
    )


def run(args: argparse.Namespace) -> int:
    from acuity.serve.batch import run_batch

    options = analysis_options(args)
    quiet = bool(getattr(args, "quiet", False))
    result = run_batch(
        args.root,
        args.out,
        options,
        workers=args.workers or 1,
        scheduler=args.dask_scheduler,
        force=args.force,
        show_progress=not quiet and sys.stderr.isatty(),
        scan_progress=None if quiet else progress_printer("indexing"),
    )
    ok, skipped, failed = (result.count(s) for s in ("ok", "skipped", "failed"))
    print(
        f"batch: {ok + skipped + failed} studies: {ok} analysed, {skipped} up to date, "
        f"{failed} failed in {result.seconds:.0f} s; summary: {result.summary_csv}"
    )
    if failed:
        print(
            f"acuity batch: {failed} stud{'y' if failed == 1 else 'ies'} failed; "
            f"reasons in {result.errors_csv}",
            file=sys.stderr,
        )
        return 1
    return 0
