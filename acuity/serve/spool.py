"""The listener's spool folder: received instances, per-study state, results, disk use.

Layout (every name is a sanitized UID, digits and dots only)::

    SPOOL/incoming/<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm   received instances
    SPOOL/results/<StudyUID>/                                     acuity output of the study
    SPOOL/state/<StudyUID>.json                                   {"state", "reason", "updated"}
    SPOOL/tmp/                                                    files being written

A study goes ``incoming`` (instances arriving) -> ``processing`` -> ``done`` or ``failed``;
more instances of a finished study put it back to ``incoming``. Files and state files are
written under a temporary name and renamed into place, so a crash never leaves a half file.
On start, studies in ``incoming`` or ``processing`` are the ones to (re)run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from acuity.errors import AcuityError, InputError
from acuity.pipeline import safe_uid

logger = logging.getLogger(__name__)


class StudyState(str, Enum):
    """Where a spooled study is in its life."""

    INCOMING = "incoming"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


#: States whose studies are (re)scheduled when a listener starts.
PENDING_STATES = (StudyState.INCOMING, StudyState.PROCESSING)


class SpoolFullError(AcuityError):
    """Storing an instance would take the spool over its size limit."""


@dataclass(frozen=True)
class StudyRecord:
    """The state file of one spooled study."""

    key: str
    state: StudyState
    reason: str = ""
    updated: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", StudyState(self.state))


def check_uid(value: object, keyword: str) -> str:
    """``value`` as a UID usable as a file name; InputError naming ``keyword`` otherwise.

    A UID is digits and dots (at most 64 characters); anything else (``../x``, an empty
    value, letters) is refused rather than silently renamed, so two bad UIDs never collide.
    """
    text = str(value).strip().rstrip("\x00") if value is not None else ""
    if not text or safe_uid(text) != text:
        raise InputError(
            f"{keyword} {text[:80]!r} is not a UID (digits and dots, at most 64 characters)"
        )
    return text


def _tree_size(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


class Spool:
    """The spool folder of a listener; thread-safe."""

    def __init__(self, root: str | Path, *, max_bytes: int | None = None) -> None:
        if max_bytes is not None and max_bytes <= 0:
            raise InputError(f"spool size limit {max_bytes!r} must be a positive number of bytes")
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.incoming = self.root / "incoming"
        self.results = self.root / "results"
        self.state_dir = self.root / "state"
        self.tmp = self.root / "tmp"
        for folder in (self.incoming, self.results, self.state_dir, self.tmp):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"spool folder {folder} cannot be created: {exc}") from None
        self._lock = threading.Lock()
        self._states: dict[str, StudyRecord] = {}
        self._recover()
        self.used_bytes = _tree_size(self.incoming) + _tree_size(self.results)

    # -- start-up ---------------------------------------------------------------------------

    def _recover(self) -> None:
        """Read the state files; drop leftovers of interrupted writes."""
        for leftover in self.tmp.iterdir():
            _remove(leftover)
        for leftover in self.results.glob(".*"):
            _remove(leftover)  # staging folders of an interrupted run_study_job
        for path in self.state_dir.glob("*.json"):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                record = StudyRecord(
                    path.stem, StudyState(data["state"]), str(data.get("reason", "")),
                    float(data.get("updated", 0.0)),
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                logger.warning("spool state file %s unreadable (%s); study re-run", path.name, exc)
                record = StudyRecord(path.stem, StudyState.INCOMING)
            self._states[record.key] = record
        for folder in self.incoming.iterdir():
            if folder.is_dir() and folder.name not in self._states:
                self._states[folder.name] = StudyRecord(folder.name, StudyState.INCOMING)

    def pending(self) -> list[str]:
        """Keys of the studies still to run (incoming or processing), oldest first."""
        with self._lock:
            records = [r for r in self._states.values() if r.state in PENDING_STATES]
        return [r.key for r in sorted(records, key=lambda r: r.updated)]

    # -- paths and state --------------------------------------------------------------------

    def study_dir(self, key: str) -> Path:
        return self.incoming / key

    def result_dir(self, key: str) -> Path:
        return self.results / key

    def record(self, key: str) -> StudyRecord | None:
        with self._lock:
            return self._states.get(key)

    def set_state(self, key: str, state: StudyState | str, reason: str = "") -> StudyRecord:
        """Record ``state`` for the study (in memory and, atomically, in its state file)."""
        record = StudyRecord(key, StudyState(state), reason, time.time())
        with self._lock:
            self._write_state(record)
            self._states[key] = record
        return record

    def _write_state(self, record: StudyRecord) -> None:
        data = {"state": record.state.value, "reason": record.reason, "updated": record.updated}
        fd, tmp = tempfile.mkstemp(dir=self.tmp, suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, self.state_dir / f"{record.key}.json")

    # -- storing ----------------------------------------------------------------------------

    def store(
        self,
        study_uid: object,
        series_uid: object,
        sop_uid: object,
        write: Callable[[BinaryIO], None],
        size_hint: int,
    ) -> Path:
        """Write one instance with ``write(file)``; returns its path.

        Raises InputError for a UID that is not a UID, SpoolFullError when the spool would
        go over its limit (after evicting finished studies), OSError when writing fails.
        """
        study = check_uid(study_uid, "StudyInstanceUID")
        series = check_uid(series_uid, "SeriesInstanceUID")
        sop = check_uid(sop_uid, "SOPInstanceUID")
        target = self.incoming / study / series / f"{sop}.dcm"
        if not target.resolve().is_relative_to(self.incoming.resolve()):  # pragma: no cover
            raise InputError(f"SOPInstanceUID {sop!r} leads outside the spool")
        with self._lock:
            self._reserve(size_hint, keep=study)
            current = self._states.get(study)
            if current is None or current.state in (StudyState.DONE, StudyState.FAILED):
                record = StudyRecord(study, StudyState.INCOMING, "", time.time())
                self._write_state(record)
                self._states[study] = record
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.tmp, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as f:
                    write(f)
                size = os.path.getsize(tmp)
                old = target.stat().st_size if target.exists() else 0
                os.replace(tmp, target)
            except BaseException:
                _remove(Path(tmp))
                raise
        except BaseException:
            with self._lock:
                self.used_bytes -= size_hint
            raise
        with self._lock:
            self.used_bytes += size - old - size_hint
        return target

    def _reserve(self, size: int, *, keep: str) -> None:
        """Count ``size`` bytes as used, evicting finished studies if needed (lock held)."""
        if self.max_bytes is not None and self.used_bytes + size > self.max_bytes:
            finished = sorted(
                (r for r in self._states.values()
                 if r.state in (StudyState.DONE, StudyState.FAILED) and r.key != keep),
                key=lambda r: r.updated,
            )
            for record in finished:
                if self.used_bytes + size <= self.max_bytes:
                    break
                freed = 0
                for folder in (self.study_dir(record.key), self.result_dir(record.key)):
                    if folder.exists():
                        freed += _tree_size(folder)
                        _remove(folder)
                if freed:
                    logger.info("spool: evicted a finished study (%d bytes)", freed)
                self.used_bytes -= freed
            if self.used_bytes + size > self.max_bytes:
                raise SpoolFullError(
                    f"spool {self.root} is full ({self.used_bytes} of {self.max_bytes} bytes "
                    "used by studies not yet processed)"
                )
        self.used_bytes += size

    def results_size(self, key: str) -> int:
        """Bytes in the result folder of a study (0 when there is none)."""
        return _tree_size(self.result_dir(key))

    def adjust(self, delta: int) -> None:
        """Change the disk use by ``delta`` bytes (a result folder written or replaced)."""
        with self._lock:
            self.used_bytes += delta


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass
