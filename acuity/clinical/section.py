"""The ``candidacy`` section of report.json, for the pipeline and the ``candidacy`` command."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from acuity.clinical.engine import evaluate
from acuity.clinical.input import ClinicalInput
from acuity.clinical.profile import Profile, load_profile
from acuity.clinical.table import ClinicalTable, StudyKeys, load_clinical
from acuity.measure.model import LevelFinding

logger = logging.getLogger(__name__)


def candidacy_section(
    findings: Sequence[LevelFinding],
    clinical: str | Path | ClinicalInput | None,
    profile: Profile | str | Path | None = None,
    *,
    keys: StudyKeys | None = None,
    profile_dirs: Sequence[str | Path] = (),
) -> dict[str, Any]:
    """Evaluate candidacy and return it as a JSON-able dict.

    ``clinical`` is a ``.json`` file (one study), a ``.csv`` file (the row of the study with
    ``keys``), a :class:`ClinicalInput`, or None (imaging-only verdicts). ``profile`` is a
    profile name or a YAML path (None: the default profile), searched in ``profile_dirs`` too,
    or a loaded :class:`Profile`. Raises InputError / ConfigError for bad input or profiles.
    """
    prof = profile if isinstance(profile, Profile) else load_profile(profile, profile_dirs)
    clinical_info: dict[str, Any] = {"file": None, "source": None, "fields": {}}
    extra_note = ""
    if isinstance(clinical, ClinicalInput):
        data: ClinicalInput | None = clinical
    elif clinical is None:
        data = None
    else:
        path = Path(clinical)
        clinical_info["file"] = str(path)
        data = load_clinical(path, keys)
        if data is None:
            extra_note = (
                f" No row of {path.name} matches this study (by StudyInstanceUID, "
                "AccessionNumber or PatientID)."
            )
            logger.warning("%s: no clinical row matches this study", path.name)
    if data is not None:
        clinical_info["source"] = data.source
        clinical_info["fields"] = data.to_dict()
    result = evaluate(findings, data, prof)
    out = result.to_dict()
    out["note"] = out["note"] + extra_note
    out["profile_file"] = prof.source
    out["clinical_input"] = clinical_info
    return out


def check_candidacy_inputs(
    clinical: str | Path | None,
    profile: str | Path | None = None,
    profile_dirs: Sequence[str | Path] = (),
) -> Profile:
    """Load the profile and read the whole clinical file once, so that a bad profile or a
    malformed clinical file fails before a long imaging run; returns the loaded profile."""
    prof = load_profile(profile, profile_dirs)
    if clinical is not None:
        path = Path(clinical)
        if path.suffix.lower() == ".csv":
            ClinicalTable.from_csv_file(path)
        else:
            load_clinical(path)
    return prof
