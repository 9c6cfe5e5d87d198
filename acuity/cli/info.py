"""``acuity info STUDY_DIR``: list the studies and series found in a folder."""

from __future__ import annotations

import argparse
import json
from typing import Any

from acuity.cli.progress import progress_printer


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "info",
        help="list studies and series in a DICOM folder",
        description=(
            "Scan a folder (recursively, headers only) and list each study's series with "
            "description, plane, matrix size, slice count and the problems found."
        ),
    )
    p.add_argument("study_dir", metavar="STUDY_DIR", help="folder of DICOM files (any layout)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from acuity.ingest import scan_folder
    from acuity.report.summary import scan_summary

    scan = scan_folder(args.study_dir, progress=None if args.json else progress_printer("indexing"))
    summary = scan_summary(scan)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(format_scan(summary))
    return 0


def format_scan(summary: dict[str, Any]) -> str:
    """A plain-text table of :func:`acuity.report.summary.scan_summary`'s output."""
    lines = [
        (
            f"{summary['root']}: {summary['files']} files, {len(summary['studies'])} studies, "
            f"{len(summary['skipped'])} files skipped"
        )
    ]
    for study in summary["studies"]:
        lines.append("")
        lines.append(
            f"Study {study['study_instance_uid']}  date {study['study_date'] or '-'}  "
            f"{study['description'] or ''}".rstrip()
        )
        lines.append(
            f"  {'#':>4}  {'description':<28} {'plane':<9} {'size':<12} {'slices':>6}  "
            f"{'spacing mm':<18} problems"
        )
        for series in study["series"]:
            for stack in series["stacks"]:
                size = "x".join(str(v) for v in stack["size"][:2]) if stack["size"] else "-"
                spacing = (
                    "x".join(f"{v:.2f}" for v in stack["spacing_mm"]) if stack["spacing_mm"] else "-"
                )
                problems = [i["message"] for i in stack["issues"]]
                if stack["unusable_reason"]:
                    problems.insert(0, f"unusable: {stack['unusable_reason']}")
                number = series["series_number"] if series["series_number"] is not None else "-"
                lines.append(
                    f"  {number!s:>4}  {series['description'][:28]:<28} "
                    f"{stack['plane'] or '-':<9} {size:<12} {stack['slices']:>6}  {spacing:<18} "
                    f"{'; '.join(problems) or '-'}"
                )
            for problem in series["problems"]:
                lines.append(f"        series problem: {problem}")
    if summary["skipped"]:
        lines.append("")
        lines.append("Skipped files:")
        for s in summary["skipped"]:
            lines.append(f"  {s['path']}: {s['reason']}")
    return "\n".join(lines)
