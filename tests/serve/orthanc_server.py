"""A throw-away Orthanc PACS for the integration tests: started as a subprocess on loopback
with a JSON configuration, storage and logs in a temporary folder, driven through its REST
API with urllib (stdlib).

Orthanc is Debian's ``orthanc`` package (scripts/setup.sh installs it as root); the tests
start their own instance and never the package's service.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: The AE title of the test Orthanc.
ORTHANC_AET = "ORTHANC"

#: Seconds Orthanc gets to answer GET /system after it is started.
STARTUP_SECONDS = 30.0


def free_port() -> int:
    """A TCP port free on loopback right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.2
) -> T:
    """Call ``probe`` until it returns something other than None; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached within {timeout:.0f} s")
        time.sleep(interval)


def is_dicom_file(path: Path) -> bool:
    """A Part 10 file (``DICM`` after the 128-byte preamble)."""
    with path.open("rb") as f:
        head = f.read(132)
    return len(head) == 132 and head[128:] == b"DICM"


@dataclass
class OrthancServer:
    """One running Orthanc; ``stop()`` ends it."""

    workdir: Path
    http_port: int
    dicom_port: int
    aet: str = ORTHANC_AET
    #: Configuration options added to (or replacing) those of :meth:`config`.
    extra_config: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log_file(self) -> Path:
        return self.workdir / "orthanc.log"

    def config(self) -> dict[str, Any]:
        return {
            "Name": "acuity-test",
            "StorageDirectory": str(self.workdir / "storage"),
            "IndexDirectory": str(self.workdir / "index"),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomAet": self.aet,
            "DicomCheckCalledAet": False,
            # The acuity port is only known once the listener runs: the test sets it with
            # PUT /modalities/acuity. This entry documents the shape.
            "DicomModalities": {"acuity": ["ACUITY", "127.0.0.1", 104]},
            "DicomAssociationCloseDelay": 0,
            "SaveJobs": False,
            "Plugins": [],
            **self.extra_config,
        }

    # --- life cycle ------------------------------------------------------------------------

    def start(self, binary: str) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        cfg = self.workdir / "orthanc.json"
        cfg.write_text(json.dumps(self.config(), indent=2))
        self.process = subprocess.Popen(
            [binary, f"--logfile={self.log_file}", "--no-jobs", str(cfg)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(self._ready, STARTUP_SECONDS, f"Orthanc at {self.url}/system")
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> dict[str, Any] | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(
                f"Orthanc exited with status {self.process.returncode} at start:\n{self.log_tail()}"
            )
        try:
            system = self.get("/system")
        except (OSError, urllib.error.URLError):
            return None
        return system if isinstance(system, dict) else None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no Orthanc log)"

    # --- REST ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: bytes | dict[str, Any] | list[Any] | None = None,
        *,
        content_type: str = "application/json",
        timeout: float = 60.0,
    ) -> Any:
        """JSON of the answer (raw bytes when it is not JSON); HTTP errors raise with the body."""
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise AssertionError(f"Orthanc {method} {path}: HTTP {exc.code}: {detail}") from None
        if resp.headers.get_content_type() == "application/json":
            return json.loads(raw) if raw else None
        return raw

    def get(self, path: str) -> Any:
        return self.request("GET", path, timeout=10.0)

    def post(self, path: str, body: bytes | dict[str, Any] | list[Any], **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PUT", path, body)

    def upload(self, folder: Path) -> list[str]:
        """POST every DICOM file under ``folder`` to /instances; the Orthanc study IDs."""
        studies: list[str] = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and is_dicom_file(p)):
            answer = self.post("/instances", path.read_bytes(), content_type="application/dicom")
            if answer["Status"] not in {"Success", "AlreadyStored"}:
                raise AssertionError(f"Orthanc did not store {path}: {answer}")
            if answer["ParentStudy"] not in studies:
                studies.append(answer["ParentStudy"])
        return studies

    def set_modality(self, name: str, aet: str, host: str, port: int) -> None:
        self.put(f"/modalities/{name}", {"AET": aet, "Host": host, "Port": port})

    def series_of(self, study_id: str) -> list[dict[str, Any]]:
        series = self.get(f"/studies/{study_id}/series")
        assert isinstance(series, list)
        return series

    def instance_file(self, instance_id: str) -> bytes:
        raw = self.request("GET", f"/instances/{instance_id}/file")
        assert isinstance(raw, bytes)
        return raw
