"""Sending DICOM files to a PACS: the C-STORE SCU side, and the destination it sends to.

:func:`send_files` opens one association to a :class:`Destination`, proposes a presentation
context per SOP class (the file's own transfer syntax plus explicit and implicit VR little
endian), and stores every file. An association that cannot be opened raises
:class:`SendError`; a file the destination refuses is listed in :attr:`SendResult.failed`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acuity.errors import AcuityError, InputError

logger = logging.getLogger(__name__)

#: An AE title: 1-16 characters of the DICOM default character repertoire, no backslash or
#: control characters, not only spaces (PS3.5 6.2, VR AE).
_AE_RE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")

#: Failure statuses of C-STORE start at 0xA000; 0xB000-0xBFFF are warnings (stored).
_FAILURE_MIN = 0xA000
_WARNING_RANGE = range(0xB000, 0xC000)


class SendError(AcuityError):
    """The destination cannot be reached or refuses the association."""


def check_ae_title(value: str, what: str) -> str:
    """``value`` stripped, when it is a valid AE title; InputError naming ``what`` otherwise."""
    if not isinstance(value, str) or not _AE_RE.match(value) or not value.strip():
        raise InputError(
            f"{what} {value!r} is not a DICOM AE title: use 1-16 printable ASCII characters "
            "(no backslash), e.g. ACUITY"
        )
    return value.strip()


def check_port(value: int, what: str, *, allow_zero: bool = False) -> int:
    """``value`` when it is a TCP port number; InputError naming ``what`` otherwise."""
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 65535:
        raise InputError(f"{what} {value!r} is not a TCP port: use a number {low}-65535")
    return value


@dataclass(frozen=True)
class Destination:
    """Where results are sent: a DICOM storage SCP at ``host:port`` called ``ae_title``."""

    host: str
    port: int
    ae_title: str

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host.strip() or any(
            c.isspace() for c in self.host
        ):
            raise InputError(
                f"destination host {self.host!r} is empty or has spaces: give a host name or "
                "IP address, e.g. pacs.example.org"
            )
        check_port(self.port, "destination port")
        object.__setattr__(self, "ae_title", check_ae_title(self.ae_title, "destination AE title"))

    @classmethod
    def parse(cls, text: str) -> Destination:
        """``HOST:PORT:AET`` (an IPv6 host in brackets: ``[::1]:104:PACS``)."""
        host, sep1, rest = text.rpartition(":")
        host, sep2, port_text = host.rpartition(":")
        if not sep1 or not sep2:
            raise InputError(
                f"destination {text!r} is not HOST:PORT:AET, e.g. pacs.example.org:104:PACS"
            )
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        aet = rest
        try:
            port = int(port_text)
        except ValueError:
            raise InputError(
                f"destination {text!r}: port {port_text!r} is not a number; write HOST:PORT:AET, "
                "e.g. pacs.example.org:104:PACS"
            ) from None
        try:
            return cls(host, port, aet)
        except InputError as exc:
            raise InputError(f"destination {text!r}: {exc}") from None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}:{self.ae_title}"


@dataclass(frozen=True)
class SendResult:
    """What :func:`send_files` did: the files stored and the files refused (with why)."""

    destination: Destination
    sent: tuple[Path, ...] = ()
    failed: tuple[tuple[Path, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when every file was stored."""
        return not self.failed

    def summary(self) -> str:
        """One line: how many were stored, and the first failure reasons."""
        text = f"{len(self.sent)} of {len(self.sent) + len(self.failed)} files stored on {self.destination}"
        if self.failed:
            text += "; " + "; ".join(f"{p.name}: {why}" for p, why in self.failed[:3])
        return text


def send_files(
    paths: Sequence[Path],
    dest: Destination,
    *,
    calling_aet: str = "ACUITY",
    timeout: float = 30.0,
) -> SendResult:
    """C-STORE every file of ``paths`` to ``dest`` over one association.

    Raises :class:`SendError` when the association cannot be established (host down,
    AE title refused) or is aborted; InputError when a file is not readable DICOM.
    """
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
    from pynetdicom import AE

    calling = check_ae_title(calling_aet, "calling AE title")
    datasets: list[tuple[Path, Any]] = []
    for path in paths:
        try:
            datasets.append((Path(path), dcmread(path)))
        except (OSError, InvalidDicomError) as exc:
            raise InputError(f"{path} cannot be sent: not a readable DICOM file ({exc})") from None
    if not datasets:
        return SendResult(dest)
    # One context per (SOP class, transfer syntax): the SCP accepts one syntax per context,
    # so a context listing several could be accepted with another than the file's own.
    # The little endian ones are the fallback of a compressed file the peer cannot take.
    contexts: list[tuple[str, str]] = []
    for _, ds in datasets:
        for ts in (str(ds.file_meta.TransferSyntaxUID), ExplicitVRLittleEndian, ImplicitVRLittleEndian):
            if (str(ds.SOPClassUID), ts) not in contexts:
                contexts.append((str(ds.SOPClassUID), ts))
    if len(contexts) > 128:
        raise InputError(
            f"{len(datasets)} files need {len(contexts)} presentation contexts (at most 128): "
            "send them in smaller groups"
        )
    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    for sop_class, syntax in contexts:
        ae.add_requested_context(sop_class, syntax)
    assoc = ae.associate(dest.host, dest.port, ae_title=dest.ae_title)
    if not assoc.is_established:
        why = "rejected" if assoc.is_rejected else "aborted" if assoc.is_aborted else "failed"
        raise SendError(
            f"association to {dest} {why}: check that the destination is running, that its "
            f"AE title is {dest.ae_title} and that it accepts calling AE title {calling}"
        )
    sent: list[Path] = []
    failed: list[tuple[Path, str]] = []
    try:
        for path, ds in datasets:
            try:
                status = _store(assoc, ds)
            except (ValueError, AttributeError, RuntimeError, NotImplementedError) as exc:
                failed.append((path, f"not sent: {exc}"))
                continue
            if not assoc.is_established:
                failed.append((path, "association lost"))
                break
            code = int(getattr(status, "Status", -1)) if status else -1
            if code == -1:
                failed.append((path, "no response (timeout or abort)"))
            elif code >= _FAILURE_MIN and code not in _WARNING_RANGE:
                failed.append((path, f"refused with status 0x{code:04X}"))
            else:
                sent.append(path)
    finally:
        if assoc.is_established:
            assoc.release()
    failed += [(p, "association lost") for p, _ in datasets[len(sent) + len(failed):]]
    result = SendResult(dest, tuple(sent), tuple(failed))
    (logger.info if result.ok else logger.warning)("%s", result.summary())
    return result


def _store(assoc: Any, ds: Any) -> Any:
    """C-STORE ``ds``; a compressed dataset whose syntax was refused is sent decompressed."""
    try:
        return assoc.send_c_store(ds)
    except ValueError:
        if not ds.file_meta.TransferSyntaxUID.is_compressed:
            raise
    ds.decompress()
    return assoc.send_c_store(ds)
