"""``acuity listen``: a DICOM storage SCP that analyses each study it receives."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from acuity.cli.analyze import add_analysis_arguments, analysis_options


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "listen",
        help="receive studies by DICOM C-STORE, analyse them, send the results back",
        description=(
            "Run a DICOM storage SCP. Each study received is spooled to disk; once no instance "
            "of it has arrived for --idle-seconds it is analysed (in its own process) and its "
            "DICOM SR, SEG and key image are sent by C-STORE to --send-to. Unfinished studies "
            "are picked up again after a restart. Runs until SIGTERM or Ctrl-C."
        ),
    )
    n = p.add_argument_group("network")
    n.add_argument("--ae-title", default="ACUITY", metavar="AET", help="own AE title (ACUITY)")
    n.add_argument(
        "--host", default="127.0.0.1", metavar="ADDR",
        help="address to listen on (127.0.0.1; 0.0.0.0 for every interface)",
    )
    n.add_argument("--port", type=int, default=11112, metavar="P", help="TCP port (11112; 0 = any free)")
    n.add_argument(
        "--send-to", metavar="HOST:PORT:AET",
        help="where the SR, SEG and key image go (default: kept in the spool only)",
    )
    n.add_argument(
        "--allow-aet", action="append", default=[], metavar="AET",
        help="calling AE title allowed to connect (repeatable; default any, with a warning)",
    )
    n.add_argument(
        "--max-associations", type=int, default=4, metavar="N",
        help="associations served at the same time (4)",
    )
    s = p.add_argument_group("spool and processing")
    s.add_argument("--spool", required=True, type=Path, metavar="DIR", help="spool folder")
    s.add_argument(
        "--idle-seconds", type=float, default=30.0, metavar="S",
        help="a study is complete when nothing of it arrived for S seconds (30)",
    )
    s.add_argument("--workers", type=int, default=1, metavar="N", help="studies analysed at once (1)")
    s.add_argument(
        "--max-spool-gb", type=float, metavar="G",
        help="disk the spool may use; beyond it C-STORE answers 0xA700 (default no limit)",
    )
    add_analysis_arguments(p)


def run(args: argparse.Namespace) -> int:
    from acuity.errors import InputError
    from acuity.serve.listener import Listener, ListenerConfig
    from acuity.serve.send import Destination

    if args.verbose < 2:
        logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    max_bytes = None
    if args.max_spool_gb is not None:
        if not args.max_spool_gb > 0:
            raise InputError(f"--max-spool-gb {args.max_spool_gb}: give a size > 0, e.g. 50")
        max_bytes = int(args.max_spool_gb * 1024**3)
    config = ListenerConfig(
        spool_dir=args.spool,
        ae_title=args.ae_title,
        host=args.host,
        port=args.port,
        send_to=Destination.parse(args.send_to) if args.send_to else None,
        allowed_aets=tuple(args.allow_aet),
        idle_seconds=args.idle_seconds,
        workers=args.workers,
        max_associations=args.max_associations,
        max_spool_bytes=max_bytes,
        options=analysis_options(args),
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    listener = Listener(config)
    listener.start()
    print(
        f"acuity listen: {config.ae_title} on {config.host}:{listener.port} (Ctrl-C to stop)",
        flush=True,
    )
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
        signal.signal(signal.SIGTERM, previous)
    return 0
