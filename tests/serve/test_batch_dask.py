"""acuity batch --dask-scheduler on a LocalCluster of separate worker processes."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from acuity.cli.main import main
from acuity.pipeline import safe_uid


@pytest.fixture(scope="module")
def batch_dask_scheduler() -> Iterator[str]:
    """The address of a LocalCluster: 2 worker processes, 1 thread each."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_dask_batch_isolates_failures_and_resumes(
    tmp_path: Path,
    batch_dask_scheduler: str,
    batch_quick_study: tuple[Path, str],
    batch_broken_study: tuple[Path, str],
) -> None:
    root, out = tmp_path / "root", tmp_path / "out"
    shutil.copytree(batch_quick_study[0], root / "a" / "good")
    shutil.copytree(batch_broken_study[0], root / "b" / "broken")
    args = ["-q", "batch", str(root), "-o", str(out), "--dask-scheduler", batch_dask_scheduler]
    assert main(args) == 1
    good = out / safe_uid(batch_quick_study[1])
    # Rendered outputs, written by a dask worker process.
    for name in ("report.json", "report.html", "sr.dcm", "seg.dcm", "summary.csv", "job.json"):
        assert (good / name).is_file(), name
    with open(out / "errors.csv", newline="") as fh:
        errors = list(csv.DictReader(fh))
    assert [(e["study_instance_uid"], e["folder"], e["stage"]) for e in errors] == [
        (batch_broken_study[1], "b/broken", "load")
    ]
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(good / "summary.csv", newline="") as fh:
        study_rows = list(csv.DictReader(fh))
    assert len(rows) == len(study_rows) > 0
    assert {r["study_instance_uid"] for r in rows} == {batch_quick_study[1]}
    assert {r["folder"] for r in rows} == {"a/good"}
    batch = json.loads((out / "batch.json").read_text())
    assert batch["runner"] == f"dask {batch_dask_scheduler}"
    assert batch["counts"] == {"ok": 1, "failed": 1, "skipped": 0, "interrupted": 0}
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []

    # Resume: the good study is skipped (its files untouched), the broken one retried.
    before = (good / "job.json").stat().st_mtime_ns
    assert main(args) == 1
    assert (good / "job.json").stat().st_mtime_ns == before
    batch = json.loads((out / "batch.json").read_text())
    assert batch["counts"] == {"ok": 0, "failed": 1, "skipped": 1, "interrupted": 0}


def test_dask_scheduler_unreachable(tmp_path: Path, batch_quick_study: tuple[Path, str],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    import dask

    root = tmp_path / "root"
    shutil.copytree(batch_quick_study[0], root / "good")
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        rc = main(["-q", "batch", str(root), "-o", str(tmp_path / "out"),
                   "--dask-scheduler", "tcp://127.0.0.1:9"])
    assert rc == 1
    assert "cannot connect" in capsys.readouterr().err
