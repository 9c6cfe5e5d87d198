"""``acuity series STUDY_DIR``: how each series was classified and which ones were selected."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acuity.cli.progress import progress_printer
from acuity.errors import InputError

if TYPE_CHECKING:
    from acuity.select import Selection, StackAssessment


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "series",
        help="classify a study's series and show which are used, and why",
        description=(
            "Scan a folder (headers only), classify every series/stack (plane, contrast class, "
            "fat suppression, derived, confidence, with the evidence) and show the selected "
            "edema, T1 and T2 series with the reasons for every choice and rejection."
        ),
    )
    p.add_argument("study_dir", metavar="STUDY_DIR", help="folder of DICOM files (any layout)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--rules",
        type=Path,
        metavar="FILE",
        help="series rules file replacing the shipped pipelines/series_rules.yaml",
    )
    p.add_argument("--study", metavar="UID", help="only this StudyInstanceUID")
    p.add_argument(
        "--edema-series",
        metavar="SERIES",
        help="use this series for edema (SeriesInstanceUID, stack id or series number)",
    )
    p.add_argument("--t1-series", metavar="SERIES", help="use this T1 series (same forms)")
    p.add_argument("--t2-series", metavar="SERIES", help="use this T2 series (same forms)")
    p.add_argument(
        "--facts", action="store_true", help="with --json: include every header fact read"
    )


def run(args: argparse.Namespace) -> int:
    from acuity.ingest import scan_folder
    from acuity.select import load_rules, select_series

    rules = load_rules(args.rules)  # validate the rules before the (longer) scan
    scan = scan_folder(args.study_dir, progress=None if args.json else progress_printer("indexing"))
    studies = scan.studies
    if args.study:
        studies = [s for s in studies if s.study_instance_uid == args.study]
        if not studies:
            known = ", ".join(s.study_instance_uid for s in scan.studies) or "none"
            raise InputError(
                f"--study {args.study!r} is not in {args.study_dir}; studies found: {known}"
            )
    if not studies:
        raise InputError(
            f"no DICOM study found in {args.study_dir} ({scan.n_files} files, "
            f"{len(scan.skipped)} skipped); run 'acuity info {args.study_dir}' for details"
        )
    selections = [
        select_series(
            study,
            edema_series=args.edema_series,
            t1_series=args.t1_series,
            t2_series=args.t2_series,
            rules=rules,
        )
        for study in studies
    ]
    if args.json:
        payload = {
            "root": str(scan.root),
            "rules": rules.source,
            "studies": [sel.to_dict(facts=args.facts) for sel in selections],
        }
        print(json.dumps(payload, indent=2))
        return 0
    print(f"rules: {rules.source}")
    for sel in selections:
        print()
        print(format_selection(sel))
    return 0


def _stack_line(a: StackAssessment) -> str:
    c = a.classification
    number = a.series_number if a.series_number is not None else "-"
    coverage = f"{a.coverage_mm:.0f}" if a.coverage_mm is not None else "-"
    return (
        f"  {number!s:>4}  {a.description[:26]:<26} {(c.plane.value if c.plane else '-'):<9} "
        f"{c.contrast.value:<19} {c.fat_suppression.value:<18} {'yes' if c.derived else 'no':<7} "
        f"{c.confidence:>4.2f}  {coverage:>5}  {a.role.value}"
    )


def format_selection(sel: Selection) -> str:
    """A plain-text report of one study's classification and selection."""
    lines = [f"Study {sel.study_instance_uid}"]
    for role in ("edema", "t1", "t2"):
        chosen = sel.stack_for(role)
        if chosen is None:
            value = "none" + (
                f" - {sel.no_edema_reason}" if role == "edema" and sel.no_edema_reason else ""
            )
        else:
            value = f"#{chosen.series_number} {chosen.description!r} ({chosen.stack_id})"
        user = " (set by the user)" if role in sel.overrides else ""
        lines.append(f"  {role:<6} {value}{user}")
    lines.append("")
    lines.append(
        f"  {'#':>4}  {'description':<26} {'plane':<9} {'class':<19} {'fat suppression':<18} "
        f"{'derived':<7} {'conf':>4}  {'SI mm':>5}  role"
    )
    for a in sel.stacks:
        lines.append(_stack_line(a))
        for reason in a.reasons:
            lines.append(f"        - {reason}")
        for evidence in a.classification.evidence:
            seen = "; ".join(f"{n}={v}" for n, v, _ in evidence.seen[:6])
            sign = "+" if evidence.weight >= 0 else ""
            lines.append(
                f"          {evidence.decision}={evidence.vote} {sign}{evidence.weight:g} "
                f"[{evidence.rule}] {seen}"
            )
    return "\n".join(lines)
