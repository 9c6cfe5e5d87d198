"""acuity.serve.listener over real associations on loopback (free ports, no sleeps).

One test runs the whole pipeline on the sample study (about 20-40 s): the round trip across
a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydicom
import pytest
from dicom_scu import c_echo, c_store, read_all, sample_files, text_sr

from acuity.errors import InputError
from acuity.serve.listener import Destination, Listener, ListenerConfig
from acuity.serve.spool import StudyState

#: Seconds allowed for one whole analysis of the sample study plus sending (2 busy cores).
PIPELINE_DEADLINE = 180.0


def _config(tmp_path: Path, **changes: Any) -> ListenerConfig:
    settings: dict[str, Any] = {
        "spool_dir": tmp_path / "spool",
        "port": 0,
        "idle_seconds": 1.0,
        "allowed_aets": ("MODALITY",),
    }
    settings.update(changes)
    return ListenerConfig(**settings)


def _check_results(datasets: list[Any], study_uid: str) -> None:
    modalities = sorted(str(ds.Modality) for ds in datasets)
    assert modalities == ["OT", "SEG", "SR"], modalities
    assert {str(ds.StudyInstanceUID) for ds in datasets} == {study_uid}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ae_title": "MUCH_TOO_LONG_AE_TITLE"}, "ae_title"),
        ({"ae_title": "BAD\\AET"}, "ae_title"),
        ({"port": 70000}, "port"),
        ({"idle_seconds": 0}, "idle_seconds"),
        ({"workers": 0}, "workers"),
        ({"max_associations": 0}, "max_associations"),
        ({"allowed_aets": ("",)}, "allowed_aets"),
        ({"max_spool_bytes": 0}, "max_spool_bytes"),
    ],
)
def test_config_is_validated(tmp_path: Path, changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError, match=field):
        _config(tmp_path, **changes)


def test_destination_parse() -> None:
    dest = Destination.parse("pacs.example.org:104:PACS")
    assert (dest.host, dest.port, dest.ae_title) == ("pacs.example.org", 104, "PACS")
    assert Destination.parse("[::1]:11112:ORTHANC").host == "::1"
    assert str(Destination.parse("[::1]:11112:ORTHANC")) == "[::1]:11112:ORTHANC"
    with pytest.raises(InputError, match="port 'x'"):
        Destination.parse("host:x:AET")
    with pytest.raises(InputError, match="not a TCP port"):
        Destination.parse("host:0:AET")
    with pytest.raises(InputError, match="AE title"):
        Destination.parse("host:104:THIS_AE_TITLE_IS_TOO_LONG")
    with pytest.raises(InputError, match="HOST:PORT:AET"):
        Destination.parse("host104")


def test_echo_and_calling_aet_allow_list(tmp_path: Path) -> None:
    with Listener(_config(tmp_path)) as listener:
        assert listener.port > 0
        _, status = c_echo(listener.port)
        assert status == 0x0000
        assoc, status = c_echo(listener.port, calling="INTRUDER")
        assert status is None and assoc.is_rejected


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
def test_bad_uids_are_refused_and_server_keeps_serving(tmp_path: Path) -> None:
    with Listener(_config(tmp_path, idle_seconds=300.0)) as listener:
        evil = text_sr(sop_uid="../../x")
        evil_study = text_sr()
        evil_study.StudyInstanceUID = "../../../../etc"
        no_series = text_sr()
        del no_series.SeriesInstanceUID
        good = text_sr()
        statuses = c_store(listener.port, [evil, evil_study, no_series, good])
        assert statuses == [0xC210, 0xC210, 0xC210, 0x0000]
        _, status = c_echo(listener.port)
        assert status == 0x0000
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.dcm"))
    expected = Path("spool/incoming") / good.StudyInstanceUID / good.SeriesInstanceUID
    assert written == [expected / f"{good.SOPInstanceUID}.dcm"]
    stored = pydicom.dcmread(tmp_path / expected / f"{good.SOPInstanceUID}.dcm")
    assert stored.SOPInstanceUID == good.SOPInstanceUID
    assert not (tmp_path / "x").exists() and not (tmp_path.parent / "x").exists()


def test_spool_limit_answers_out_of_resources(tmp_path: Path, sample_dir: Path) -> None:
    files = sample_files(sample_dir)[:12]
    limit = sum(p.stat().st_size for p in files[:4]) + 4096
    with Listener(_config(tmp_path, idle_seconds=300.0, max_spool_bytes=limit)) as listener:
        statuses = c_store(listener.port, read_all(files))
        assert statuses[:3] == [0x0000] * 3
        assert 0xA700 in statuses
        assert set(statuses) == {0x0000, 0xA700}
        assert listener.spool.used_bytes <= limit
        _, status = c_echo(listener.port)
        assert status == 0x0000
    stored = sum(p.stat().st_size for p in (tmp_path / "spool/incoming").rglob("*.dcm"))
    assert stored <= limit


def test_failed_study_is_recorded_and_listener_keeps_serving(tmp_path: Path) -> None:
    with Listener(_config(tmp_path)) as listener:
        ds = text_sr()
        assert c_store(listener.port, [ds]) == [0x0000]
        assert listener.wait_idle(120.0)
        record = listener.spool.record(ds.StudyInstanceUID)
        assert record is not None and record.state is StudyState.FAILED
        assert "no DICOM image study" in record.reason
        # still serving: echo, and the same study sent again is run again
        _, status = c_echo(listener.port)
        assert status == 0x0000
        assert c_store(listener.port, [text_sr(ds.StudyInstanceUID)]) == [0x0000]
        record = listener.spool.record(ds.StudyInstanceUID)
        assert record is not None and record.state is StudyState.INCOMING
        assert listener.wait_idle(120.0)
        record = listener.spool.record(ds.StudyInstanceUID)
        assert record is not None and record.state is StudyState.FAILED
    state = (tmp_path / "spool/state" / f"{ds.StudyInstanceUID}.json").read_text()
    assert '"failed"' in state


def test_round_trip_across_a_restart(
    tmp_path: Path, sample_dir: Path, store_receiver: Any
) -> None:
    """One whole analysis: part of the study is spooled by a listener stopped before the idle
    time; a new listener on the same spool picks it up, receives the rest, and once the study
    is idle analyses it (once) and sends SR, SEG and key image into the same study."""
    files = sample_files(sample_dir)
    first_part = read_all([p for p in files if p.parent.name in ("SE01", "SE02", "SE03")])
    rest = read_all([p for p in files if p.parent.name in ("SE04", "SE05")])
    study_uid = str(first_part[0].StudyInstanceUID)
    dest = Destination.parse(store_receiver.destination)
    with Listener(_config(tmp_path, send_to=dest, idle_seconds=300.0)) as first:
        assert c_store(first.port, first_part) == [0x0000] * len(first_part)
        assert not first.wait_idle(0.2)  # waiting for the idle time, not processed
    state = (tmp_path / "spool/state" / f"{study_uid}.json").read_text()
    assert '"incoming"' in state
    assert store_receiver.datasets == []
    with Listener(_config(tmp_path, send_to=dest, idle_seconds=4.0)) as second:
        assert c_store(second.port, rest) == [0x0000] * len(rest)
        received = store_receiver.wait_for(3, PIPELINE_DEADLINE)
        _check_results(received, study_uid)
        assert second.wait_idle(30.0)
        record = second.spool.record(study_uid)
        assert record is not None and record.state is StudyState.DONE, record
        assert "sr.dcm" in record.reason
    assert len(store_receiver.datasets) == 3  # analysed once, with every series
    stored = list((tmp_path / "spool/incoming" / study_uid).rglob("*.dcm"))
    assert len(stored) == len(files)
    assert (tmp_path / "spool/results" / study_uid / "sr.dcm").is_file()
