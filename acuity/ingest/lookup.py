"""Find a series or stack in a scan by SeriesInstanceUID, stack id or series number."""

from __future__ import annotations

from acuity.errors import InputError
from acuity.ingest.model import ScanResult, Series, SeriesStack, Study


def _choices(scan: ScanResult) -> str:
    lines = []
    for study in scan.studies:
        for series in study.series:
            number = series.series_number if series.series_number is not None else "-"
            for stack in series.stacks:
                state = "" if stack.usable else " [unusable]"
                lines.append(
                    f"  {number}: {series.description or '(no description)'} -> "
                    f"{stack.stack_id} ({stack.n_slices} slices){state}"
                )
    return "\n".join(lines) if lines else "  (no image series found)"


def find_series(scan: ScanResult, key: str) -> tuple[Study, Series, SeriesStack]:
    """The study, series and stack that ``key`` names.

    ``key`` is a stack id (``UID`` or ``UID#k``), a SeriesInstanceUID of a series with a
    single stack, or a SeriesNumber (matching exactly one series with a single stack).
    Raises :class:`InputError` listing the choices when nothing, or more than one stack,
    matches.
    """
    key = key.strip()
    for study in scan.studies:
        for series in study.series:
            for stack in series.stacks:
                if stack.stack_id == key:
                    return study, series, stack
    matches = [
        (study, series)
        for study in scan.studies
        for series in study.series
        if series.series_instance_uid == key or (key.isdigit() and series.series_number == int(key))
    ]
    if len(matches) == 1:
        study, series = matches[0]
        if len(series.stacks) == 1:
            return study, series, series.stacks[0]
        ids = ", ".join(s.stack_id for s in series.stacks)
        raise InputError(
            f"series {key!r} was split into {len(series.stacks)} stacks (orientation, matrix, "
            f"pixel spacing, echo or inversion time differ): name one of {ids}"
        )
    if matches:
        raise InputError(
            f"{len(matches)} series match {key!r} (series numbers repeat across studies?): "
            f"name a SeriesInstanceUID or stack id instead; choices:\n{_choices(scan)}"
        )
    raise InputError(
        f"no series or stack matches {key!r}: give a SeriesInstanceUID, a stack id or a series "
        f"number; choices (number: description -> stack id):\n{_choices(scan)}"
    )
