"""Every rendering of an analysis, from report.json (+ the maps, + the source DICOM).

``render_outputs(OUT)`` reads ``OUT/report.json``, ``OUT/labels.nii.gz`` and
``OUT/edema_ratio.nii.gz`` (when the report names them) and the source study (the report's
input folder, or ``source_dir``), and writes ``summary.csv``, ``report.html``, ``seg.dcm``,
``sr.dcm`` and ``key_image.dcm``, each atomically. An output whose inputs are missing (no
source DICOM, no label map) is skipped with the reason; an output whose rendering fails is
not written (an earlier file of that name stays) and :class:`RenderError` is raised after
the others were written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from acuity.errors import AcuityError
from acuity.io import write_atomic
from acuity.report import files
from acuity.report.dicom_common import content_digest, dataset_bytes, series_number
from acuity.report.document import with_candidacy
from acuity.report.files import KEY_IMAGE, REPORT_HTML, REPORT_JSON, SEG, SR, SUMMARY_CSV
from acuity.report.html import Figure, render_html
from acuity.report.images import compose_key_image, png_bytes, render_view, sample_plane
from acuity.report.inputs import RenderInputs, load_inputs
from acuity.report.schema import schema_problems, validate_report
from acuity.report.table import render_csv
from acuity.select.enum import Role

logger = logging.getLogger(__name__)


class RenderError(AcuityError):
    """One or more outputs could not be rendered (the others were written)."""

    def __init__(self, message: str, result: RenderResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class RenderResult:
    """Outputs written (kind -> path) and skipped (kind -> why)."""

    written: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


@dataclass
class _Views:
    """The annotated sagittal views (RGB) with their titles."""

    views: list[tuple[str, str, np.ndarray]]

    def figures(self) -> list[Figure]:
        return [
            Figure(
                title=t,
                alt=f"{t}: sagittal view with each level named",
                png=png_bytes(v),
                caption=c,
            )
            for t, c, v in self.views
        ]


def _views(inputs: RenderInputs) -> _Views | None:
    edema = inputs.sources.get(Role.EDEMA)
    t1 = inputs.sources.get(Role.T1)
    first = edema or t1
    if first is None:
        return None
    plane = sample_plane(first.volume, inputs.labels, inputs.edema_ratio if edema else None)
    views = []
    if edema is not None:
        heat = "edema heat overlay" + (
            "" if inputs.edema_ratio is not None else " (per-level mean ratio: no voxel map saved)"
        )
        views.append(
            (
                "Sagittal STIR",
                f"{edema.description}; {heat}; fractured levels outlined.",
                render_view(plane, inputs.findings, heat=True, caption="STIR"),
            )
        )
    if t1 is not None:
        p1 = (
            plane
            if edema is None
            else sample_plane(t1.volume, inputs.labels, None, x_mm=plane.x_mm)
        )
        views.append(
            (
                "Sagittal T1",
                f"{t1.description}; same plane; fractured levels outlined.",
                render_view(p1, inputs.findings, heat=False, caption="T1"),
            )
        )
    return _Views(views)


def _key_lines(report: dict[str, Any]) -> list[str]:
    flags = report.get("patient_flags") or {}
    fractured = []
    for lv in report["levels"]:
        if (lv.get("genant_grade") or 0) >= 1:
            name = lv["level"] or f"#{lv['label']}"
            verdict = lv.get("candidacy")
            fractured.append(
                f"{name} {lv['acuity']} G{lv['genant_grade']}"
                + (f" [{verdict}]" if verdict else "")
            )
    return [
        f"acuity {report['software']['version']} - DECISION SUPPORT, NOT A DIAGNOSIS - verify on the source images",
        "Fractures: "
        + (", ".join(fractured) if fractured else "none found")
        + (" | malignancy suspicion" if flags.get("malignancy_suspicion") else ""),
        "Outlines: red acute, blue chronic, orange other; STIR heat: yellow-red = marrow edema",
    ]


def render_report(out_dir: str | Path, *, source_dir: str | Path | None = None) -> RenderResult:
    """Render every output of ``out_dir``; see the module docstring."""
    out = Path(out_dir)
    path = out / REPORT_JSON
    raw = files.read_report(path)
    if schema_problems(raw):
        validate_report(raw, str(path))
    # Level verdicts, profile and flags follow the candidacy section (which `acuity
    # candidacy -o` may have replaced alone).
    report = with_candidacy(raw, raw.get("candidacy"))
    validate_report(report, str(path))
    inputs = load_inputs(out, report, None if source_dir is None else Path(source_dir))
    result = RenderResult()
    errors: list[BaseException] = []

    def emit(kind: str, name: str, make: Callable[[], bytes | str | None]) -> None:
        """Render one output in memory, then write it atomically; a failure of either is
        recorded (and raised at the end) without stopping the other outputs."""
        try:
            data = make()
            if data is None:
                return
            target = out / name
            write_atomic(target, data)
        except Exception as exc:  # noqa: BLE001 - reported, and re-raised as RenderError
            logger.error("%s not rendered: %s", name, exc)
            result.failed[kind] = f"{type(exc).__name__}: {exc}"
            errors.append(exc)
            return
        result.written[kind] = target

    emit("summary_csv", SUMMARY_CSV, lambda: render_csv(report))

    views_box: list[_Views | None] = [None]

    def make_views() -> None:
        views_box[0] = _views(inputs)

    emit("images", "(key images)", make_views)
    views = views_box[0]
    emit(
        "report_html",
        REPORT_HTML,
        lambda: render_html(
            report,
            [] if views is None else views.figures(),
            missing=inputs.missing,
            notes=inputs.notes,
        ),
    )

    source = inputs.sources
    if not source:
        why = inputs.missing.get("source") or inputs.missing.get("edema") or "no source series"
        for kind in ("seg", "sr", "key_image"):
            result.skipped[kind] = why
    else:
        label_bytes = b""
        if inputs.labels is not None and inputs.label_info is not None:
            label_bytes = (out / inputs.label_info.file).read_bytes()
        digest = content_digest(report, label_bytes)
        seg_box: list[Any] = [None]
        label_source = inputs.label_source
        if inputs.labels is None or label_source is None:
            result.skipped["seg"] = inputs.missing.get("labels") or (
                "the series the label map lies on is not available"
            )
        else:
            from acuity.report.dicom_seg import build_seg

            labels, src = inputs.labels, label_source

            def make_seg() -> bytes:
                seg_box[0] = build_seg(
                    labels,
                    src,
                    inputs.findings,
                    digest=digest,
                    series_number=series_number(report, "seg"),
                )
                return dataset_bytes(seg_box[0].dataset)

            emit("seg", SEG, make_seg)

        def make_sr() -> bytes | None:
            from acuity.report.dicom_sr import build_sr

            if not inputs.findings:
                result.skipped["sr"] = "report.json lists no vertebral level to report"
                return None

            evidence: dict[str, Any] = {}
            roles = [Role.EDEMA, Role.T1]
            if inputs.label_info is not None:
                roles.append(inputs.label_info.role)
            for role in roles:
                s = source.get(role)
                if s is not None:
                    for ds in s.headers():
                        evidence.setdefault(str(ds.SOPInstanceUID), ds)
            seg = seg_box[0]
            sr = build_sr(
                report,
                inputs.findings,
                list(evidence.values()),
                digest=digest,
                series_number=series_number(report, "sr"),
                seg=seg,
                seg_series_uid=None
                if label_source is None
                else label_source.series.series_instance_uid,
            )
            return dataset_bytes(sr)

        emit("sr", SR, make_sr)

        def make_key() -> bytes | None:
            from acuity.report.dicom_key import build_key_image

            if views is None or not views.views:
                result.skipped["key_image"] = "no source series to draw"
                return None
            first = source.get(Role.EDEMA) or source.get(Role.T1)
            assert first is not None
            headers = first.headers()
            rgb = compose_key_image([v for _, _, v in views.views], _key_lines(report))
            sc = build_key_image(
                rgb,
                headers[len(headers) // 2],
                digest=digest,
                series_number=series_number(report, "key_image"),
            )
            return dataset_bytes(sc)

        emit("key_image", KEY_IMAGE, make_key)

    for kind, why in result.skipped.items():
        logger.warning("%s not rendered: %s", kind, why)
    if errors:
        listing = "; ".join(f"{k}: {v}" for k, v in result.failed.items())
        raise RenderError(f"{out}: could not render {listing}", result) from errors[0]
    return result


def render_outputs(out_dir: Path, *, source_dir: Path | None = None) -> dict[str, Path]:
    """Render every output of ``out_dir`` from its report.json; returns kind -> path written
    (``summary_csv``, ``report_html``, ``seg``, ``sr``, ``key_image``). Outputs whose inputs are
    missing are skipped (logged); RenderError when a rendering fails (the others are written)."""
    return render_report(out_dir, source_dir=source_dir).written
