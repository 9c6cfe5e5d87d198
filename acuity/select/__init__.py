"""Series classification and selection: which stack is the STIR, which the T1, and why.

Classification (:func:`classify_stack`, :func:`classify_header`) reads header tags -
ScanningSequence/SequenceVariant/ScanOptions, TE/TR/TI with field strength, ImageType,
Enhanced MR functional groups, vendor private tags, Siemens protocol keys - and the
descriptions, through the declarative rules of ``pipelines/series_rules.yaml``
(:func:`load_rules`; a user can pass their own file). Every decision carries its evidence
and a confidence.

Selection (:func:`select_series`) picks the edema series (sagittal STIR, else sagittal T2
fat-suppressed, else sagittal Dixon water) and sagittal T1/T2 companions, says why each
other stack was not chosen, and takes user overrides.

Example::

    from acuity.ingest import scan_folder
    from acuity.select import select_series

    study = scan_folder("exam/").studies[0]
    selection = select_series(study)
    print(selection.edema, selection.no_edema_reason)
"""

from acuity.select.classify import classify_facts, classify_header, classify_stack
from acuity.select.enum import (
    ContrastClass,
    Decision,
    DixonComponent,
    FatSuppression,
    Role,
    Weighting,
)
from acuity.select.facts import FACTS, HeaderFacts, extract_facts, plane_from_orientation
from acuity.select.model import (
    DecisionResult,
    Evidence,
    Selection,
    SeriesClassification,
    StackAssessment,
)
from acuity.select.rules import RuleSet, load_rules
from acuity.select.selection import select_series, stack_coverage_mm

__all__ = [
    "FACTS",
    "ContrastClass",
    "Decision",
    "DecisionResult",
    "DixonComponent",
    "Evidence",
    "FatSuppression",
    "HeaderFacts",
    "Role",
    "RuleSet",
    "Selection",
    "SeriesClassification",
    "StackAssessment",
    "Weighting",
    "classify_facts",
    "classify_header",
    "classify_stack",
    "extract_facts",
    "load_rules",
    "plane_from_orientation",
    "select_series",
    "stack_coverage_mm",
]
