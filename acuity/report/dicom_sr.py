"""Comprehensive 3D SR with a TID 1500 Measurement Report of every level.

One measurement group per level: tracking identifier (the level, with the UID shared with its
SEG segment), finding site (the vertebra, coded), the SEG segment it measures, measurements
(heights, height loss, edema ratio and fraction, T1 ratio, level confidence) and qualitative
evaluations (Genant grade, deformity, posterior wall, edema pattern, acuity, candidacy,
partial). A last group holds the patient-level flags when candidacy was evaluated. The SR goes
in a new series of the same study and lists the source series and the SEG as evidence.
:func:`read_sr_levels` reads the values back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import highdicom as hd
from highdicom.sr import (
    AlgorithmIdentification,
    CodedConcept,
    Comprehensive3DSR,
    DeviceObserverIdentifyingAttributes,
    FindingSite,
    Measurement,
    MeasurementReport,
    MeasurementsAndQualitativeEvaluations,
    ObservationContext,
    ObserverContext,
    QualitativeEvaluation,
    ReferencedSegment,
    SourceSeriesForSegmentation,
    TrackingIdentifier,
    VolumetricROIMeasurementsAndQualitativeEvaluations,
)
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes as dcm_codes

from acuity.clinical.enum import Verdict
from acuity.measure.enum import Acuity, DeformityType, EdemaPattern, GenantGrade, PosteriorWall
from acuity.measure.model import LevelFinding
from acuity.report import codes
from acuity.report.codes import Name
from acuity.report.dicom_common import MANUFACTURER, MODEL_NAME, SOFTWARE_VERSION, output_uid
from acuity.report.dicom_seg import SegResult, segment_label, tracking_uid

logger = logging.getLogger(__name__)

PATIENT_GROUP_ID = "patient-level flags"

_Group = VolumetricROIMeasurementsAndQualitativeEvaluations | MeasurementsAndQualitativeEvaluations


def _measurements(f: LevelFinding) -> list[Measurement]:
    out: list[Measurement] = []

    def add(name: Name, value: float | None, unit: CodedConcept) -> None:
        if value is not None:
            out.append(Measurement(name=name.code, value=float(value), unit=unit))

    add(Name.LEVEL_CONFIDENCE, f.level_confidence, codes.UNIT_ONE)
    m, e = f.morphometry, f.edema
    if m is not None:
        add(Name.ANTERIOR_HEIGHT, m.anterior_mm, codes.UNIT_MM)
        add(Name.MIDDLE_HEIGHT, m.middle_mm, codes.UNIT_MM)
        add(Name.POSTERIOR_HEIGHT, m.posterior_mm, codes.UNIT_MM)
        add(Name.BODY_WIDTH, m.width_mm, codes.UNIT_MM)
        add(Name.EXPECTED_HEIGHT, m.expected_height_mm, codes.UNIT_MM)
        add(Name.HEIGHT_LOSS, m.height_loss_pct, codes.UNIT_PERCENT)
        add(Name.POSTERIOR_DISPLACEMENT, m.posterior_displacement_mm, codes.UNIT_MM)
    if e is not None:
        add(Name.EDEMA_RATIO, e.ratio, codes.UNIT_RATIO)
        add(Name.EDEMA_FRACTION, 100.0 * e.fraction, codes.UNIT_PERCENT)
        add(Name.T1_RATIO, e.t1_ratio, codes.UNIT_RATIO)
    return out


def _evaluations(f: LevelFinding, verdict: str | None) -> list[QualitativeEvaluation]:
    out = [QualitativeEvaluation(Name.PARTIAL.code, codes.yes_no(f.partial))]
    m, e = f.morphometry, f.edema
    if m is not None:
        out += [
            QualitativeEvaluation(
                Name.GENANT_GRADE.code, codes.GENANT_VALUES[GenantGrade(m.genant_grade)]
            ),
            QualitativeEvaluation(
                Name.DEFORMITY.code, codes.DEFORMITY_VALUES[DeformityType(m.deformity)]
            ),
            QualitativeEvaluation(Name.VERTEBRA_PLANA.code, codes.yes_no(m.vertebra_plana)),
            QualitativeEvaluation(
                Name.POSTERIOR_WALL.code,
                codes.POSTERIOR_WALL_VALUES[PosteriorWall(m.posterior_wall)],
            ),
        ]
    if e is not None:
        out.append(
            QualitativeEvaluation(
                Name.EDEMA_PATTERN.code, codes.EDEMA_PATTERN_VALUES[EdemaPattern(e.pattern)]
            )
        )
    out.append(QualitativeEvaluation(Name.ACUITY.code, codes.ACUITY_VALUES[Acuity(f.acuity)]))
    if verdict is not None:
        out.append(
            QualitativeEvaluation(Name.CANDIDACY.code, codes.VERDICT_VALUES[Verdict(verdict)])
        )
    return out


def _patient_group(
    report: Mapping[str, Any], digest: str
) -> MeasurementsAndQualitativeEvaluations | None:
    flags = report.get("patient_flags") or {}
    if flags.get("malignancy_suspicion") is None:
        return None
    return MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(
            uid=output_uid(digest, "tracking", "patient"), identifier=PATIENT_GROUP_ID
        ),
        qualitative_evaluations=[
            QualitativeEvaluation(
                Name.MALIGNANCY_SUSPICION.code, codes.yes_no(bool(flags["malignancy_suspicion"]))
            ),
            QualitativeEvaluation(
                Name.ABSOLUTE_CONTRAINDICATION.code,
                codes.yes_no(bool(flags.get("absolute_contraindications"))),
            ),
        ],
    )


def build_sr(
    report: Mapping[str, Any],
    findings: Sequence[LevelFinding],
    evidence: Sequence[Dataset],
    *,
    digest: str,
    series_number: int,
    seg: SegResult | None = None,
    seg_series_uid: str | None = None,
) -> Comprehensive3DSR:
    """The SR of a report. ``evidence``: headers of the source series used; with ``seg`` the
    level groups reference its segments (``seg_series_uid``: the series it segments)."""
    verdicts = {int(lv["label"]): lv.get("candidacy") for lv in report["levels"]}
    algorithm = AlgorithmIdentification(name="acuity", version=SOFTWARE_VERSION)
    groups: list[_Group] = []
    for f in findings:
        tracking = TrackingIdentifier(
            uid=tracking_uid(digest, f.label), identifier=segment_label(f)
        )
        common: dict[str, Any] = {
            "tracking_identifier": tracking,
            "finding_type": Name.VERTEBRAL_BODY.code,
            "finding_sites": [FindingSite(codes.vertebra_code(f.level))],
            "algorithm_id": algorithm,
            "measurements": _measurements(f),
            "qualitative_evaluations": _evaluations(f, verdicts.get(f.label)),
        }
        if seg is not None and f.label in seg.numbers:
            ds = seg.dataset
            groups.append(
                VolumetricROIMeasurementsAndQualitativeEvaluations(
                    referenced_segment=ReferencedSegment(
                        sop_class_uid=ds.SOPClassUID,
                        sop_instance_uid=ds.SOPInstanceUID,
                        segment_number=seg.numbers[f.label],
                        source_series=SourceSeriesForSegmentation(str(seg_series_uid)),
                    ),
                    **common,
                )
            )
        else:
            groups.append(MeasurementsAndQualitativeEvaluations(**common))
    patient = _patient_group(report, digest)
    if patient is not None:
        groups.append(patient)
    observer = ObserverContext(
        observer_type=codes.standard(dcm_codes.DCM.Device),
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=output_uid("acuity-device", "device", SOFTWARE_VERSION),
            name="acuity",
            manufacturer_name=MANUFACTURER,
            model_name=MODEL_NAME,
        ),
    )
    content = MeasurementReport(
        observation_context=ObservationContext(observer_device_context=observer),
        procedure_reported=codes.PROCEDURE_MRI,
        imaging_measurements=groups,
        title=codes.REPORT_TITLE,
    )
    all_evidence = list(evidence) + ([seg.dataset] if seg is not None else [])
    sr = Comprehensive3DSR(
        evidence=all_evidence,
        content=content,
        series_instance_uid=output_uid(digest, "sr", "series"),
        series_number=series_number,
        sop_instance_uid=output_uid(digest, "sr"),
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=MODEL_NAME,
        software_versions=SOFTWARE_VERSION,
        is_complete=True,
        coding_schemes=codes.scheme_identification(),
        series_description="acuity measurement report (decision support)",
    )
    return sr


# --- reading back -------------------------------------------------------------------------------

_MEASURED: dict[Name, str] = {
    Name.LEVEL_CONFIDENCE: "level_confidence",
    Name.ANTERIOR_HEIGHT: "anterior_mm",
    Name.MIDDLE_HEIGHT: "middle_mm",
    Name.POSTERIOR_HEIGHT: "posterior_mm",
    Name.BODY_WIDTH: "width_mm",
    Name.EXPECTED_HEIGHT: "expected_height_mm",
    Name.HEIGHT_LOSS: "height_loss_pct",
    Name.POSTERIOR_DISPLACEMENT: "posterior_displacement_mm",
    Name.EDEMA_RATIO: "edema_ratio",
    Name.EDEMA_FRACTION: "edema_fraction_pct",
    Name.T1_RATIO: "t1_ratio",
}
_EVALUATED: dict[Name, tuple[str, Mapping[Any, CodedConcept] | None]] = {
    Name.PARTIAL: ("partial", None),
    Name.GENANT_GRADE: ("genant_grade", codes.GENANT_VALUES),
    Name.DEFORMITY: ("deformity", codes.DEFORMITY_VALUES),
    Name.VERTEBRA_PLANA: ("vertebra_plana", None),
    Name.POSTERIOR_WALL: ("posterior_wall", codes.POSTERIOR_WALL_VALUES),
    Name.EDEMA_PATTERN: ("edema_pattern", codes.EDEMA_PATTERN_VALUES),
    Name.ACUITY: ("acuity", codes.ACUITY_VALUES),
    Name.CANDIDACY: ("candidacy", codes.VERDICT_VALUES),
    Name.MALIGNANCY_SUSPICION: ("malignancy_suspicion", None),
    Name.ABSOLUTE_CONTRAINDICATION: ("absolute_contraindication", None),
}


def _coded_value(code: CodedConcept, table: Mapping[Any, CodedConcept] | None) -> Any:
    if table is None:
        if (code.value, code.scheme_designator) == (codes.YES.value, codes.YES.scheme_designator):
            return True
        if (code.value, code.scheme_designator) == (codes.NO.value, codes.NO.scheme_designator):
            return False
        raise KeyError(f"{code.meaning!r} is not yes or no")
    member = codes.decode(table, code)
    return member.value


def read_sr_levels(sr: Dataset) -> list[dict[str, Any]]:
    """The groups of an acuity SR as plain dicts: ``tracking_id``, ``level`` (from the finding
    site code), ``segment_number`` (None without SEG), then every value by its report key
    (edema fraction as ``edema_fraction_pct``)."""
    doc = hd.sr.Comprehensive3DSR.from_dataset(sr)
    content: Any = doc.content  # a MeasurementReport for TID 1500 documents
    groups: list[Any] = [
        *content.get_volumetric_roi_measurement_groups(),
        *content.get_image_measurement_groups(),
    ]
    out = []
    for g in groups:
        item: dict[str, Any] = {"tracking_id": g.tracking_identifier}
        sites = g.finding_sites
        item["level"] = None
        if sites:
            lv = codes.level_of_code(sites[0].value)
            item["level"] = None if lv is None else lv.value
        ref = getattr(g, "referenced_segment", None)
        numbers = None if ref is None else ref.referenced_segment_numbers
        item["segment_number"] = int(numbers[0]) if numbers else None
        item["segment_sop_instance_uid"] = (
            None if ref is None else str(ref.referenced_sop_instance_uid)
        )
        for m in g.get_measurements():
            name = _name_of(m.name)
            if name in _MEASURED:
                item[_MEASURED[name]] = float(m.value)
        for q in g.get_qualitative_evaluations():
            name = _name_of(q.name)
            if name in _EVALUATED:
                key, table = _EVALUATED[name]
                item[key] = _coded_value(q.value, table)
        out.append(item)
    return out


def _name_of(code: CodedConcept) -> Name | None:
    for n in Name:
        if (n.code.value, n.code.scheme_designator) == (code.value, code.scheme_designator):
            return n
    return None
