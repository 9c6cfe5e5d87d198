"""acuity.serve.send: C-STORE SCU against an in-process storage SCP on a free port."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import StoreReceiver
from dicom_scu import sample_files

from acuity.errors import InputError
from acuity.serve.send import Destination, SendError, send_files


def _one_per_series(sample_dir: Path) -> list[Path]:
    files = sample_files(sample_dir)
    return [next(p for p in files if p.parent.name == s) for s in ("SE02", "SE03", "SE05")]


def test_send_files_stores_every_file(sample_dir: Path, store_receiver: Any) -> None:
    # SE02 explicit VR LE, SE03 JPEG-LS, SE05 RLE: three transfer syntaxes in one association
    paths = _one_per_series(sample_dir)
    result = send_files(paths, Destination.parse(store_receiver.destination), calling_aet="TESTER")
    assert result.ok and result.sent == tuple(paths) and result.failed == ()
    received = store_receiver.wait_for(3, 10.0)
    import pydicom

    sent = [pydicom.dcmread(p) for p in paths]
    assert [str(d.SOPInstanceUID) for d in received] == [str(d.SOPInstanceUID) for d in sent]
    assert [str(d.file_meta.TransferSyntaxUID) for d in received] == [
        str(d.file_meta.TransferSyntaxUID) for d in sent
    ]
    assert "3 of 3 files stored" in result.summary()


def test_send_nothing_is_a_no_op(store_receiver: Any) -> None:
    result = send_files([], Destination.parse(store_receiver.destination))
    assert result.ok and result.sent == ()


def test_rejected_association_raises(sample_dir: Path) -> None:
    receiver = StoreReceiver(allowed=["SOMEONE"])
    try:
        with pytest.raises(SendError, match="rejected.*calling AE title ACUITY"):
            send_files(_one_per_series(sample_dir)[:1], Destination.parse(receiver.destination))
        assert receiver.datasets == []
    finally:
        receiver.stop()


def test_nobody_listening_raises(sample_dir: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dest = Destination("127.0.0.1", port, "NOBODY")
    with pytest.raises(SendError, match="NOBODY"):
        send_files(_one_per_series(sample_dir)[:1], dest, timeout=5.0)


def test_not_dicom_is_input_error(tmp_path: Path, store_receiver: Any) -> None:
    bad = tmp_path / "x.dcm"
    bad.write_text("not dicom")
    with pytest.raises(InputError, match="x.dcm"):
        send_files([bad], Destination.parse(store_receiver.destination))
    with pytest.raises(InputError, match="calling AE title"):
        send_files([bad], Destination.parse(store_receiver.destination), calling_aet="")
