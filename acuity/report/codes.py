"""Coded concepts of the DICOM outputs (SR, SEG, key image).

Standard codes come from pydicom's code dictionary (``pydicom.sr.codedict.codes``, generated
from DICOM PS3.16), named here by the dictionary keyword so that they can be checked:

* vertebrae C1-L5: DICOM CID 7603 "Vertebra" (SNOMED CT), e.g. ``codes.SCT.L1Vertebra`` =
  (66794005, SCT, "L1 vertebra");
* S1: CID 7603 stops at L5, so S1 is SNOMED CT 65985001 "Structure of first sacral vertebra",
  the only code here not taken from pydicom's dictionary;
* a body without a level name: ``codes.SCT.Vertebra`` (51282000);
* segment category ``codes.cid7150.AnatomicalStructure`` (91723000, SCT);
* Genant grades 0-3 as SNOMED CT severity values ``codes.SCT.Normal`` (17621005),
  ``Mild`` (255604002), ``Moderate`` (6736007), ``Severe`` (24484000);
* yes / no: ``codes.SCT.Yes`` (373066001) / ``codes.SCT.No`` (373067005);
* units: UCUM ``mm``, ``%``, ``{ratio}``, ``1``.

What DICOM has no code for (Genant grade as a concept name, the three body heights, the STIR
edema ratio, acuity, vertebroplasty candidacy ...) uses the private coding scheme
``99ACUITY`` (designator prefix ``99`` = private, PS3.16 section 8.2), declared in each
object's Coding Scheme Identification Sequence. docs/report.md lists every code.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

from highdicom.coding_schemes import CodingSchemeIdentificationItem
from highdicom.sr import CodedConcept
from pydicom.sr.codedict import codes

from acuity.clinical.enum import Verdict
from acuity.measure.enum import Acuity, DeformityType, EdemaPattern, GenantGrade, PosteriorWall
from acuity.segment.level import VertebraLevel

#: Private coding scheme of acuity's own concepts.
E = TypeVar("E", bound=Enum)

SCHEME = "99ACUITY"
SCHEME_NAME = "acuity private codes (see docs/report.md)"


def scheme_identification() -> list[CodingSchemeIdentificationItem]:
    """The Coding Scheme Identification items to put in every object using :data:`SCHEME`."""
    return [
        CodingSchemeIdentificationItem(
            designator=SCHEME,
            name=SCHEME_NAME,
            responsible_organization="acuity project",
        )
    ]


def private(value: str, meaning: str) -> CodedConcept:
    """A concept of the private scheme (code values are short upper-case names)."""
    return CodedConcept(value=value, scheme_designator=SCHEME, meaning=meaning)


def standard(code: object) -> CodedConcept:
    """A pydicom ``Code`` as a highdicom ``CodedConcept``."""
    return CodedConcept(
        value=code.value,  # type: ignore[attr-defined]
        scheme_designator=code.scheme_designator,  # type: ignore[attr-defined]
        meaning=code.meaning,  # type: ignore[attr-defined]
    )


# --- anatomy ---------------------------------------------------------------------------------

#: SNOMED CT concept of the first sacral vertebra (not in CID 7603 nor pydicom's dictionary).
S1_VERTEBRA = CodedConcept(
    value="65985001", scheme_designator="SCT", meaning="Structure of first sacral vertebra"
)
VERTEBRA = standard(codes.SCT.Vertebra)
ANATOMICAL_STRUCTURE = standard(codes.cid7150.AnatomicalStructure)


def vertebra_code(level: VertebraLevel | str | None) -> CodedConcept:
    """SNOMED CT code of a vertebral level (CID 7603; S1: 65985001; None: "Vertebra")."""
    if level is None:
        return VERTEBRA
    lv = VertebraLevel.parse(level)
    if lv is VertebraLevel.S1:
        return S1_VERTEBRA
    return standard(getattr(codes.SCT, f"{lv.value}Vertebra"))


def level_of_code(code: CodedConcept) -> VertebraLevel | None:
    """The level a vertebra code names (inverse of :func:`vertebra_code`); None for others."""
    for lv in VertebraLevel:
        c = vertebra_code(lv)
        if (c.value, c.scheme_designator) == (code.value, code.scheme_designator):
            return lv
    return None


# --- procedure, units, yes/no ------------------------------------------------------------------

#: Procedure reported: CID 100 "MRI unspecified body region" (LOINC 25056-3).
PROCEDURE_MRI = standard(codes.cid100.MRIUnspecifiedBodyRegion)
REPORT_TITLE = standard(codes.cid7021.ImagingMeasurementReport)
UNIT_MM = standard(codes.UCUM.Millimeter)
UNIT_PERCENT = standard(codes.UCUM.Percent)
UNIT_RATIO = standard(codes.UCUM.Ratio)
UNIT_ONE = standard(codes.UCUM.NoUnits)
YES = standard(codes.SCT.Yes)
NO = standard(codes.SCT.No)
ALGORITHM_FAMILY = standard(codes.cid7162.ArtificialIntelligence)


def yes_no(value: bool) -> CodedConcept:
    return YES if value else NO


# --- measurement names (private) ---------------------------------------------------------------


class Name(Enum):
    """Concept names of the measurements and evaluations of one level (private scheme)."""

    ANTERIOR_HEIGHT = ("AHGT", "Anterior vertebral body height")
    MIDDLE_HEIGHT = ("MHGT", "Middle vertebral body height")
    POSTERIOR_HEIGHT = ("PHGT", "Posterior vertebral body height")
    BODY_WIDTH = ("BWID", "Vertebral body anteroposterior width")
    EXPECTED_HEIGHT = ("EHGT", "Expected vertebral body height")
    HEIGHT_LOSS = ("HLOSS", "Vertebral body height loss")
    POSTERIOR_DISPLACEMENT = ("PDISP", "Posterior wall displacement")
    EDEMA_RATIO = ("EDRAT", "Marrow edema signal ratio (STIR)")
    EDEMA_FRACTION = ("EDFRC", "Edematous fraction of vertebral body")
    T1_RATIO = ("T1RAT", "T1 marrow signal ratio")
    LEVEL_CONFIDENCE = ("LCONF", "Level identification confidence")
    GENANT_GRADE = ("GENANT", "Genant semiquantitative grade")
    DEFORMITY = ("DEFORM", "Vertebral deformity type")
    VERTEBRA_PLANA = ("VPLANA", "Vertebra plana")
    POSTERIOR_WALL = ("PWALL", "Posterior wall state")
    EDEMA_PATTERN = ("EDPAT", "Marrow edema pattern")
    ACUITY = ("ACUITY", "Fracture acuity")
    CANDIDACY = ("VPCAND", "Vertebroplasty candidacy (decision support)")
    PARTIAL = ("PARTFOV", "Vertebral body partly outside field of view")
    MALIGNANCY_SUSPICION = ("MALSUSP", "Malignancy suspicion flag")
    ABSOLUTE_CONTRAINDICATION = ("ABSCI", "Absolute contraindication present")
    VERTEBRAL_BODY = ("VBODY", "Vertebral body")

    @property
    def code(self) -> CodedConcept:
        return private(*self.value)


# --- coded values ---------------------------------------------------------------------------

#: Genant grades as SNOMED CT severity qualifiers.
GENANT_VALUES: dict[GenantGrade, CodedConcept] = {
    GenantGrade.NORMAL: standard(codes.SCT.Normal),
    GenantGrade.MILD: standard(codes.SCT.Mild),
    GenantGrade.MODERATE: standard(codes.SCT.Moderate),
    GenantGrade.SEVERE: standard(codes.SCT.Severe),
}


def _values(enum: type[E], table: dict[str, tuple[str, str]]) -> dict[E, CodedConcept]:
    """Coded values of every member of ``enum``: value -> (code value, meaning)."""
    missing = {str(m.value) for m in enum} - set(table)
    if missing:
        raise ValueError(f"no code for {enum.__name__} values {sorted(missing)}")
    return {m: private(*table[str(m.value)]) for m in enum}


DEFORMITY_VALUES = _values(
    DeformityType,
    {
        "none": ("DEF-NONE", "No deformity"),
        "wedge": ("DEF-WEDGE", "Wedge deformity"),
        "biconcave": ("DEF-BICONCAVE", "Biconcave deformity"),
        "crush": ("DEF-CRUSH", "Crush deformity"),
    },
)
POSTERIOR_WALL_VALUES = _values(
    PosteriorWall,
    {
        "intact": ("PW-INTACT", "Posterior wall intact"),
        "retropulsed": ("PW-RETRO", "Posterior wall retropulsed"),
        "indeterminate": ("PW-INDET", "Posterior wall indeterminate"),
    },
)
EDEMA_PATTERN_VALUES = _values(
    EdemaPattern,
    {
        "none": ("EDP-NONE", "No marrow edema"),
        "band": ("EDP-BAND", "Band-like marrow edema"),
        "diffuse": ("EDP-DIFFUSE", "Diffuse marrow edema"),
    },
)
ACUITY_VALUES = _values(
    Acuity,
    {
        "acute": ("AC-ACUTE", "Acute or subacute fracture (marrow edema)"),
        "chronic": ("AC-CHRONIC", "Chronic (healed) fracture, no marrow edema"),
        "edema_without_fracture": ("AC-EDNOFX", "Marrow edema without fracture"),
        "none": ("AC-NONE", "No fracture, no marrow edema"),
        "indeterminate": ("AC-INDET", "Acuity indeterminate"),
    },
)
VERDICT_VALUES = _values(
    Verdict,
    {
        "candidate": ("VP-CAND", "Criteria met (candidate)"),
        "not_candidate": ("VP-NOTCAND", "Criteria not met (not a candidate)"),
        "needs_review": ("VP-REVIEW", "Needs clinician review"),
    },
)


def decode(table: Mapping[E, CodedConcept], code: CodedConcept) -> E:
    """The enum member a coded value stands for (inverse of a ``*_VALUES`` table)."""
    for member, c in table.items():
        if (c.value, c.scheme_designator) == (code.value, code.scheme_designator):
            return member
    raise KeyError(
        f"({code.value}, {code.scheme_designator}, {code.meaning!r}) is not a known value"
    )
