"""``acuity run-study`` (one full analysis of the sample study) and ``acuity listen``'s CLI."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from dicom_scu import c_echo

from acuity.cli.main import main

PIPELINE_DEADLINE = 180.0


def test_run_study_sends_results(
    tmp_path: Path, sample_dir: Path, store_receiver: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    status = main(
        ["run-study", str(sample_dir), "-o", str(out), "--send-to", store_receiver.destination,
         "--calling-aet", "RUNNER"]
    )
    assert status == 0, capsys.readouterr().err
    received = store_receiver.wait_for(3, 10.0)
    assert sorted(str(d.Modality) for d in received) == ["OT", "SEG", "SR"]
    import pydicom

    study_uid = pydicom.dcmread(next(sample_dir.glob("SE02/*.dcm"))).StudyInstanceUID
    assert {str(d.StudyInstanceUID) for d in received} == {str(study_uid)}
    assert (out / "sr.dcm").is_file() and (out / "report.json").is_file()
    assert "3 of 3 files stored" in capsys.readouterr().out


def test_run_study_failure_exits_1(
    tmp_path: Path, store_receiver: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    status = main(["run-study", str(empty), "--send-to", store_receiver.destination])
    assert status == 1
    assert "no DICOM image study" in capsys.readouterr().err
    assert store_receiver.datasets == []
    assert main(["run-study", str(empty)]) == 1
    assert "-o OUT, --send-to" in capsys.readouterr().err
    assert main(["run-study", str(empty), "--send-to", "nohost:104"]) == 1
    assert "HOST:PORT:AET" in capsys.readouterr().err


def test_listen_cli_serves_until_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "acuity.cli.main", "listen", "--port", "0",
         "--spool", str(tmp_path / "spool"), "--allow-aet", "MODALITY", "--idle-seconds", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60.0
        line = ""
        while not line and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
            if ready:
                line = proc.stdout.readline()
        assert "acuity listen: ACUITY on 127.0.0.1:" in line, line
        port = int(line.split("127.0.0.1:")[1].split()[0])
        _, status = c_echo(port)
        assert status == 0x0000
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30.0) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "spool/state").is_dir()
