"""The whole analysis of a study folder, stage by stage:

ingest -> select -> segment -> measure (morphometry, edema, acuity) -> candidacy -> report.

:func:`analyze_study` returns a typed :class:`StudyAnalysis` (the research API);
:func:`analyze_folder` is what ``acuity analyze`` runs: it writes ``report.json`` and
``labels.nii.gz`` for each study, then renders the other outputs from them.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acuity.errors import InputError
from acuity.ingest import load_volume, scan_folder
from acuity.ingest.enum import Plane
from acuity.ingest.model import ScanResult, Series, SeriesStack, Study, Volume

if TYPE_CHECKING:
    from acuity.measure.model import LevelFinding
    from acuity.report import ModelInfo
    from acuity.segment import Segmentation
    from acuity.select import Selection

logger = logging.getLogger(__name__)

#: File name of the label map inside an output folder.
LABELS_NAME = "labels.nii.gz"

#: Roles whose series may be segmented, in the order ``segment_on="auto"`` tries them: T2
#: first (the model's best group, per-body Dice 0.91 against T1 0.87 and TIRM 0.85, and the
#: contrast that edema changes least: a band of acute edema under a collapsed endplate is as
#: bright as the disc on STIR and the masks ran into the disc there — docs/segmentation.md),
#: then the edema series, then T1. The masks serve the other series in physical space.
SEGMENT_ROLES = ("t2", "edema", "t1")


@dataclass(frozen=True)
class AnalysisOptions:
    """User choices for one analysis (all optional)."""

    #: Series to use for edema / T1 / T2 instead of the automatic choice: a
    #: SeriesInstanceUID, a stack id or a series number.
    edema_series: str | None = None
    t1_series: str | None = None
    t2_series: str | None = None
    #: A series-selection rules file replacing the shipped ``pipelines/series_rules.yaml``.
    rules_file: Path | None = None
    #: Analyse only this StudyInstanceUID when the folder holds several studies.
    study: str | None = None
    #: Which selected series is segmented: "auto" (T2, else edema, else T1), "edema", "t1", "t2".
    segment_on: str = "auto"
    #: Level hints: the lowest body in view is this level; or (label or "x,y,z", level).
    lowest_level: str | None = None
    level_at: tuple[str, str] | None = None
    #: Clinical data (.json for one study, .csv keyed by study) and the guideline profile.
    clinical: Path | None = None
    profile: str | None = None
    profile_dirs: tuple[Path, ...] = ()
    #: Render HTML / DICOM SR, SEG, key image and summary.csv after report.json.
    render: bool = True

    def __post_init__(self) -> None:
        allowed = ("auto", *SEGMENT_ROLES)
        if self.segment_on not in allowed:
            raise InputError(f"segment_on {self.segment_on!r} is not one of {', '.join(allowed)}")


@dataclass
class StudyAnalysis:
    """Everything one analysis found, as typed objects, plus the JSON-able report."""

    study: Study
    selection: Selection
    volumes: dict[str, Volume]
    segmentation: Segmentation | None
    #: The role of the series that was segmented (None when nothing could be).
    segmented_role: str | None
    findings: list[LevelFinding]
    candidacy: dict[str, Any]
    report: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


def safe_uid(uid: str) -> str:
    """A UID made safe to use as a file or folder name (digits and dots only)."""
    cleaned = re.sub(r"[^0-9.]", "_", uid.strip())[:64].strip("._")
    return cleaned or "unknown"


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = round(timings.get(stage, 0.0) + time.perf_counter() - start, 3)


def analyze_folder(
    root: str | Path,
    out_dir: str | Path,
    options: AnalysisOptions | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Analyse every study under ``root``; returns the report.json path of each.

    One study writes into ``OUT``; several write into ``OUT/<StudyInstanceUID>/``.
    """
    options = options or AnalysisOptions()
    if options.clinical is not None or options.profile is not None:
        from acuity.clinical import check_candidacy_inputs

        # A bad profile or clinical file fails now, not after minutes of imaging.
        check_candidacy_inputs(options.clinical, options.profile, options.profile_dirs)
    out = Path(out_dir)
    timings: dict[str, float] = {}
    with _timed(timings, "ingest"):
        scan = scan_folder(root, progress=progress)
    studies = _studies_to_run(scan, options, root)
    if len(studies) > 1 and options.clinical is not None and options.clinical.suffix != ".csv":
        raise InputError(
            f"{root} holds {len(studies)} studies but --clinical {options.clinical} is one "
            "study's JSON: pass a CSV keyed by StudyInstanceUID, AccessionNumber or PatientID, "
            "or pick one study with --study"
        )
    reports = []
    for study in studies:
        target = out if len(studies) == 1 else out / safe_uid(study.study_instance_uid)
        analysis = analyze_study(study, scan, options, timings=dict(timings))
        reports.append(write_outputs(analysis, target, render=options.render))
    return reports


def _studies_to_run(scan: ScanResult, options: AnalysisOptions, root: str | Path) -> list[Study]:
    studies = scan.studies
    if options.study is not None:
        studies = [s for s in studies if s.study_instance_uid == options.study]
        if not studies:
            known = ", ".join(s.study_instance_uid for s in scan.studies) or "none"
            raise InputError(f"--study {options.study!r} is not in {root}; studies found: {known}")
    if not studies:
        reasons = "; ".join(f"{s.path.name}: {s.reason}" for s in scan.skipped[:5])
        raise InputError(
            f"no DICOM image study found under {root} ({scan.n_files} files"
            + (f"; e.g. {reasons}" if reasons else "")
            + ")"
        )
    return studies


def write_outputs(analysis: StudyAnalysis, out_dir: Path, *, render: bool = True) -> Path:
    """Write report.json and labels.nii.gz (maps first, report last, each atomically), then
    render the other outputs (HTML, SR, SEG, key image, summary.csv) from them."""
    from acuity.report import render_outputs, write_analysis

    labels = analysis.segmentation.label_map if analysis.segmentation is not None else None
    written = write_analysis(out_dir, analysis.report, labels=labels)
    if render:
        render_outputs(out_dir)
    return written["report"]


def _series_of(study: Study, stack: SeriesStack) -> Series:
    return next(s for s in study.series if s.series_instance_uid == stack.series_instance_uid)


def _level_at(options: AnalysisOptions) -> tuple[int | tuple[float, float, float], str] | None:
    if options.level_at is None:
        return None
    pos, level = options.level_at
    try:
        if "," in pos:
            x, y, z = (float(v) for v in pos.split(","))
            return ((x, y, z), level)
        return (int(pos), level)
    except ValueError:
        raise InputError(
            f"--level-at position {pos!r} is neither a label number nor an LPS point 'x,y,z' (mm)"
        ) from None


def analyze_study(
    study: Study,
    scan: ScanResult,
    options: AnalysisOptions | None = None,
    *,
    timings: dict[str, float] | None = None,
) -> StudyAnalysis:
    """Run every stage on one study; never writes files."""
    from acuity.clinical import StudyKeys, candidacy_section
    from acuity.measure.study import measure_study
    from acuity.report import MapInfo, build_report
    from acuity.select import load_rules, select_series
    from acuity.select.enum import Role

    options = options or AnalysisOptions()
    timings = timings if timings is not None else {}
    started = time.perf_counter()
    warnings: list[str] = []

    with _timed(timings, "select"):
        rules = load_rules(options.rules_file) if options.rules_file else None
        selection = select_series(
            study,
            edema_series=options.edema_series,
            t1_series=options.t1_series,
            t2_series=options.t2_series,
            rules=rules,
        )
    with _timed(timings, "load"):
        volumes = {
            role: load_volume(stack, _series_of(study, stack))
            for role, stack in selection.chosen().items()
        }
    no_edema_reason = None
    if "edema" not in volumes:
        no_edema_reason = f"no usable edema series: {selection.no_edema_reason}"
        warnings.append(f"{no_edema_reason}; every level's acuity is indeterminate")

    segmentation, segmented_role = None, None
    roles = SEGMENT_ROLES if options.segment_on == "auto" else (options.segment_on,)
    segmented_role = next((r for r in roles if r in volumes), None)
    if segmented_role is None:
        unused = [
            a for a in selection.stacks
            if a.usable and a.classification.plane is Plane.SAGITTAL
        ]
        hint = (
            "; name one with --edema-series, --t1-series or --t2-series if it suits, e.g. "
            + ", ".join(f"series {a.series_number} '{a.description}'" for a in unused[:3])
            if unused
            else ""
        )
        warnings.append(
            f"no sagittal series to segment (tried {', '.join(roles)}): no level can be "
            f"measured{hint}"
        )
    else:
        from acuity.segment import segment_image

        with _timed(timings, "segment"):
            segmentation = segment_image(
                volumes[segmented_role].image,
                lowest_level=options.lowest_level,
                level_at=_level_at(options),  # type: ignore[arg-type]
            )
        warnings.extend(segmentation.warnings)
        if segmentation.level_source == "none":
            warnings.append(f"levels not named: {segmentation.level_note}")

    findings: list[LevelFinding] = []
    if segmentation is not None and segmentation.bodies:
        morphology_role = next((r for r in ("t2", "t1", "edema") if r in volumes), None)
        with _timed(timings, "measure"):
            findings = measure_study(
                segmentation.label_map,
                segmentation.bodies,
                edema=volumes["edema"].image if "edema" in volumes else None,
                t1=volumes["t1"].image if "t1" in volumes else None,
                morphology=volumes[morphology_role].image if morphology_role else None,
                no_edema_reason=no_edema_reason,
            )

    with _timed(timings, "candidacy"):
        candidacy = candidacy_section(
            findings,
            options.clinical,
            options.profile,
            keys=StudyKeys(
                study_instance_uid=study.study_instance_uid,
                accession_number=study.accession_number or None,
                patient_id=study.patient_id or None,
            ),
            profile_dirs=options.profile_dirs,
        )

    for s in study.series:
        warnings.extend(f"series {s.series_number}: {p}" for p in s.problems)
    label_map, model = None, None
    if segmentation is not None and segmented_role is not None:
        vol = volumes[segmented_role]
        label_map = MapInfo(LABELS_NAME, Role(segmented_role), vol.stack.stack_id, vol.series.series_instance_uid)
        model = _model_info(segmentation)
    timings["total"] = round(sum(v for k, v in timings.items() if k != "total"), 3)
    report = build_report(
        study,
        scan,
        selection,
        findings,
        candidacy=candidacy,
        volumes=volumes,
        label_map=label_map,
        model=model,
        processing_seconds=time.perf_counter() - started + timings.get("ingest", 0.0),
        warnings=warnings,
        extra={
            "segmentation": None if segmentation is None else segmentation.to_dict(),
            "timing_seconds": timings,
        },
    )
    return StudyAnalysis(
        study=study,
        selection=selection,
        volumes=volumes,
        segmentation=segmentation,
        segmented_role=segmented_role,
        findings=findings,
        candidacy=candidacy,
        report=report,
        timings=timings,
    )


def _model_info(seg: Segmentation) -> ModelInfo:
    from acuity.report import ModelInfo
    from acuity.segment.network import DEFAULT_MODEL, models_dir

    name = seg.model_name or DEFAULT_MODEL
    weights = models_dir() / f"{name}.pt"
    if weights.is_file():
        return ModelInfo.of_file(name, weights)
    return ModelInfo(name=name, sha256=None)
