"""Batch clinical input: a CSV file with one row per study, and finding a study's row.

Columns: any of the key columns ``StudyInstanceUID``, ``AccessionNumber``, ``PatientID``
(letter case, spaces and underscores ignored: ``study_instance_uid`` works too) and the
clinical fields of :data:`acuity.clinical.input.FIELD_NAMES`. A row matches a study when
every key filled in both agrees and at least one does. Messages never repeat an accession
number or patient ID; they name the row.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from acuity.clinical.input import FIELD_NAMES, ClinicalInput, unknown_name_message
from acuity.errors import InputError
from acuity.io import read_text

logger = logging.getLogger(__name__)

#: CSV key column -> StudyKeys attribute, in lookup order.
KEY_COLUMNS: dict[str, str] = {
    "StudyInstanceUID": "study_instance_uid",
    "AccessionNumber": "accession_number",
    "PatientID": "patient_id",
}
_KEY_BY_NORMAL = {re.sub(r"[^a-z0-9]", "", k.lower()): k for k in KEY_COLUMNS}
_MAX_PROBLEMS = 20


@dataclass(frozen=True)
class StudyKeys:
    """What identifies a study when looking up its clinical row (all optional)."""

    study_instance_uid: str | None = None
    accession_number: str | None = None
    patient_id: str | None = None

    def __post_init__(self) -> None:
        for name in KEY_COLUMNS.values():
            v = getattr(self, name)
            if v is not None:
                if not isinstance(v, str):
                    raise TypeError(f"StudyKeys.{name} must be a string or None, got {v!r}")
                object.__setattr__(self, name, v.strip() or None)

    def items(self) -> list[tuple[str, str]]:
        """(column, value) of the keys given."""
        out = []
        for column, attr in KEY_COLUMNS.items():
            v = getattr(self, attr)
            if v is not None:
                out.append((column, v))
        return out


@dataclass(frozen=True)
class ClinicalRow:
    """One data row of a clinical CSV file."""

    #: Line number in the file (the header is line 1).
    line: int
    keys: StudyKeys
    clinical: ClinicalInput


@dataclass(frozen=True)
class ClinicalTable:
    """The rows of a clinical CSV file; StudyInstanceUID and AccessionNumber are unique."""

    source: str
    rows: tuple[ClinicalRow, ...]

    def __post_init__(self) -> None:
        for column in ("StudyInstanceUID", "AccessionNumber"):
            attr = KEY_COLUMNS[column]
            seen: dict[str, int] = {}
            for row in self.rows:
                v = getattr(row.keys, attr)
                if v is None:
                    continue
                if v in seen:
                    raise InputError(
                        f"{self.source}: lines {seen[v]} and {row.line} have the same {column}; "
                        "keep one row per study"
                    )
                seen[v] = row.line

    def lookup(self, keys: StudyKeys) -> ClinicalRow | None:
        """The row of the study with ``keys``; None when no row matches.

        InputError when several rows match (e.g. two rows keyed only by the same PatientID).
        """
        given = keys.items()
        if not given:
            raise InputError(
                f"{self.source}: the study has no StudyInstanceUID, AccessionNumber or PatientID "
                "to find its row by"
            )
        matches = [row for row in self.rows if _matches(row.keys, keys)]
        if len(matches) > 1:
            lines = ", ".join(str(r.line) for r in matches)
            raise InputError(
                f"{self.source}: lines {lines} all match this study; add a StudyInstanceUID or "
                "AccessionNumber column value so that one row matches"
            )
        return matches[0] if matches else None

    @classmethod
    def from_csv_file(cls, path: str | Path) -> ClinicalTable:
        """Read and validate every row (all problems reported together, by line)."""
        p = Path(path)
        text = read_text(p, "clinical file", encoding="utf-8-sig")
        return cls.from_csv_text(text, source=p.name)

    @classmethod
    def from_csv_text(cls, text: str, source: str = "clinical CSV") -> ClinicalTable:
        lines = text.splitlines()
        if not lines or not lines[0].strip():
            raise InputError(f"{source}: empty CSV file; the first line must name the columns")
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
                lines[0], delimiters=",;\t"
            )
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(lines, dialect)
        header = [h.strip() for h in next(reader)]
        columns: list[tuple[str, str]] = []  # (kind "key"/"field", name)
        problems: list[str] = []
        allowed = list(KEY_COLUMNS) + list(FIELD_NAMES)
        for h in header:
            key = _KEY_BY_NORMAL.get(re.sub(r"[^a-z0-9]", "", h.lower()))
            if key is not None:
                columns.append(("key", key))
            elif h.lower() in FIELD_NAMES:
                columns.append(("field", h.lower()))
            else:
                problems.append(unknown_name_message(h, allowed, "column"))
        names = [n for _, n in columns]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            problems.append(f"columns {dups} appear more than once")
        if not any(kind == "key" for kind, _ in columns) and not problems:
            problems.append(
                "no key column: add one of StudyInstanceUID, AccessionNumber, PatientID "
                "so that each row can be matched to its study"
            )
        if problems:
            raise InputError(f"{source}: header: " + "; ".join(problems))
        rows: list[ClinicalRow] = []
        for line_no, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            where = f"{source} line {line_no}"
            if len(cells) != len(columns):
                problems.append(f"{where}: {len(cells)} cells, the header has {len(columns)}")
                continue
            keys: dict[str, str] = {}
            values: dict[str, str | None] = {}
            for (kind, name), cell in zip(columns, cells, strict=True):
                if kind == "key":
                    if cell.strip():
                        keys[KEY_COLUMNS[name]] = cell.strip()
                else:
                    values[name] = cell
            if not keys:
                problems.append(f"{where}: no StudyInstanceUID, AccessionNumber or PatientID")
                continue
            try:
                clinical = ClinicalInput.from_csv_row(values, source=where)
            except InputError as exc:
                problems.append(str(exc))
                continue
            rows.append(ClinicalRow(line_no, StudyKeys(**keys), clinical))
        if problems:
            more = len(problems) - _MAX_PROBLEMS
            shown = problems[:_MAX_PROBLEMS] + ([f"... and {more} more"] if more > 0 else [])
            raise InputError("; ".join(shown))
        logger.info("%s: %d clinical rows", source, len(rows))
        return cls(source, tuple(rows))


def _matches(row: StudyKeys, study: StudyKeys) -> bool:
    shared = 0
    for attr in KEY_COLUMNS.values():
        a, b = getattr(row, attr), getattr(study, attr)
        if a is None or b is None:
            continue
        if a != b:
            return False
        shared += 1
    return shared > 0


def load_clinical(path: str | Path, keys: StudyKeys | None = None) -> ClinicalInput | None:
    """The clinical input for a study from a ``.json`` file (one patient) or a ``.csv`` file
    (its row, found by ``keys``; None when no row matches)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".json":
        return ClinicalInput.from_json_file(p)
    if suffix == ".csv":
        row = ClinicalTable.from_csv_file(p).lookup(keys or StudyKeys())
        return None if row is None else row.clinical
    raise InputError(
        f"clinical file {p} must be .json (one study) or .csv (one row per study), "
        f"not {suffix or 'without extension'}"
    )
