"""``acuity analyze STUDY_DIR -o OUT_DIR``: the main job."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from acuity.cli.progress import progress_printer


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyse a study folder and write the report",
        description="Analyse the spine MRI study (or studies) in a folder and write report.json.",
    )
    p.add_argument("study_dir", metavar="STUDY_DIR", help="folder of DICOM files (any layout)")
    p.add_argument("-o", "--out", required=True, metavar="OUT_DIR", help="output folder")
    p.add_argument("--study", metavar="UID", help="only this StudyInstanceUID")
    p.add_argument(
        "--edema-series", metavar="SERIES",
        help="series for edema (SeriesInstanceUID, stack id or series number)",
    )
    p.add_argument("--t1-series", metavar="SERIES", help="T1 companion series (same forms)")
    p.add_argument("--t2-series", metavar="SERIES", help="T2 companion series (same forms)")
    p.add_argument("--rules", type=Path, metavar="FILE", help="series-selection rules file")


def run(args: argparse.Namespace) -> int:
    from acuity.pipeline import AnalysisOptions, analyze_folder

    options = AnalysisOptions(
        edema_series=args.edema_series,
        t1_series=args.t1_series,
        t2_series=args.t2_series,
        rules_file=args.rules,
        study=args.study,
    )
    reports = analyze_folder(
        args.study_dir, args.out, options, progress=progress_printer("indexing")
    )
    for path in reports:
        print(f"report: {path}")
    return 0
