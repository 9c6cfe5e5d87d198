"""``acuity candidacy REPORT.json --clinical FILE [--profile P]``: re-evaluate vertebroplasty
candidacy from a report's levels and clinical data, without re-running the imaging."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from acuity.errors import AcuityError, InputError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "candidacy",
        help="per-level vertebroplasty candidacy from a report and clinical data",
        description=(
            "Re-evaluate per-level vertebroplasty candidacy from the levels of an acuity "
            "report.json and the patient's clinical data, under a guideline profile. "
            "Decision support for clinicians, not a treatment order."
        ),
    )
    p.add_argument("report", metavar="REPORT.json", nargs="?", help="report written by analyze")
    p.add_argument(
        "--clinical",
        metavar="FILE",
        help="clinical data: .json (this study) or .csv (one row per study, keyed by "
        "StudyInstanceUID, AccessionNumber or PatientID); without it: imaging-only verdicts",
    )
    p.add_argument(
        "--profile",
        metavar="P",
        help="guideline profile: a name (see --list-profiles) or a YAML file "
        "(default: conservative-3mo)",
    )
    p.add_argument(
        "--profile-dir",
        metavar="DIR",
        action="append",
        default=[],
        help="folder of your own profile files, searched by name before the shipped ones "
        "(repeatable; also $ACUITY_PROFILES)",
    )
    p.add_argument("--list-profiles", action="store_true", help="list the profiles and exit")
    p.add_argument(
        "-o", "--out", type=Path, metavar="OUT.json", help="write the report with this candidacy"
    )
    p.add_argument("--json", action="store_true", help="print the candidacy as JSON")
    p.add_argument(
        "--all-levels", action="store_true", help="also list levels without fracture or edema"
    )
    p.add_argument(
        "--study-uid", metavar="UID", help="CSV lookup: StudyInstanceUID (default: the report's)"
    )
    p.add_argument("--accession", metavar="NUMBER", help="CSV lookup: AccessionNumber")
    p.add_argument("--patient-id", metavar="ID", help="CSV lookup: PatientID")


def run(args: argparse.Namespace) -> int:
    from acuity.clinical import StudyKeys, candidacy_section
    from acuity.io import write_json
    from acuity.report.files import read_report
    from acuity.report.levels import levels_from_report

    if args.list_profiles:
        print(list_profiles(args.profile_dir))
        return 0
    if not args.report:
        raise InputError("give the REPORT.json to evaluate (or --list-profiles)")
    path = Path(args.report)
    report = read_report(path)
    findings = levels_from_report(report, path.name)
    keys = StudyKeys(
        study_instance_uid=args.study_uid or _text(report.get("study_instance_uid")),
        accession_number=args.accession or _text(report.get("accession_number")),
        patient_id=args.patient_id,
    )
    section = candidacy_section(
        findings, args.clinical, args.profile, keys=keys, profile_dirs=args.profile_dir
    )
    if args.out is not None:
        from acuity.report import with_candidacy

        # Every per-level verdict and the patient flags are re-derived with the section.
        write_json(args.out, with_candidacy(report, section))
    if args.json:
        json.dump(section, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(format_candidacy(section, all_levels=args.all_levels))
        if args.out is not None:
            print(f"\nwritten: {args.out}")
    return 0


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) and v.strip() else None


def list_profiles(dirs: list[str]) -> str:
    """One line per profile: name, title and file (or why it cannot be loaded)."""
    from acuity.clinical import DEFAULT_PROFILE, load_profile_file, profile_files

    lines = []
    for name, path in sorted(profile_files(dirs).items()):
        mark = " (default)" if name == DEFAULT_PROFILE else ""
        try:
            profile = load_profile_file(path)
        except AcuityError as exc:
            lines.append(f"{name}{mark}  INVALID: {exc}")
            continue
        lines.append(f"{name}{mark}  {profile.title}\n    {path} ({len(profile.rules)} rules)")
    return "\n".join(lines)


def format_candidacy(section: dict[str, Any], *, all_levels: bool = False) -> str:
    """The per-level table and the patient flags of a candidacy section, as text."""
    out = [
        f"Vertebroplasty candidacy - profile {section['profile']}: {section['profile_title']}",
        section["disclaimer"],
        "",
    ]
    levels = section["levels"]
    shown = [c for c in levels if all_levels or c["acuity"] != "none"]
    hidden = len(levels) - len(shown)
    if shown:
        names = [c["level"] or f"#{c['label']}" for c in shown]
        w = max(5, *(len(n) for n in names))
        out.append(f"{'LEVEL':<{w}}  {'ACUITY':<22}  {'VERDICT':<13}  WHY")
        indent = " " * (w + 2 + 22 + 2 + 13 + 2)
        for name, c in zip(names, shown, strict=True):
            deciding = [r for r in c["reasons"] if r["effect"] == c["verdict"]]
            why = [f"{r['rule_id']}: {r['message']}" for r in deciding] or [
                "every criterion of the profile is met on the data given"
            ]
            out.append(f"{name:<{w}}  {c['acuity']:<22}  {c['verdict']:<13}  {why[0]}")
            out.extend(indent + line for line in why[1:])
    else:
        out.append("No level with a fracture or edema.")
    if hidden:
        out.append(
            f"({hidden} levels without fracture or edema not shown; --all-levels shows them)"
        )
    out.append("")
    out.append("Patient:")
    absolute = section["absolute_contraindications"]
    out.append(
        "  absolute contraindications: "
        + ("; ".join(f"{r['rule_id']}: {r['message']}" for r in absolute) or "none found")
    )
    flags = section["flags"]
    out.append(f"  malignancy suspicion: {'yes' if section['malignancy_suspicion'] else 'no'}")
    out.extend(f"    {r['rule_id']}: {r['message']}" for r in flags)
    out.append(f"  missing clinical fields: {', '.join(section['missing_fields']) or 'none'}")
    out.append(f"Note: {section['note']}")
    return "\n".join(out)
