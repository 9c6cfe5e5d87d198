"""Entry point of the ``acuity`` command.

Sub-commands live in their own modules (``acuity.cli.info`` ...), each exposing
``add_parser(subparsers)`` and ``run(args) -> int``; heavy libraries (torch, SimpleITK) are
imported inside ``run`` so that ``acuity --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from acuity import __version__
from acuity.errors import AcuityError

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS = (
    "info",
    "series",
    "segment",
    "analyze",
    "candidacy",
    "report",
    "batch",
    "listen",
    "run-study",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acuity",
        description=(
            "Vertebral compression fracture acuity on spine MRI, level by level, with "
            "vertebroplasty candidacy as decision support (not a treatment order)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"acuity {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"acuity.cli.{name.replace('-', '_')}")
        module.add_parser(sub)
        sub.choices[name].set_defaults(run=module.run)
    return parser


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("acuity")
    root.handlers[:] = [handler]
    root.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit status (0 ok, 1 failure, 2 usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    try:
        status: int = args.run(args)
    except AcuityError as exc:
        print(f"acuity {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"acuity {args.command}: interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
