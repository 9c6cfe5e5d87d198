"""acuity batch with local worker processes: isolation, outputs, resume, Ctrl-C."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
import pytest

from acuity.cli.main import main
from acuity.pipeline import AnalysisOptions, safe_uid
from acuity.serve.batch import JobStatus, plan_batch
from acuity.serve.fingerprint import settings_fingerprint

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _visible(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if not p.name.startswith(".")}


def _hidden(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name.startswith(".")]


@dataclass
class BatchRun:
    root: Path
    out: Path
    rc: int
    sample_uid: str
    quick_uid: str
    broken_uid: str
    quick_file: Path


@pytest.fixture(scope="module")
def batch_run(
    tmp_path_factory: pytest.TempPathFactory,
    batch_quick_study: tuple[Path, str],
    batch_broken_study: tuple[Path, str],
    batch_copy_flat: Any,
) -> BatchRun:
    """One batch over three studies in two layouts, with 2 workers and no rendering:
    sample_dicom in its series folders under site/patient folders, the generated study and
    the broken one flattened into one shared folder."""
    base = tmp_path_factory.mktemp("batch")
    root, out = base / "root", base / "out"
    shutil.copytree(SAMPLE, root / "siteA" / "patient1" / "exam1")
    batch_copy_flat(batch_quick_study[0], root / "flat", "q")
    batch_copy_flat(batch_broken_study[0], root / "flat", "b")
    rc = main(["-q", "batch", str(root), "-o", str(out), "--workers", "2", "--no-render"])
    first = next(p for p in sorted(SAMPLE.rglob("*.dcm")))
    sample_uid = str(pydicom.dcmread(first, stop_before_pixels=True).StudyInstanceUID)
    quick_file = min((root / "flat").glob("q_*"))
    return BatchRun(
        root, out, rc, sample_uid, batch_quick_study[1], batch_broken_study[1], quick_file
    )


def test_failure_is_isolated_and_listed(batch_run: BatchRun) -> None:
    assert batch_run.rc == 1
    rows = _csv(batch_run.out / "errors.csv")
    assert len(rows) == 1
    row = rows[0]
    assert row["study_instance_uid"] == batch_run.broken_uid
    assert row["folder"] == "flat"
    assert row["stage"] == "load"
    assert row["error"] == "DicomError"
    assert "pixel data" in row["message"]
    # No output folder, hidden or not, for the failed study.
    assert not any(safe_uid(batch_run.broken_uid) in p.name for p in batch_run.out.iterdir())


def test_outputs_of_good_studies(batch_run: BatchRun) -> None:
    out = batch_run.out
    good = {safe_uid(batch_run.sample_uid), safe_uid(batch_run.quick_uid)}
    assert _visible(out) == good | {"errors.csv", "summary.csv", "batch.json"}
    assert _hidden(out) == []
    for name in good:
        job = json.loads((out / name / "job.json").read_text())
        assert job["status"] == "ok"
        assert job["render"] is False
        assert (out / name / "report.json").is_file()
        assert (out / name / "labels.nii.gz").is_file()
    job = json.loads((out / safe_uid(batch_run.sample_uid) / "job.json").read_text())
    assert job["source_folder"] == "siteA/patient1/exam1"
    assert job["study_instance_uid"] == batch_run.sample_uid
    batch = json.loads((out / "batch.json").read_text())
    assert batch["counts"] == {"ok": 2, "failed": 1, "skipped": 0, "interrupted": 0}
    assert batch["interrupted"] is False


def test_summary_has_both_good_studies(batch_run: BatchRun) -> None:
    rows = _csv(batch_run.out / "summary.csv")
    uids = {r["study_instance_uid"] for r in rows}
    assert uids == {batch_run.sample_uid, batch_run.quick_uid}
    sample_rows = [r for r in rows if r["study_instance_uid"] == batch_run.sample_uid]
    # Each level of the sample study, with its output and source folders.
    report = json.loads((batch_run.out / safe_uid(batch_run.sample_uid) / "report.json").read_text())
    assert len(sample_rows) == len(report["levels"]) > 0
    assert {r["folder"] for r in sample_rows} == {"siteA/patient1/exam1"}
    assert {r["output"] for r in sample_rows} == {safe_uid(batch_run.sample_uid)}
    assert any(r["level"] for r in sample_rows)


def test_plan_redoes_after_settings_or_clinical_change(batch_run: BatchRun, tmp_path: Path) -> None:
    root, out = batch_run.root, batch_run.out
    same = plan_batch(root, out, AnalysisOptions(render=False))
    assert {s.study_instance_uid for s in same.skipped} == {batch_run.sample_uid, batch_run.quick_uid}
    assert [j.uid for j in same.jobs] == [batch_run.broken_uid]  # failed studies are retried
    # Another setting: every study is redone.
    other = plan_batch(root, out, AnalysisOptions(render=False, segment_on="t2"))
    assert other.skipped == [] and len(other.jobs) == 3
    assert settings_fingerprint(AnalysisOptions(render=False)) != settings_fingerprint(
        AnalysisOptions(render=True)
    )
    # --force redoes everything.
    assert plan_batch(root, out, AnalysisOptions(render=False), force=True).skipped == []
    # A clinical CSV with a row for the quick study only: only its fingerprint changes...
    # relative to a CSV without any matching row.
    header = "StudyInstanceUID,pain_score_nrs\n"
    empty = tmp_path / "none.csv"
    empty.write_text(header + "1.2.3.4,5\n")
    one = tmp_path / "one.csv"
    one.write_text(header + f"{batch_run.quick_uid},5\n")
    a = plan_batch(root, out, AnalysisOptions(render=False, clinical=empty))
    b = plan_batch(root, out, AnalysisOptions(render=False, clinical=one))
    fa = {j.uid: j.fingerprint for j in a.jobs}
    fb = {j.uid: j.fingerprint for j in b.jobs}
    assert fa[batch_run.sample_uid] == fb[batch_run.sample_uid]
    assert fa[batch_run.quick_uid] != fb[batch_run.quick_uid]


def test_resume_skips_unchanged_and_redoes_touched(batch_run: BatchRun) -> None:
    out = batch_run.out
    sample_job = out / safe_uid(batch_run.sample_uid) / "job.json"
    quick_job = out / safe_uid(batch_run.quick_uid) / "job.json"
    before = {p: p.stat().st_mtime_ns for p in (sample_job, quick_job)}
    args = ["-q", "batch", str(batch_run.root), "-o", str(out), "--no-render", "--workers"]
    assert main([*args, "2"]) == 1  # the broken study is retried and fails again
    assert {p: p.stat().st_mtime_ns for p in before} == before
    batch = json.loads((out / "batch.json").read_text())
    assert batch["counts"] == {"ok": 0, "failed": 1, "skipped": 2, "interrupted": 0}
    assert {r["study_instance_uid"] for r in _csv(out / "summary.csv")} == {
        batch_run.sample_uid,
        batch_run.quick_uid,
    }
    # Touch one input file of the generated study: only that study is redone.
    st = batch_run.quick_file.stat()
    os.utime(batch_run.quick_file, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert main([*args, "1"]) == 1
    assert sample_job.stat().st_mtime_ns == before[sample_job]
    assert quick_job.stat().st_mtime_ns != before[quick_job]
    batch = json.loads((out / "batch.json").read_text())
    assert batch["counts"] == {"ok": 1, "failed": 1, "skipped": 1, "interrupted": 0}
    assert _hidden(out) == []


def test_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    root.mkdir()
    assert main(["batch", str(root), "-o", str(root / "out")]) == 1
    assert "inside ROOT" in capsys.readouterr().err
    assert main(["batch", str(root), "-o", str(tmp_path / "out")]) == 1
    assert "no DICOM image study" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["batch", str(root), "-o", str(tmp_path / "o"), "--workers", "0"])
    with pytest.raises(SystemExit):
        main(["batch", str(root), "-o", str(tmp_path / "o"), "--workers", "2",
              "--dask-scheduler", "tcp://127.0.0.1:1"])
    (tmp_path / "c.json").write_text("{}")
    (root / "x.dcm").write_bytes(b"")
    assert main(["batch", str(root), "-o", str(tmp_path / "o"), "--clinical-csv",
                 str(tmp_path / "c.json")]) == 1
    assert "needs a .csv" in capsys.readouterr().err


def _one_study_root(tmp_path: Path, study: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(study, root / "exam")
    return root


def test_ctrl_c_signal_leaves_no_half_written_study(
    tmp_path: Path, batch_quick_study: tuple[Path, str]
) -> None:
    """A real SIGINT to the batch process while a worker analyses a study: exit 130, no
    output folder, the CSV files and batch.json written for what completed, the job recorded
    as interrupted."""
    root, out = _one_study_root(tmp_path, batch_quick_study[0]), tmp_path / "out"
    # A stale staging folder of a killed earlier run is removed.
    stale = out / ".1.2.3.partial-99999"
    stale.mkdir(parents=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "acuity.cli.main", "-q", "batch", str(root), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            if any(".partial-" in p.name and p != stale for p in out.iterdir()):
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        # The staging folder is made as the job starts, before the analysis (which loads the
        # model and takes seconds): signal at once. A fixed pause here let a quick analysis
        # finish first on a warm machine.
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err.decode()
    assert _visible(out) == {"errors.csv", "summary.csv", "batch.json"}
    assert _hidden(out) == []
    batch = json.loads((out / "batch.json").read_text())
    assert batch["interrupted"] is True
    assert batch["counts"][JobStatus.INTERRUPTED.value] == 1
    assert _csv(out / "errors.csv") == [] and _csv(out / "summary.csv") == []
