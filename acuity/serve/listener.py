"""``acuity listen``: a DICOM storage SCP that analyses each study it receives.

Instances received by C-STORE go to the :class:`~acuity.serve.spool.Spool`. A study is
complete once no instance of it has arrived for ``idle_seconds``; it is then analysed in
its own process (at most ``workers`` at a time) and its SR, SEG and key image are sent to
``send_to`` by C-STORE. No exception crosses the network: a dataset that cannot be
understood or stored is answered with a DICOM failure status (0xC210 cannot understand,
0xA700 out of resources) and the listener goes on.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self

from acuity.errors import AcuityError, InputError
from acuity.pipeline import AnalysisOptions
from acuity.report.files import KEY_IMAGE, SEG, SR
from acuity.serve.send import Destination, check_ae_title, check_port, send_files
from acuity.serve.spool import Spool, SpoolFullError, StudyState
from acuity.serve.worker import analyze_isolated

__all__ = ["Destination", "Listener", "ListenerConfig", "study_tag"]

logger = logging.getLogger(__name__)

#: C-STORE statuses (PS3.4 B.2.3 and pynetdicom's service class).
STATUS_SUCCESS = 0x0000
STATUS_OUT_OF_RESOURCES = 0xA700
STATUS_CANNOT_UNDERSTAND = 0xC210
STATUS_PROCESSING_FAILURE = 0x0110

#: The outputs sent back for each study, in this order.
RESULT_FILES = (SR, SEG, KEY_IMAGE)


@dataclass(frozen=True)
class ListenerConfig:
    """Settings of a :class:`Listener`; checked on construction."""

    spool_dir: Path
    ae_title: str = "ACUITY"
    host: str = "127.0.0.1"
    #: 0 = pick a free port (read it back from :attr:`Listener.port`).
    port: int = 11112
    send_to: Destination | None = None
    #: Calling AE titles accepted; empty = any (a warning is logged at start).
    allowed_aets: tuple[str, ...] = ()
    #: A study is complete when none of its instances arrived for this long.
    idle_seconds: float = 30.0
    #: Studies analysed at the same time.
    workers: int = 1
    #: Associations served at the same time (more are rejected, busy).
    max_associations: int = 4
    #: Bytes the spool may hold (instances and results); None = no limit.
    max_spool_bytes: int | None = None
    options: AnalysisOptions = field(default_factory=AnalysisOptions)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spool_dir", Path(self.spool_dir))
        object.__setattr__(self, "ae_title", check_ae_title(self.ae_title, "ae_title"))
        if not isinstance(self.host, str) or not self.host.strip():
            raise InputError(f"host {self.host!r} is empty: give an address, e.g. 0.0.0.0")
        check_port(self.port, "port", allow_zero=True)
        allowed = tuple(check_ae_title(a, "allowed_aets entry") for a in self.allowed_aets)
        object.__setattr__(self, "allowed_aets", allowed)
        if not isinstance(self.send_to, Destination | None):
            raise InputError(f"send_to {self.send_to!r}: use Destination.parse('HOST:PORT:AET')")
        for name, low in (("idle_seconds", 0.0),):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > low:
                raise InputError(f"{name} {value!r} must be a number of seconds > 0, e.g. 30")
        for name in ("workers", "max_associations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} {value!r} must be a whole number >= 1")
        limit = self.max_spool_bytes
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise InputError(f"max_spool_bytes {limit!r} must be a whole number of bytes >= 1 or None")


def study_tag(key: str) -> str:
    """A short, stable handle of a study for INFO logs (the UID itself is logged at DEBUG)."""
    return "study#" + hashlib.sha256(key.encode()).hexdigest()[:8]


class Listener:
    """The storage SCP, the completeness scheduler and the worker pool; see the module doc."""

    def __init__(self, config: ListenerConfig) -> None:
        self.config = config
        self._server: Any = None
        self._spool: Spool | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._scheduler: threading.Thread | None = None
        self._cond = threading.Condition()
        #: Study key -> monotonic time its last instance arrived (studies waiting to run).
        self._due: dict[str, float] = {}
        self._running: set[str] = set()
        self._stopping = threading.Event()

    # -- life cycle -------------------------------------------------------------------------

    @property
    def spool(self) -> Spool:
        if self._spool is None:
            raise AcuityError("the listener is not started; call start() first")
        return self._spool

    @property
    def port(self) -> int:
        """The TCP port the server listens on (after :meth:`start`)."""
        if self._server is None:
            raise AcuityError("the listener is not started; call start() first")
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Open the spool, schedule its unfinished studies, start the pool and the server."""
        from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
        from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

        if self._server is not None:
            raise AcuityError("the listener is already started")
        cfg = self.config
        self._stopping.clear()
        self._spool = Spool(cfg.spool_dir, max_bytes=cfg.max_spool_bytes)
        now = time.monotonic()
        pending = self._spool.pending()
        with self._cond:
            for key in pending:
                self._due[key] = now
        if pending:
            logger.info("spool: %d unfinished studies from before; scheduled again", len(pending))
        self._pool = ThreadPoolExecutor(max_workers=cfg.workers, thread_name_prefix="acuity-study")
        self._scheduler = threading.Thread(
            target=self._schedule_loop, name="acuity-scheduler", daemon=True
        )
        self._scheduler.start()

        ae = AE(ae_title=cfg.ae_title)
        ae.maximum_associations = cfg.max_associations
        if cfg.allowed_aets:
            ae.require_calling_aet = list(cfg.allowed_aets)
        else:
            logger.warning(
                "accepting associations from any calling AE title; restrict with --allow-aet"
            )
        for context in AllStoragePresentationContexts:
            if context.abstract_syntax is not None:
                ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        handlers: list[Any] = [
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_C_ECHO, self._on_echo),
            (evt.EVT_ABORTED, self._on_aborted),
        ]
        try:
            self._server = ae.start_server((cfg.host, cfg.port), block=False, evt_handlers=handlers)
        except OSError as exc:
            self._shutdown_workers()
            raise InputError(
                f"cannot listen on {cfg.host}:{cfg.port} ({exc}); choose another --port"
            ) from None
        logger.info(
            "listening as %s on %s:%d; results to %s",
            cfg.ae_title, cfg.host, self.port, cfg.send_to or "the spool only",
        )

    def stop(self) -> None:
        """Stop accepting, cancel running analyses (re-run at next start), join the threads."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        self._shutdown_workers()
        logger.info("listener stopped")

    def _shutdown_workers(self) -> None:
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._scheduler is not None:
            self._scheduler.join(10)
            self._scheduler = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        with self._cond:
            self._due.clear()
            self._running.clear()
            self._cond.notify_all()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no study is waiting or running; False when ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._due and not self._running, timeout)

    # -- DICOM event handlers (never raise) ---------------------------------------------------

    def _on_echo(self, event: Any) -> int:
        logger.debug("C-ECHO from %s", _calling_aet(event))
        return STATUS_SUCCESS

    def _on_aborted(self, event: Any) -> None:
        logger.info("association from %s aborted", _calling_aet(event))

    def _on_store(self, event: Any) -> int:
        try:
            return self._store(event)
        except Exception:  # a handler must answer, not raise
            logger.exception("C-STORE from %s failed unexpectedly", _calling_aet(event))
            return STATUS_PROCESSING_FAILURE

    def _store(self, event: Any) -> int:
        from pydicom.filewriter import write_file_meta_info

        calling = _calling_aet(event)
        try:
            ds = event.dataset
            meta = event.file_meta
            raw: bytes = event.request.DataSet.getvalue()
            uids = (
                ds.get("StudyInstanceUID"), ds.get("SeriesInstanceUID"), ds.get("SOPInstanceUID")
            )
        except Exception as exc:  # noqa: BLE001 - undecodable data from the network
            logger.warning("C-STORE from %s: dataset cannot be decoded (%s)", calling, exc)
            return STATUS_CANNOT_UNDERSTAND

        def write(f: BinaryIO) -> None:
            f.write(b"\x00" * 128 + b"DICM")
            write_file_meta_info(f, meta, enforce_standard=True)  # type: ignore[arg-type]
            f.write(raw)

        try:
            path = self.spool.store(*uids, write=write, size_hint=len(raw) + 512)
        except InputError as exc:
            # the message quotes the bad value: only at DEBUG (it may be a real UID)
            logger.warning("C-STORE from %s refused: %s invalid", calling, str(exc).split()[0])
            logger.debug("C-STORE from %s refused: %s", calling, exc)
            return STATUS_CANNOT_UNDERSTAND
        except SpoolFullError as exc:
            logger.warning("C-STORE from %s refused: %s", calling, exc)
            return STATUS_OUT_OF_RESOURCES
        except OSError as exc:
            logger.error("C-STORE from %s: cannot write to the spool (%s)", calling, exc.strerror)
            return STATUS_OUT_OF_RESOURCES
        key = path.parent.parent.name
        logger.debug("stored %s (study %s)", path.name, key)
        with self._cond:
            self._due[key] = time.monotonic()
            self._cond.notify_all()
        return STATUS_SUCCESS

    # -- scheduling and processing ------------------------------------------------------------

    def _schedule_loop(self) -> None:
        idle = self.config.idle_seconds
        with self._cond:
            while not self._stopping.is_set():
                now = time.monotonic()
                waits = []
                for key, last in list(self._due.items()):
                    if key in self._running:
                        continue
                    if now - last >= idle:
                        del self._due[key]
                        self._running.add(key)
                        assert self._pool is not None
                        self._pool.submit(self._process, key)
                    else:
                        waits.append(last + idle - now)
                self._cond.wait(min(waits) if waits else None)

    def _process(self, key: str) -> None:
        """Analyse one study and send its results; records done/failed; never raises."""
        tag = study_tag(key)
        final: tuple[StudyState, str] | None = None
        try:
            if self._stopping.is_set():
                return
            final = self._analyze_and_send(key, tag)
        except Exception as exc:  # keep the pool alive
            logger.exception("%s: unexpected failure", tag)
            final = (StudyState.FAILED, f"{type(exc).__name__}: {exc}")
        finally:
            with self._cond:
                if final is not None:
                    state, reason = final
                    if key in self._due:  # more instances came while it ran: run again
                        state, reason = StudyState.INCOMING, f"re-run (previous: {state.value})"
                    try:
                        self.spool.set_state(key, state, reason)
                    except OSError as exc:
                        logger.error("%s: cannot write the state file (%s)", tag, exc)
                self._running.discard(key)
                self._cond.notify_all()

    def _analyze_and_send(self, key: str, tag: str) -> tuple[StudyState, str] | None:
        spool = self.spool
        spool.set_state(key, StudyState.PROCESSING)
        logger.info("%s complete; analysing", tag)
        logger.debug("%s is StudyInstanceUID %s", tag, key)
        before = spool.results_size(key)
        start = time.monotonic()
        outcome = analyze_isolated(
            spool.study_dir(key), spool.result_dir(key), self.config.options, cancel=self._stopping
        )
        spool.adjust(spool.results_size(key) - before)
        if outcome.cancelled:
            return None  # stays "processing": run again at the next start
        if not outcome.ok:
            logger.warning("%s failed: %s", tag, outcome.reason.replace(key, tag))
            return StudyState.FAILED, outcome.reason
        logger.info("%s analysed in %.1f s", tag, time.monotonic() - start)
        dest = self.config.send_to
        if dest is None:
            return StudyState.DONE, ""
        files = [
            report.parent / name
            for report in outcome.reports
            for name in RESULT_FILES
            if (report.parent / name).is_file()
        ]
        if not files:
            return StudyState.FAILED, "the analysis wrote no SR, SEG or key image to send"
        try:
            result = send_files(files, dest, calling_aet=self.config.ae_title)
        except AcuityError as exc:
            logger.warning("%s: sending failed: %s", tag, str(exc).replace(key, tag))
            return StudyState.FAILED, f"send: {exc}"
        if not result.ok:
            return StudyState.FAILED, f"send: {result.summary()}"
        return StudyState.DONE, f"sent {', '.join(p.name for p in result.sent)} to {dest}"


def _calling_aet(event: Any) -> str:
    try:
        return str(event.assoc.requestor.ae_title).strip() or "?"
    except AttributeError:  # pragma: no cover
        return "?"
