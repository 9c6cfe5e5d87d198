"""``acuity analyze STUDY_DIR -o OUT_DIR``: the main job."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acuity.cli.progress import progress_printer

if TYPE_CHECKING:
    from acuity.pipeline import AnalysisOptions


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyse a study folder and write the report",
        description=(
            "Analyse the spine MRI study (or studies) in a folder: pick the series, segment and "
            "name the vertebral bodies, measure each level (height loss, Genant grade, marrow "
            "edema, acuity) and, with clinical data, give per-level vertebroplasty candidacy as "
            "decision support. Writes report.json, labels.nii.gz, report.html, DICOM SR / SEG / "
            "key image and summary.csv into OUT_DIR."
        ),
    )
    p.add_argument("study_dir", metavar="STUDY_DIR", help="folder of DICOM files (any layout)")
    p.add_argument("-o", "--out", required=True, metavar="OUT_DIR", help="output folder")
    p.add_argument("--study", metavar="UID", help="only this StudyInstanceUID")
    add_analysis_arguments(p)
    p.add_argument(
        "--no-render", action="store_true",
        help="write report.json and labels only (render later with 'acuity report OUT_DIR')",
    )


def add_analysis_arguments(p: argparse.ArgumentParser) -> None:
    """The series-selection, level and clinical options (shared by listen and run-study)."""
    g = p.add_argument_group("series selection")
    g.add_argument(
        "--edema-series", metavar="SERIES",
        help="series for edema (SeriesInstanceUID, stack id or series number)",
    )
    g.add_argument("--t1-series", metavar="SERIES", help="T1 companion series (same forms)")
    g.add_argument("--t2-series", metavar="SERIES", help="T2 companion series (same forms)")
    g.add_argument("--rules", type=Path, metavar="FILE", help="series-selection rules file")
    s = p.add_argument_group("segmentation and levels")
    s.add_argument(
        "--segment-on", choices=("auto", "edema", "t2", "t1"), default="auto",
        help="which selected series to segment (auto: T2, else the edema series, else T1)",
    )
    s.add_argument("--lowest-level", metavar="LEVEL", help="the lowest body in view is LEVEL, e.g. L5")
    s.add_argument(
        "--level-at", metavar="POS=LEVEL",
        help="the body at POS (a label number or an LPS point x,y,z in mm) is LEVEL, e.g. 3=L3",
    )
    c = p.add_argument_group("clinical candidacy")
    c.add_argument(
        "--clinical", type=Path, metavar="FILE",
        help="clinical data: JSON (this study) or CSV (rows keyed by study)",
    )
    c.add_argument("--profile", metavar="NAME|FILE", help="guideline profile (default conservative-3mo)")
    c.add_argument(
        "--profile-dir", type=Path, action="append", default=[], metavar="DIR",
        help="extra folder of profile YAML files (repeatable)",
    )


def analysis_options(args: argparse.Namespace) -> AnalysisOptions:
    """AnalysisOptions from the options of :func:`add_analysis_arguments` (and --study,
    --no-render where the command has them)."""
    from acuity.errors import InputError
    from acuity.pipeline import AnalysisOptions

    level_at = None
    if args.level_at:
        pos, sep, level = args.level_at.partition("=")
        if not sep or not pos or not level:
            raise InputError(f"--level-at {args.level_at!r}: write POS=LEVEL, e.g. 3=L3 or 0,-40,120=L1")
        level_at = (pos, level)
    return AnalysisOptions(
        edema_series=args.edema_series,
        t1_series=args.t1_series,
        t2_series=args.t2_series,
        rules_file=args.rules,
        study=getattr(args, "study", None),
        segment_on=args.segment_on,
        lowest_level=args.lowest_level,
        level_at=level_at,
        clinical=args.clinical,
        profile=args.profile,
        profile_dirs=tuple(args.profile_dir),
        render=not getattr(args, "no_render", False),
    )


def run(args: argparse.Namespace) -> int:
    from acuity.pipeline import analyze_folder

    options = analysis_options(args)
    reports = analyze_folder(
        args.study_dir, args.out, options, progress=progress_printer("indexing")
    )
    for path in reports:
        print(f"results: {path.parent}/  (report.json, report.html, sr.dcm, seg.dcm, summary.csv)")
    return 0
