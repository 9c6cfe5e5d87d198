"""report.html: one self-contained page for a person (images embedded as PNG data URIs).

Readable on a phone (the level table turns into one card per level on narrow screens) and
printable. Sections: summary and patient-level flags, key sagittal images, the table of
levels, what was not assessable, the series used, warnings, limitations.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from acuity.measure.enum import Acuity
from acuity.report.document import LIMITATIONS, level_name
from acuity.report.images import ACUITY_COLORS, HEAT_MAX, HEAT_MIN


@dataclass(frozen=True)
class Figure:
    """An image of the page."""

    title: str
    alt: str
    png: bytes
    caption: str


#: Short words of the acuity badges.
ACUITY_BADGES = {
    "acute": "acute",
    "chronic": "chronic (healed)",
    "edema_without_fracture": "edema, no fracture",
    "none": "no fracture",
    "indeterminate": "indeterminate",
}
ACUITY_WORDS = {
    "acute": "acute / subacute (marrow edema)",
    "chronic": "chronic (healed, no edema)",
    "edema_without_fracture": "edema without fracture",
    "none": "no fracture",
    "indeterminate": "indeterminate",
}
VERDICT_WORDS = {
    "candidate": "criteria met",
    "not_candidate": "not a candidate",
    "needs_review": "needs review",
    None: "not evaluated",
}
GRADE_WORDS = {0: "normal", 1: "mild", 2: "moderate", 3: "severe"}

_CSS = """
:root { color-scheme: light; --fg:#1b1f24; --muted:#5b6570; --line:#d6dbe0; --bg:#ffffff;
  --acute:#c62828; --chronic:#1e63c4; --warn:#b26a00; --ok:#2e7d32; }
* { box-sizing: border-box; }
body { margin:0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
  sans-serif; color:var(--fg); background:var(--bg); }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .2rem 0 .5rem; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid var(--line); }
.banner { background:#fff4e5; border:1px solid #f0c27a; padding:.6rem .8rem; border-radius:6px; }
dl.meta { display:grid; grid-template-columns: max-content 1fr; gap:.15rem 1rem; margin:.8rem 0;
  font-size:.9rem; }
dl.meta dt { color:var(--muted); }
dl.meta dd { margin:0; overflow-wrap:anywhere; }
.figures { display:flex; flex-wrap:wrap; gap:1rem; }
figure { margin:0; flex:1 1 20rem; max-width:36rem; }
figure img { width:100%; height:auto; display:block; background:#000; border-radius:4px; }
figcaption { font-size:.85rem; color:var(--muted); margin-top:.3rem; }
.legend span { display:inline-block; width:.9em; height:.9em; vertical-align:-.1em;
  margin:0 .25em 0 .6em; border-radius:2px; }
.table-wrap { overflow-x:auto; }
table { border-collapse:collapse; width:100%; font-size:.92rem; }
th, td { text-align:left; vertical-align:top; padding:.4rem .5rem; border-bottom:1px solid var(--line); }
#levels-table td { min-width: 6.5rem; }
#levels-table td.reasons { min-width: 18rem; overflow-wrap:anywhere; }
th { background:#f3f5f7; position:sticky; top:0; }
tr.fractured td:first-child { border-left:4px solid var(--warn); }
tr.acute td:first-child { border-left-color:var(--acute); }
tr.chronic td:first-child { border-left-color:var(--chronic); }
tr.normal { color:var(--muted); }
.badge { display:inline-block; padding:.05rem .45rem; border-radius:999px; font-size:.85rem;
  border:1px solid currentColor; white-space:nowrap; }
.b-acute { color:var(--acute); } .b-chronic { color:var(--chronic); }
.b-indeterminate, .b-edema_without_fracture, .b-needs_review { color:var(--warn); }
.b-candidate { color:var(--ok); } .b-not_candidate { color:var(--fg); }
ul.reasons { margin:0; padding-left:1.1rem; }
.small { font-size:.82rem; color:var(--muted); }
.flags li { margin:.15rem 0; }
footer { margin-top:2rem; font-size:.8rem; color:var(--muted); }
@media (max-width: 40rem) {
  main { padding:.6rem; }
  table, thead, tbody, tr, td { display:block; width:100%; }
  thead { display:none; }
  tr { border:1px solid var(--line); border-radius:6px; margin:.6rem 0; padding:.3rem .5rem; }
  td { border:none; padding:.2rem 0; }
  #levels-table td, #levels-table td.reasons { min-width:0; }
  td::before { content: attr(data-label); display:block; font-size:.75rem; color:var(--muted); }
  tr.fractured td:first-child { border-left:none; }
}
@media print {
  body { font-size: 11pt; }
  main { max-width:none; padding:0; }
  .banner { border-color:#999; background:none; }
  figure, tr, section.keep { break-inside: avoid; }
  th { position:static; }
  a { color:inherit; text-decoration:none; }
}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _num(v: Any, digits: int = 1, unit: str = "") -> str:
    if v is None:
        return ""
    return f"{float(v):.{digits}f}{unit}"


def _rgb(c: tuple[int, int, int]) -> str:
    return f"rgb({c[0]},{c[1]},{c[2]})"


def _date(d: str | None) -> str:
    if d and len(d) == 8 and d.isdigit():
        return f"{d[:4]}-{d[4:6]}-{d[6:]}"
    return d or "unknown"


def _badge(kind: str | None, words: Mapping[Any, str]) -> str:
    return f'<span class="badge b-{_e(kind)}">{_e(words.get(kind, kind))}</span>'


def _list(items: Sequence[str], empty: str) -> str:
    if not items:
        return f"<p>{_e(empty)}</p>"
    return "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"


def summary_sentences(report: Mapping[str, Any]) -> list[str]:
    """One plain sentence per fractured or edematous level."""
    out = []
    for lv in report["levels"]:
        grade = lv.get("genant_grade")
        if not (grade and grade >= 1) and lv["acuity"] not in ("acute", "edema_without_fracture"):
            continue
        parts = [f"{level_name(lv)}: {ACUITY_WORDS.get(lv['acuity'], lv['acuity'])}"]
        if grade:
            parts.append(
                f"Genant grade {grade} ({GRADE_WORDS[grade]}, {_num(lv['height_loss_pct'])} % height loss)"
            )
        if lv.get("candidacy"):
            parts.append(f"vertebroplasty criteria: {VERDICT_WORDS[lv['candidacy']]}")
        out.append("; ".join(parts) + ".")
    return out


def not_assessable(report: Mapping[str, Any], missing: Mapping[str, str]) -> list[str]:
    """What could not be assessed, in plain words."""
    out = []
    selection = report.get("selection") or {}
    if not selection.get("edema"):
        out.append(
            "No usable edema-sensitive series (STIR or fat-suppressed T2): acuity cannot be "
            f"assessed ({selection.get('no_edema_reason') or 'none found'})."
        )
    if not report["levels"]:
        out.append("No vertebral body was found (segmented) in this study.")
    for lv in report["levels"]:
        name = level_name(lv)
        if lv["acuity"] == "indeterminate":
            why = "; ".join(lv.get("acuity_reasons") or []) or "no reason given"
            out.append(f"{name}: acuity indeterminate ({why}).")
        if lv.get("partial"):
            out.append(f"{name}: only partly in the field of view.")
        if lv.get("heights") is None:
            out.append(f"{name}: heights not measured.")
        if lv.get("edema_ratio") is None and selection.get("edema"):
            out.append(f"{name}: edema not measured.")
    if report.get("candidacy") is None:
        out.append("Vertebroplasty candidacy was not evaluated for this report.")
    for stage in report.get("stages_pending") or []:
        out.append(f"Not run by this version of acuity: {stage}.")
    for what, why in missing.items():
        out.append(f"Images ({what}): {why}.")
    return out


def _meta(report: Mapping[str, Any]) -> str:
    sw = report["software"]
    model = sw.get("model")
    profile = report.get("profile")
    rows = [
        ("Study date", _date(report.get("study_date"))),
        ("Study", report.get("study_description") or ""),
        ("Study UID", report["study_instance_uid"]),
        ("Analysed", report.get("created", "")),
        ("Software", f"acuity {sw['version']} (report schema {report['schema_version']})"),
        (
            "Model",
            "none"
            if not model
            else f"{model['name']}"
            + (f" (sha256 {model['sha256'][:12]}…)" if model.get("sha256") else ""),
        ),
        (
            "Guideline profile",
            "not evaluated" if not profile else f"{profile['name']}: {profile['title']}",
        ),
    ]
    if report.get("processing_seconds") is not None:
        rows.append(("Processing time", f"{report['processing_seconds']:.1f} s"))
    patient = report.get("patient")
    if patient:
        rows.insert(0, ("Patient", " / ".join(str(v) for v in patient.values() if v)))
    return (
        '<dl class="meta">'
        + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows)
        + "</dl>"
    )


def _flags(report: Mapping[str, Any]) -> str:
    f = report.get("patient_flags") or {}
    items = []
    if f.get("malignancy_suspicion") is None:
        items.append("Malignancy suspicion: not evaluated (no candidacy evaluation).")
    else:
        items.append(f"Malignancy suspicion: {'YES' if f['malignancy_suspicion'] else 'no'}.")
    absolute = f.get("absolute_contraindications") or []
    items.append(
        "Absolute contraindications: " + ("; ".join(absolute) if absolute else "none found") + "."
    )
    items.extend(f"Flag: {x}" for x in f.get("flags") or [])
    if f.get("clinical_given") is False:
        items.append("No clinical data were given: candidacy uses imaging only.")
    missing = f.get("missing_clinical_fields") or []
    if missing:
        items.append("Clinical data missing for the profile: " + ", ".join(missing) + ".")
    for key, words in (
        ("fractured_levels", "Fractured levels"),
        ("acute_levels", "Acute levels"),
        ("candidate_levels", "Levels meeting the criteria"),
        ("review_levels", "Levels needing review"),
    ):
        names = f.get(key) or []
        items.append(f"{words}: {', '.join(names) if names else 'none'}.")
    return '<ul class="flags">' + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"


def _level_rows(report: Mapping[str, Any]) -> str:
    rows = []
    for lv in report["levels"]:
        name = level_name(lv)
        grade = lv.get("genant_grade")
        fractured = bool(grade and grade >= 1)
        classes = [lv["acuity"]] + (["fractured"] if fractured else [])
        if not fractured and lv["acuity"] == "none":
            classes.append("normal")
        level_cell = f"<strong>{_e(name)}</strong>"
        if lv.get("partial"):
            level_cell += " <span class='small'>(partial)</span>"
        level_cell += f"<br><span class='small'>label {lv['label']}, level confidence {_num(lv['level_confidence'], 2)}</span>"
        if grade is None:
            height = "not measured"
        else:
            height = f"grade {grade} ({GRADE_WORDS[grade]})<br>{_num(lv['height_loss_pct'])} % loss"
            h = lv.get("heights") or {}
            height += (
                f"<br><span class='small'>A/M/P {_num(h.get('anterior_mm'))}/"
                f"{_num(h.get('middle_mm'))}/{_num(h.get('posterior_mm'))} mm</span>"
            )
        if lv.get("deformity") is None:
            shape = "not measured"
        else:
            shape = _e(lv["deformity"])
            if lv.get("vertebra_plana"):
                shape += "<br><strong>vertebra plana</strong>"
            shape += f"<br>posterior wall: {_e(lv.get('posterior_wall'))}"
            if lv.get("posterior_displacement_mm") is not None:
                shape += f" ({_num(lv['posterior_displacement_mm'])} mm)"
        if lv.get("edema_ratio") is None:
            edema = "not measured"
        else:
            edema = (
                f"ratio {_num(lv['edema_ratio'], 2)}<br>{_num(100 * lv['edema_fraction'], 0)} % of body"
                f"<br>{_e(lv.get('edema_pattern'))}"
            )
        t1 = "not measured" if lv.get("t1_ratio") is None else _num(lv["t1_ratio"], 2)
        acuity_reasons = lv.get("acuity_reasons") or []
        candidacy_reasons = lv.get("candidacy_reasons") or []
        reasons_cell = ""
        if acuity_reasons:
            reasons_cell += (
                "<ul class='reasons'>"
                + "".join(f"<li>{_e(r)}</li>" for r in acuity_reasons)
                + "</ul>"
            )
        if candidacy_reasons:
            reasons_cell += (
                "<div class='small'>Candidacy:</div><ul class='reasons small'>"
                + "".join(f"<li>{_e(r)}</li>" for r in candidacy_reasons)
                + "</ul>"
            )
        cells = [
            ("Level", level_cell),
            ("Height loss / Genant", height),
            ("Shape", shape),
            ("Edema (STIR)", edema),
            ("T1 ratio", t1),
            ("Acuity", _badge(lv["acuity"], ACUITY_BADGES)),
            ("Candidacy", _badge(lv.get("candidacy"), VERDICT_WORDS)),
            ("Reasons", reasons_cell),
        ]
        tds = "".join(
            f'<td data-label="{_e(k)}" class="{_e(k.split()[0].lower())}">{v}</td>'
            for k, v in cells
        )
        rows.append(
            f'<tr id="level-{_e(name.replace("#", "n"))}" data-level="{_e(name)}" '
            f'data-label="{lv["label"]}" data-acuity="{_e(lv["acuity"])}" '
            f'class="{" ".join(classes)}">{tds}</tr>'
        )
    return "".join(rows)


def _series(report: Mapping[str, Any]) -> str:
    selection = report.get("selection") or {}
    by_stack = {s["stack_id"]: s for s in selection.get("stacks", [])}
    rows = []
    for role in ("edema", "t1", "t2"):
        stack_id = selection.get(role)
        s = by_stack.get(stack_id) if stack_id else None
        if s is None:
            rows.append(f"<tr><td>{role}</td><td colspan='3'>none chosen</td></tr>")
            continue
        why = "; ".join(s.get("reasons") or [])
        rows.append(
            f"<tr><td>{role}</td><td>{_e(s.get('series_number'))}</td>"
            f"<td>{_e(s.get('description'))}</td><td class='small'>{_e(why)}</td></tr>"
        )
    return (
        "<div class='table-wrap'><table id='series'><thead><tr><th>Role</th><th>Series</th>"
        "<th>Description</th><th>Why</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


def _figures(figures: Sequence[Figure]) -> str:
    if not figures:
        return "<p>Images are not available for this report (see below).</p>"
    legend = (
        "<p class='legend small'>Outlines of fractured levels:"
        f"<span style='background:{_rgb(ACUITY_COLORS[Acuity.ACUTE])}'></span>acute"
        f"<span style='background:{_rgb(ACUITY_COLORS[Acuity.CHRONIC])}'></span>chronic"
        f"<span style='background:{_rgb(ACUITY_COLORS[Acuity.INDETERMINATE])}'></span>other. "
        f"Edema heat (STIR): yellow at {HEAT_MIN:g}x to red at {HEAT_MAX:g}x the normal-marrow "
        "signal. Anterior is on the left.</p>"
    )
    out = []
    for f in figures:
        data = base64.b64encode(f.png).decode("ascii")
        out.append(
            f"<figure><img alt='{_e(f.alt)}' src='data:image/png;base64,{data}'>"
            f"<figcaption><strong>{_e(f.title)}</strong> {_e(f.caption)}</figcaption></figure>"
        )
    return legend + "<div class='figures'>" + "".join(out) + "</div>"


def render_html(
    report: Mapping[str, Any],
    figures: Sequence[Figure] = (),
    *,
    missing: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The page of a report (a complete HTML document)."""
    missing = missing or {}
    sentences = summary_sentences(report)
    if sentences:
        summary = _list(sentences, "")
    elif report["levels"]:
        summary = (
            "<p>No vertebral compression fracture or marrow edema was found at the levels "
            "assessed.</p>"
        )
    else:
        summary = "<p>No vertebral level could be assessed (see Not assessable).</p>"
    candidacy = report.get("candidacy") or {}
    disclaimer = candidacy.get("disclaimer")
    warnings = list(report.get("warnings") or []) + list(notes)
    levels_text = ", ".join(level_name(lv) for lv in report["levels"]) or "none"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>acuity report - spine MRI fracture acuity</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<header><h1>Vertebral fracture acuity - spine MRI</h1>",
        (
            "<p class='banner' id='disclaimer'><strong>Decision support, not a diagnosis.</strong> "
            "These results are computed automatically; check every finding on the images.</p>"
        ),
        _meta(report),
        "</header>",
        "<section id='summary' class='keep'><h2>Summary</h2>",
        summary,
        f"<p class='small'>Levels assessed (top to bottom): {_e(levels_text)}.</p>",
        "</section>",
        "<section id='patient-flags' class='keep'><h2>Patient-level flags</h2>",
        _flags(report),
        "</section>",
        "<section id='images'><h2>Key images</h2>",
        _figures(figures),
        "</section>",
        "<section id='levels'><h2>Levels</h2><div class='table-wrap'>",
        (
            "<table id='levels-table'><thead><tr><th>Level</th><th>Height loss / Genant</th>"
            "<th>Shape</th><th>Edema (STIR)</th><th>T1 ratio</th><th>Acuity</th><th>Candidacy</th>"
            "<th>Reasons</th></tr></thead><tbody>"
        ),
        _level_rows(report),
        "</tbody></table></div></section>",
        "<section id='not-assessable' class='keep'><h2>Not assessable</h2>",
        _list(not_assessable(report, missing), "Every level was assessed."),
        "</section>",
        "<section id='series-used'><h2>Series used</h2>",
        _series(report),
        "</section>",
        "<section id='warnings'><h2>Warnings</h2>",
        _list(warnings, "None."),
        "</section>",
        "<section id='limitations' class='keep'><h2>Limitations</h2>",
        f"<p>{_e(LIMITATIONS)}</p>",
        (
            "<ul><li>Acute means bone-marrow edema on the fluid-sensitive (STIR) images in a "
            "compressed body; infection, tumour and degenerative endplate changes can look the same.</li>"
            "<li>A level reported normal may still be fractured; the absence of a finding is not "
            "proof of its absence.</li>"
            "<li>Genant grades use height ratios measured automatically on the mid-sagittal plane.</li></ul>"
        ),
        f"<p>{_e(disclaimer)}</p>" if disclaimer else "",
        "</section>",
        (
            f"<footer>Rendered by acuity {_e(report['software']['version'])} from report.json "
            f"(schema {_e(report['schema_version'])}).</footer>"
        ),
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"
