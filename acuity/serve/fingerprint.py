"""Fingerprints of a batch's studies: is a study's output folder up to date?

The fingerprint of a study hashes its files (path, size, mtime_ns), its clinical row, and the
settings that change results: the analysis options, the acuity version, the segmentation
model files, the shipped ``pipelines/`` YAML files, a rules file and the loaded profile.
A study's output ``OUT/<StudyInstanceUID>/`` is up to date when its ``job.json`` says ``ok``
with the same fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from acuity import __version__
from acuity.errors import InputError
from acuity.ingest.model import Study
from acuity.pipeline import AnalysisOptions
from acuity.serve.batch_model import JOB_JSON


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def settings_fingerprint(options: AnalysisOptions) -> str:
    """Hash of everything besides the study's own files and clinical row that changes results.

    Reads the segmentation model files, the shipped ``pipelines/`` YAML files, the rules
    file, the profile (loaded: a bad profile raises here, before any study runs) and the
    profile folders.
    """
    from acuity.clinical import check_candidacy_inputs
    from acuity.config import pipeline_file
    from acuity.segment.network import DEFAULT_MODEL, models_dir

    profile = check_candidacy_inputs(None, options.profile, options.profile_dirs)
    parts: dict[str, Any] = {
        "acuity_version": __version__,
        "options": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in asdict(options).items()
            if k not in ("study", "clinical", "rules_file", "profile_dirs")
        },
        "profile": repr(profile),
    }
    if options.rules_file is not None:
        try:
            parts["rules_file"] = _sha256_file(options.rules_file)
        except OSError as exc:
            raise InputError(f"--rules {options.rules_file} cannot be read: {exc}") from exc
    pipelines = pipeline_file("acuity.yaml").parent
    parts["pipelines"] = {str(p.relative_to(pipelines)): _sha256_file(p) for p in _yaml_files(pipelines)}
    parts["profile_dirs"] = {
        str(p): _sha256_file(p) for d in options.profile_dirs for p in _yaml_files(Path(d))
    }
    models = models_dir()
    parts["model"] = {
        p.name: _sha256_file(p)
        for p in (models / f"{DEFAULT_MODEL}.pt", models / f"{DEFAULT_MODEL}.json")
        if p.is_file()
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def study_files(study: Study) -> list[Path]:
    """Every file holding a frame of the study, sorted, each once."""
    paths = {f.path for s in study.series for st in s.stacks for f in st.frames}
    return sorted(paths)


def study_fingerprint(study: Study, settings: str, clinical_row: str = "") -> str:
    """Hash of the settings fingerprint, the study's clinical row and its files' (path, size,
    modification time in ns): touching or replacing a file changes it."""
    h = hashlib.sha256()
    h.update(settings.encode("utf-8"))
    h.update(b"\0clinical\0" + clinical_row.encode("utf-8"))
    for path in study_files(study):
        try:
            st = path.stat()
            h.update(f"\0{path}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        except OSError:
            h.update(f"\0{path}\0missing".encode())
    return h.hexdigest()


def clinical_rows(options: AnalysisOptions) -> Callable[[Study], str]:
    """A function giving the text of a study's clinical row (what its fingerprint hashes)."""
    if options.clinical is None:
        return lambda study: ""
    from acuity.clinical import StudyKeys
    from acuity.clinical.table import ClinicalTable

    if options.clinical.suffix.lower() != ".csv":
        raise InputError(
            f"--clinical-csv {options.clinical}: a batch needs a .csv file with one row per study, "
            "keyed by StudyInstanceUID, AccessionNumber or PatientID"
        )
    table = ClinicalTable.from_csv_file(options.clinical)

    def row_of(study: Study) -> str:
        keys = StudyKeys(
            study_instance_uid=study.study_instance_uid,
            accession_number=study.accession_number or None,
            patient_id=study.patient_id or None,
        )
        try:
            row = table.lookup(keys)
        except InputError as exc:
            return f"error: {exc}"
        return "none" if row is None else repr(row.clinical)

    return row_of


def read_job_record(study_out: Path) -> dict[str, Any] | None:
    """The ``job.json`` of a study's output folder; None when absent or unreadable."""
    try:
        data = json.loads((study_out / JOB_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def up_to_date(study_out: Path, fingerprint: str) -> bool:
    rec = read_job_record(study_out)
    return rec is not None and rec.get("status") == "ok" and rec.get("fingerprint") == fingerprint
