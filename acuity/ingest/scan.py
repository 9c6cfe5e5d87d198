"""Index a folder of DICOM files into studies, series and stacks (headers only).

:func:`scan_folder` walks a folder recursively (any file name, with or without ``.dcm``,
DICOMDIR or not), reads each file's header without pixel data, and groups image instances
by StudyInstanceUID, then SeriesInstanceUID. A series whose frames differ in orientation,
matrix size, pixel spacing, echo time, inversion time or image flavour is split into stacks; each stack is
ordered along its slice normal (:mod:`acuity.ingest.geometry`). Nothing here raises for bad
input: unreadable and non-image files go to :attr:`ScanResult.skipped` with the reason, and
a series that cannot be rebuilt gets :attr:`Series.problems` and stacks with an
``unusable_reason``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from pydicom.dataset import Dataset

from acuity.errors import InputError
from acuity.ingest.enum import StackProblem
from acuity.ingest.geometry import order_frames
from acuity.ingest.header import (
    FrameProblem,
    Header,
    NotAnImage,
    first_string,
    frames_of,
    integer,
    read_header,
    strings,
)
from acuity.ingest.model import (
    Frame,
    ScanResult,
    Series,
    SeriesStack,
    SkippedFile,
    StackIssue,
    Study,
)

logger = logging.getLogger(__name__)

#: Frames whose ImageOrientationPatient cosines differ by at most this are one orientation.
ORIENTATION_TOLERANCE = 1e-3
#: Pixel spacings (mm) that differ by at most this are equal.
PIXEL_SPACING_TOLERANCE_MM = 1e-3
#: Echo or inversion times (ms) that differ by at most this are equal.
TIME_TOLERANCE_MS = 1e-2

ProgressCallback = Callable[[int, int], None]


def scan_folder(root: str | Path, *, progress: ProgressCallback | None = None) -> ScanResult:
    """Index every DICOM image under ``root`` (recursively) by reading headers only.

    ``progress(done, total)`` is called after each file. Raises :class:`InputError` only
    when ``root`` is not a folder; a bad file never stops the scan.
    ``ScanResult.n_files`` counts every file found (images, skipped files and DICOMDIRs);
    a DICOMDIR is not an image and not a failure, so it is not in ``skipped``.
    """
    root = Path(root)
    if not root.exists():
        raise InputError(f"{root} does not exist: pass the folder that holds the DICOM files")
    if not root.is_dir():
        raise InputError(f"{root} is a file, not a folder: pass the folder that holds it")
    skipped: list[SkippedFile] = []
    paths = _list_files(root, skipped)
    total = len(paths)
    headers: list[Header] = []
    seen: dict[str, Path] = {}
    for done, path in enumerate(paths, start=1):
        result = read_header(path)
        if isinstance(result, NotAnImage):
            if result.failure:
                skipped.append(SkippedFile(path, result.reason))
            logger.debug("not indexed: %s: %s", path.name, result.reason)
        else:
            sop = first_string(result.dataset, "SOPInstanceUID")
            if sop in seen:
                reason = f"duplicate of {seen[sop]} (same SOPInstanceUID): ignored"
                skipped.append(SkippedFile(path, reason))
            else:
                seen[sop] = path
                headers.append(result)
        if progress is not None:
            progress(done, total)
    studies = _build_studies(headers)
    logger.info(
        "scanned %d files: %d studies, %d series, %d skipped",
        total,
        len(studies),
        sum(len(s.series) for s in studies),
        len(skipped),
    )
    return ScanResult(root=root, studies=studies, skipped=skipped, n_files=total)


def _list_files(root: Path, skipped: list[SkippedFile]) -> list[Path]:
    def on_error(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        skipped.append(SkippedFile(where, f"cannot list folder: {exc.strerror or exc}"))

    paths: list[Path] = []
    for folder, dirs, files in os.walk(root, onerror=on_error):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_file():
                paths.append(path)
    return paths


def _text(ds: Dataset, keyword: str) -> str:
    """A (character-set decoded) text value, "" when absent or unreadable; used once per
    series or study."""
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - a corrupt element must not stop the scan
        return ""
    return "" if value is None else str(value)


def _ascii(ds: Dataset, keyword: str) -> str:
    """An ASCII-only value (dates, times, codes) from the raw bytes: fast, per instance."""
    return "\\".join(strings(ds, keyword) or [])


def _build_studies(headers: Sequence[Header]) -> list[Study]:
    by_study: dict[str, dict[str, list[Header]]] = {}
    for h in headers:
        study_uid = first_string(h.dataset, "StudyInstanceUID")
        series_uid = first_string(h.dataset, "SeriesInstanceUID")
        by_study.setdefault(study_uid, {}).setdefault(series_uid, []).append(h)
    studies = []
    for study_uid, by_series in by_study.items():
        first = next(iter(by_series.values()))[0].dataset
        series = [_build_series(uid, hs) for uid, hs in by_series.items()]
        series.sort(
            key=lambda s: (s.series_number is None, s.series_number or 0, s.series_instance_uid)
        )
        studies.append(
            Study(
                study_instance_uid=study_uid,
                study_date=_text(first, "StudyDate"),
                description=_text(first, "StudyDescription"),
                accession_number=_text(first, "AccessionNumber"),
                series=series,
                patient_id=_text(first, "PatientID"),
            )
        )
    studies.sort(key=lambda s: (s.study_date, s.study_instance_uid))
    return studies


def _acquired(ds: Dataset) -> str:
    """``YYYYMMDDHHMMSS`` (or a prefix) of the acquisition, from the best tags present."""
    value = _ascii(ds, "AcquisitionDateTime")
    if not value:
        for date_kw, time_kw in (
            ("AcquisitionDate", "AcquisitionTime"),
            ("SeriesDate", "SeriesTime"),
            ("ContentDate", "ContentTime"),
        ):
            date = _ascii(ds, date_kw)
            if date:
                value = date + _ascii(ds, time_kw)
                break
    value = value.split(".")[0].split("+")[0].split("-")[0]
    return value[:14] if len(value) >= 8 and value[:14].isdigit() else ""


def _same_stack(a: Frame, b: Frame) -> bool:
    def close(x: float | None, y: float | None, tol: float) -> bool:
        if x is None or y is None:
            return x is None and y is None
        return abs(x - y) <= tol

    return (
        a.rows == b.rows
        and a.columns == b.columns
        and all(abs(x - y) <= ORIENTATION_TOLERANCE for x, y in zip(a.orientation, b.orientation))
        and all(
            abs(x - y) <= PIXEL_SPACING_TOLERANCE_MM
            for x, y in zip(a.pixel_spacing, b.pixel_spacing)
        )
        and close(a.echo_time, b.echo_time, TIME_TOLERANCE_MS)
        and close(a.inversion_time, b.inversion_time, TIME_TOLERANCE_MS)
        and a.image_flavor == b.image_flavor
    )


def split_stacks(frames: Sequence[Frame]) -> list[list[Frame]]:
    """Group frames that share orientation, matrix, pixel spacing, TE, TI and image flavour
    (ImageType / FrameType from the third value on: a Dixon series holding water, fat,
    in- and opposed-phase images, or magnitude and phase, becomes one stack per flavour).

    Groups come in a deterministic order: by echo time, inversion time, then the smallest
    InstanceNumber (the acquisition order of a 3-plane localizer), then file path.
    """
    groups: list[list[Frame]] = []
    for frame in sorted(frames, key=lambda f: (str(f.path), f.frame_index or 0)):
        for group in groups:
            if _same_stack(group[0], frame):
                group.append(frame)
                break
        else:
            groups.append([frame])

    def key(group: list[Frame]) -> tuple[float, float, float, float, int, str]:
        f = group[0]
        numbers = [g.instance_number for g in group if g.instance_number is not None]
        return (
            f.echo_time if f.echo_time is not None else -1.0,
            f.inversion_time if f.inversion_time is not None else -1.0,
            min(numbers) if numbers else float("inf"),
            min(g.frame_index or 0 for g in group),
            len(group),
            str(group[0].path),
        )

    return sorted(groups, key=key)


def _problem_summary(problems: Sequence[FrameProblem], n_instances: int) -> str:
    first = problems[0]
    names = ", ".join(p.path.name for p in problems[:3])
    more = f", ... ({len(problems)} in all)" if len(problems) > 3 else ""
    return (
        f"{len(problems)} of {n_instances} instance(s) cannot be placed in space "
        f"({first.message}; files: {names}{more}); the series cannot be rebuilt from its "
        "headers: re-export it from the scanner or PACS with complete headers"
    )


def _build_series(series_uid: str, headers: Sequence[Header]) -> Series:
    frames: list[Frame] = []
    problems: list[FrameProblem] = []
    for h in headers:
        result = frames_of(h)
        if isinstance(result, FrameProblem):
            problems.append(result)
        else:
            frames.extend(result)
    header_of = {h.path: h.dataset for h in headers}
    first = headers[0].dataset
    series_problems: list[str] = []
    no_geometry: StackIssue | None = None
    if problems:
        message = _problem_summary(problems, len(headers))
        series_problems.append(message)
        no_geometry = StackIssue(StackProblem.NO_GEOMETRY, message)

    stacks: list[SeriesStack] = []
    groups = split_stacks(frames)
    if not groups:
        assert no_geometry is not None
        stacks.append(
            SeriesStack(
                stack_id=series_uid,
                series_instance_uid=series_uid,
                frames=[],
                geometry=None,
                header=first,
                issues=[no_geometry],
                unusable_reason=no_geometry.message,
            )
        )
    for k, group in enumerate(groups, start=1):
        ordered = order_frames(group)
        stack_id = series_uid if len(groups) == 1 else f"{series_uid}#{k}"
        issues = list(ordered.issues)
        reasons = [ordered.unusable_reason] if ordered.unusable_reason else []
        if ordered.unusable_reason:
            series_problems.append(f"stack {stack_id}: {ordered.unusable_reason}")
        if no_geometry is not None:
            issues.insert(0, no_geometry)
            reasons.insert(0, no_geometry.message)
        stacks.append(
            SeriesStack(
                stack_id=stack_id,
                series_instance_uid=series_uid,
                frames=ordered.frames,
                geometry=ordered.geometry,
                header=header_of[ordered.frames[0].path],
                issues=issues,
                unusable_reason="; ".join(reasons) or None,
            )
        )
    acquired = sorted(a for a in (_acquired(h.dataset) for h in headers) if a)
    series_number = integer(strings(first, "SeriesNumber"))
    return Series(
        series_instance_uid=series_uid,
        study_instance_uid=first_string(first, "StudyInstanceUID"),
        series_number=series_number,
        description=_text(first, "SeriesDescription"),
        modality=_text(first, "Modality"),
        sop_class_uid=_text(first, "SOPClassUID"),
        enhanced=any("PerFrameFunctionalGroupsSequence" in h.dataset for h in headers),
        stacks=stacks,
        acquired=acquired[0] if acquired else "",
        problems=series_problems,
    )
