"""Fixtures of the serve tests (listener, batch, PACS integration)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from orthanc_server import OrthancServer, free_port

# --- Orthanc: a real PACS on loopback (tests/serve/test_orthanc.py) --------------------------


@pytest.fixture(scope="session")
def orthanc_binary() -> str:
    """Debian's Orthanc executable; skipped when missing (a failure in CI)."""
    # Debian puts it in /usr/sbin, which a non-root PATH may lack.
    path = shutil.which("Orthanc") or shutil.which("Orthanc", path="/usr/sbin")
    if path is None:
        msg = "Orthanc not found: install Debian's orthanc (scripts/setup.sh does it as root)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture
def orthanc(orthanc_binary: str, tmp_path: Path) -> Iterator[OrthancServer]:
    """A fresh, empty Orthanc (AET ORTHANC) on free loopback ports, stopped at teardown.

    Storage, index, configuration and log (``orthanc.log``) live in ``tmp_path/orthanc``.
    """
    server = OrthancServer(tmp_path / "orthanc", http_port=free_port(), dicom_port=free_port())
    server.start(orthanc_binary)
    try:
        yield server
    finally:
        server.stop()


# --- end of Orthanc ---------------------------------------------------------------------------


# --- listener / send / run-study: an in-process storage SCP (tests/serve/test_listener.py) ----


class StoreReceiver:
    """A storage SCP (AE title RECEIVER) on a free loopback port that keeps what it gets."""

    def __init__(self, ae_title: str = "RECEIVER", *, allowed: list[str] | None = None) -> None:
        import threading

        from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt

        self.ae_title = ae_title
        self.datasets: list[Any] = []
        self._cond = threading.Condition()
        ae = AE(ae_title=ae_title)
        if allowed:
            ae.require_calling_aet = allowed
        for cx in AllStoragePresentationContexts:
            ae.add_supported_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        self._server = ae.start_server(
            ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, self._on_store)]
        )
        self.port: int = self._server.server_address[1]

    def _on_store(self, event: Any) -> int:
        ds = event.dataset
        ds.file_meta = event.file_meta
        with self._cond:
            self.datasets.append(ds)
            self._cond.notify_all()
        return 0x0000

    @property
    def destination(self) -> str:
        return f"127.0.0.1:{self.port}:{self.ae_title}"

    def wait_for(self, n: int, timeout: float) -> list[Any]:
        """The datasets once at least ``n`` arrived; AssertionError after ``timeout`` s."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.datasets) >= n, timeout):
                raise AssertionError(f"{len(self.datasets)} of {n} datasets after {timeout} s")
            return list(self.datasets)

    def stop(self) -> None:
        self._server.shutdown()


@pytest.fixture
def store_receiver() -> Iterator[StoreReceiver]:
    """A storage SCP collecting the datasets sent to it (the ``--send-to`` destination)."""
    receiver = StoreReceiver()
    try:
        yield receiver
    finally:
        receiver.stop()


# --- end of listener / send / run-study -----------------------------------------------------


# --- batch: generated studies (tests/serve/test_batch.py, test_batch_dask.py) -----------------


def _batch_dicom_files(folder: Path) -> list[Path]:
    """The DICOM files of a generated study (not its README / TRUTH files)."""
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(("README", "TRUTH"))
    )


def _batch_make_study(folder: Path, seed: int) -> str:
    """A small generated study (acuity.sim, quick size) in ``folder``; its StudyInstanceUID."""
    import pydicom

    from acuity.sim.study import SampleConfig, make_sample_study

    make_sample_study(folder, SampleConfig.quick(seed))
    first = _batch_dicom_files(folder)[0]
    return str(pydicom.dcmread(first, stop_before_pixels=True).StudyInstanceUID)


@pytest.fixture(scope="session")
def batch_quick_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A good small study (folder, StudyInstanceUID), different from sample_dicom."""
    folder = tmp_path_factory.mktemp("batch_quick") / "study"
    return folder, _batch_make_study(folder, seed=7)


@pytest.fixture(scope="session")
def batch_broken_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A study whose DICOM files are cut at 60 % (headers readable, pixel data truncated)."""
    folder = tmp_path_factory.mktemp("batch_broken") / "study"
    uid = _batch_make_study(folder, seed=8)
    for p in _batch_dicom_files(folder):
        data = p.read_bytes()
        p.write_bytes(data[: int(len(data) * 0.6)])
    return folder, uid


def _batch_copy_flat(study: Path, dest: Path, prefix: str) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for p in _batch_dicom_files(study):
        shutil.copy2(p, dest / f"{prefix}_{p.parent.name}_{p.name}")


@pytest.fixture(scope="session")
def batch_copy_flat() -> Any:
    """``copy(study, dest, prefix)``: a study's DICOM files into the one folder ``dest``
    (which may hold other studies' files too)."""
    return _batch_copy_flat


# --- end of batch -----------------------------------------------------------------------------
