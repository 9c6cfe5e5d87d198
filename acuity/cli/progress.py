"""Progress display for long CLI work (stderr, only when it is a terminal)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def progress_printer(label: str, *, min_interval_s: float = 0.2) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback drawing ``label: done/total`` on a tty's stderr."""
    last = [0.0]
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if not interactive:
            return
        now = time.monotonic()
        if done < total and now - last[0] < min_interval_s:
            return
        last[0] = now
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{label}: {done}/{total}{end}")
        sys.stderr.flush()

    return progress
