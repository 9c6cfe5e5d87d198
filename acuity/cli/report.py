"""``acuity report OUT [--source DIR]``: re-render report.html, summary.csv and the DICOM
outputs (SEG, SR, key image) of an analysis from its report.json, without re-running imaging."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        help="re-render the HTML, CSV and DICOM outputs from report.json",
        description=(
            "Re-render report.html, summary.csv, seg.dcm (DICOM SEG), sr.dcm (DICOM SR, "
            "TID 1500) and key_image.dcm (Secondary Capture) of an acuity output folder from "
            "its report.json, labels.nii.gz and the source DICOM, without re-running the "
            "imaging. Every file is replaced atomically."
        ),
    )
    p.add_argument("out_dir", metavar="OUT", type=Path, help="output folder of acuity analyze")
    p.add_argument(
        "--source",
        metavar="DIR",
        type=Path,
        help="source DICOM folder (default: the folder the report was made from); without it "
        "the DICOM outputs and the images are skipped",
    )
    p.add_argument(
        "--check", action="store_true", help="only validate report.json against its schema"
    )
    p.add_argument("--json", action="store_true", help="print what was written as JSON")


def run(args: argparse.Namespace) -> int:
    from acuity.report.files import REPORT_JSON, read_report
    from acuity.report.render import RenderError, render_report
    from acuity.report.schema import SCHEMA_VERSION, validate_report

    out = Path(args.out_dir)
    if args.check:
        path = out / REPORT_JSON if out.is_dir() else out
        validate_report(read_report(path), str(path))
        print(f"{path}: valid acuity report (schema {SCHEMA_VERSION})")
        return 0
    try:
        result = render_report(out, source_dir=args.source)
        status = 0
    except RenderError as exc:
        result = exc.result
        print(f"acuity report: error: {exc}", file=sys.stderr)
        status = 1
    if args.json:
        json.dump(
            {
                "written": {k: str(v) for k, v in result.written.items()},
                "skipped": result.skipped,
                "failed": result.failed,
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
    else:
        for kind, path in result.written.items():
            print(f"written: {path}")
        for kind, why in result.skipped.items():
            print(f"skipped {kind}: {why}")
        for kind, why in result.failed.items():
            print(f"FAILED {kind}: {why}")
    return status
