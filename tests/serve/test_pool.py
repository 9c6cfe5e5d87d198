"""Ctrl-C in the batch processes: an interrupt Python swallowed on the way is still seen."""

from __future__ import annotations

import gc
import os
import signal
import weakref

import pytest

from acuity.serve.pool import interruptible


def _swallowed_sigint() -> None:
    """A real SIGINT whose KeyboardInterrupt Python only prints and drops: it comes inside a
    weakref callback, as it can inside an import's module-lock callback during a job."""

    class Thing:
        pass

    def callback(ref: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the handler runs at the next bytecode boundary, in here
            pass

    thing = Thing()
    ref = weakref.ref(thing, callback)
    del thing
    gc.collect()
    assert ref() is None


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_swallowed_ctrl_c_is_raised_again_by_check() -> None:
    previous = signal.getsignal(signal.SIGINT)
    with interruptible() as interrupt:
        assert not interrupt.requested
        interrupt.check()  # nothing came: no-op
        _swallowed_sigint()  # no KeyboardInterrupt gets here ...
        assert interrupt.requested  # ... but it was seen
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
    assert signal.getsignal(signal.SIGINT) is previous


def test_ctrl_c_inside_interruptible_raises_at_once() -> None:
    with interruptible() as interrupt:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):
                pass
        assert interrupt.requested
