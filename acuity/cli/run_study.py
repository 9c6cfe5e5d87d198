"""``acuity run-study DIR --send-to HOST:PORT:AET``: one study, for a PACS that runs a command
per study (e.g. an Orthanc OnStableStudy script)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from acuity.cli.analyze import add_analysis_arguments, analysis_options


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run-study",
        help="analyse one study folder and send its SR, SEG and key image to a PACS",
        description=(
            "Analyse the study in DIR (all or nothing: OUT holds a complete result or is left "
            "as it was) and send the DICOM SR, SEG and key image to --send-to by C-STORE. "
            "Exit status 1, with the reason, when the analysis or the sending fails."
        ),
    )
    p.add_argument("study_dir", metavar="DIR", help="folder of the study's DICOM files")
    p.add_argument(
        "-o", "--out", type=Path, metavar="OUT",
        help="output folder to keep (default: a temporary folder, removed afterwards)",
    )
    p.add_argument("--send-to", metavar="HOST:PORT:AET", help="storage SCP receiving the results")
    p.add_argument(
        "--calling-aet", default="ACUITY", metavar="AET", help="own AE title when sending (ACUITY)"
    )
    p.add_argument("--study", metavar="UID", help="only this StudyInstanceUID")
    add_analysis_arguments(p)


def run(args: argparse.Namespace) -> int:
    from acuity.errors import InputError
    from acuity.report.files import KEY_IMAGE, SEG, SR
    from acuity.serve.job import run_study_job
    from acuity.serve.send import Destination, SendError, check_ae_title, send_files

    if args.out is None and args.send_to is None:
        raise InputError("give -o OUT, --send-to HOST:PORT:AET or both; otherwise nothing is kept")
    dest = Destination.parse(args.send_to) if args.send_to else None
    calling = check_ae_title(args.calling_aet, "--calling-aet")
    options = analysis_options(args)
    with tempfile.TemporaryDirectory(prefix="acuity-run-study-") as tmp:
        out = args.out if args.out is not None else Path(tmp) / "out"
        reports = run_study_job(args.study_dir, out, options)
        for report in reports:
            print(f"results: {report.parent}/")
        if dest is None:
            return 0
        files = [r.parent / n for r in reports for n in (SR, SEG, KEY_IMAGE) if (r.parent / n).is_file()]
        if not files:
            raise SendError(f"the analysis of {args.study_dir} wrote no SR, SEG or key image to send")
        result = send_files(files, dest, calling_aet=calling)
        print(result.summary())
        if not result.ok:
            raise SendError(result.summary())
    return 0
