"""Clinical criteria and per-level vertebroplasty candidacy, as decision support.

``evaluate(findings, clinical, profile)`` applies a guideline profile (declarative YAML in
``pipelines/profiles/``, each rule citing its source) to the per-level imaging findings and the
patient's clinical input, and says per level ``candidate``, ``not_candidate`` or
``needs_review`` with every reason. It never orders a treatment. See ``docs/clinical.md``.
"""

from acuity.clinical.engine import evaluate
from acuity.clinical.enum import Etiology, Flag, RuleKind, RuleResult, Verdict
from acuity.clinical.input import FIELD_NAMES, FIELD_SPECS, ClinicalInput
from acuity.clinical.model import DISCLAIMER, LevelCandidacy, PatientCandidacy, Reason
from acuity.clinical.profile import (
    DEFAULT_PROFILE,
    Profile,
    Rule,
    load_profile,
    load_profile_file,
    profile_files,
)
from acuity.clinical.section import candidacy_section, check_candidacy_inputs
from acuity.clinical.table import ClinicalTable, StudyKeys, load_clinical

__all__ = [
    "DEFAULT_PROFILE",
    "DISCLAIMER",
    "FIELD_NAMES",
    "FIELD_SPECS",
    "ClinicalInput",
    "ClinicalTable",
    "Etiology",
    "Flag",
    "LevelCandidacy",
    "PatientCandidacy",
    "Profile",
    "Reason",
    "Rule",
    "RuleKind",
    "RuleResult",
    "StudyKeys",
    "Verdict",
    "candidacy_section",
    "check_candidacy_inputs",
    "evaluate",
    "load_clinical",
    "load_profile",
    "load_profile_file",
    "profile_files",
]
