"""report.html rendered for real in headless Chromium: screenshots (desktop and phone) are not
blank, the DOM lists the sample study's levels, the page prints to PDF; it is self-contained."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sample_analysis import LEVELS

from acuity.report.render import RenderResult

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _chromium(chromium: str, tmp_path: Path, *args: str) -> str:
    profile = tmp_path / "chromium-profile"
    run = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


class _Rows(HTMLParser):
    """Rows of the levels table and the images of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.levels: list[dict[str, str | None]] = []
        self.img_src: list[str] = []
        self.external: list[str] = []
        self.sections: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and "data-level" in a:
            self.levels.append(a)
        if tag == "img":
            self.img_src.append(a.get("src") or "")
        if tag in ("link", "script", "iframe") or (
            tag in ("img", "source") and not (a.get("src") or "").startswith("data:")
        ):
            self.external.append(tag)
        if tag == "section" and a.get("id"):
            self.sections.append(str(a["id"]))


@pytest.fixture(scope="module")
def page(rendered: tuple[Path, RenderResult]) -> Path:
    return rendered[0] / "report.html"


def test_self_contained_and_complete(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    parser = _Rows()
    parser.feed(text)
    assert parser.external == [], "the page loads something from outside itself"
    assert len(parser.img_src) == 2 and all(
        s.startswith("data:image/png;base64,") for s in parser.img_src
    )
    assert [r["data-level"] for r in parser.levels] == LEVELS
    acuity = {r["data-level"]: r["data-acuity"] for r in parser.levels}
    assert (acuity["L1"], acuity["L3"], acuity["L2"]) == ("acute", "chronic", "none")
    assert parser.sections == [
        "summary",
        "patient-flags",
        "images",
        "levels",
        "not-assessable",
        "series-used",
        "warnings",
        "limitations",
    ]
    assert "Decision support, not a diagnosis." in text
    assert "T9: only partly in the field of view." in text
    assert 'name="viewport"' in text and "@media print" in text


def _not_blank(png: Path, min_std: float = 20.0) -> np.ndarray:
    img = np.asarray(Image.open(png).convert("RGB")).astype(float)
    assert img.std() > min_std, f"{png.name} looks blank"
    return img


@pytest.mark.parametrize(("width", "name"), [(1200, "desktop"), (390, "phone")])
def test_screenshot_is_not_blank(
    chromium: str, page: Path, tmp_path: Path, width: int, name: str
) -> None:
    shot = tmp_path / f"{name}.png"
    _chromium(
        chromium, tmp_path, f"--screenshot={shot}", f"--window-size={width},2400", page.as_uri()
    )
    img = _not_blank(shot)
    assert img.shape[1] == width
    dark = (img.mean(axis=2) < 60).mean()
    assert dark > 0.05, "the key images are not on the page"
    text_rows = (img[:200].mean(axis=2) < 128).mean(axis=1)
    assert (text_rows > 0.01).sum() > 10, "no text at the top of the page"


def test_dom_lists_the_levels(chromium: str, page: Path, tmp_path: Path) -> None:
    dom = _chromium(chromium, tmp_path, "--dump-dom", page.as_uri())
    parser = _Rows()
    parser.feed(dom)
    assert [r["data-level"] for r in parser.levels] == LEVELS
    cells = re.findall(r'<td data-label="Level" class="level"><strong>([^<]+)</strong>', dom)
    assert cells == LEVELS
    assert "L1: acute / subacute (marrow edema); Genant grade 2" in dom


def test_prints_to_pdf(chromium: str, page: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    _chromium(chromium, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 50_000
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 2
