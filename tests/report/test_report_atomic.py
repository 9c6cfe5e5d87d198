"""Every output is written atomically: a failing render leaves no partial file (an earlier file
stays as it was), and a writer killed in the middle of a file leaves the old file."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import SimpleITK as sitk

from acuity.report.files import read_report
from acuity.report.render import RenderError, render_report

OLD = b"old content of an earlier run\n"


def _stray(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith("."))


def test_failing_render_leaves_no_partial_file(fresh: Path) -> None:
    # A label map moved 1 m away: nothing of it lies on the source series, the SEG fails.
    labels = sitk.ReadImage(str(fresh / "labels.nii.gz"))
    labels.SetOrigin(tuple(v + 1000.0 for v in labels.GetOrigin()))
    sitk.WriteImage(labels, str(fresh / "labels.nii.gz"))
    (fresh / "seg.dcm").write_bytes(OLD)
    with pytest.raises(RenderError, match="could not render seg: DicomError") as exc:
        render_report(fresh)
    result = exc.value.result
    assert set(result.failed) == {"seg"}
    assert (fresh / "seg.dcm").read_bytes() == OLD, "the earlier seg.dcm was touched"
    assert {"summary_csv", "report_html", "sr", "key_image"} <= set(result.written)
    assert _stray(fresh) == []


def test_failing_write_leaves_no_partial_file(fresh: Path) -> None:
    (fresh / "report.html").mkdir()  # a folder where the page goes: os.replace fails
    with pytest.raises(RenderError, match="could not render report_html"):
        render_report(fresh, source_dir=fresh / "no-source")
    assert (fresh / "report.html").is_dir() and not any((fresh / "report.html").iterdir())
    assert (fresh / "summary.csv").is_file()
    assert _stray(fresh) == []


def _killed_midway(code: str, limit: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child that is killed (SIGXFSZ) as soon as it writes past ``limit``
    bytes into any file: a writer dying in the middle of a file, deterministically."""

    def limit_writes() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # Python ignores SIGXFSZ (a write past the limit then fails with EFBIG); restore the
    # default action, which kills the process.
    prelude = "import signal; signal.signal(signal.SIGXFSZ, signal.SIG_DFL)\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limit_writes,
    )


def test_killed_renderer_leaves_the_old_file(fresh: Path) -> None:
    (fresh / "report.html").write_bytes(OLD)
    code = f"from acuity.report.render import render_report; render_report({str(fresh)!r})"
    run = _killed_midway(code, 200_000, fresh)  # summary.csv fits, report.html (~550 kB) not
    assert run.returncode == -signal.SIGXFSZ, run.stderr[-2000:]
    assert (fresh / "report.html").read_bytes() == OLD
    assert (fresh / "summary.csv").read_text().startswith("study_instance_uid,")
    partial = [fresh / n for n in _stray(fresh)]
    assert len(partial) == 1 and partial[0].name.startswith(".report.html.")
    assert partial[0].stat().st_size == 200_000, "the child died in the middle of the page"
    # The next run cleans nothing up by itself, but renders over the old file normally.
    partial[0].unlink()
    render_report(fresh, source_dir=fresh / "no-source")
    assert (fresh / "report.html").read_text().rstrip().endswith("</html>")


def test_killed_analysis_writer_leaves_the_old_report(fresh: Path, sample_dir: Path) -> None:
    before = (fresh / "report.json").read_bytes()
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from pathlib import Path\n"
        "from sample_analysis import make_analysis\n"
        f"make_analysis(Path({str(sample_dir)!r}), Path({str(fresh)!r}))\n"
    )
    # labels.nii.gz (~6 kB) fits; edema_ratio.nii.gz (~1.6 MB) does not, report.json comes last.
    run = _killed_midway(code, 500_000, fresh)
    assert run.returncode == -signal.SIGXFSZ, run.stderr[-2000:]
    assert (fresh / "report.json").read_bytes() == before
    json.loads(before)
    assert read_report(fresh / "report.json")["levels"]
    assert sitk.ReadImage(str(fresh / "edema_ratio.nii.gz")).GetSize() == (224, 288, 15)
