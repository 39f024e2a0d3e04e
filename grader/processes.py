"""Processes the grader starts: they die with it, and SIGTERM unwinds a grading cleanly.

Why in one place: a grading starts a sandbox, a scorer, worker processes and their
children; an instructor's Ctrl-C, a `kill` or a `kill -9` of the grader must leave none
of them behind and no run folder on disk (tests/security/test_faults.py reads /proc).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Any

from grader.errors import GraderTerminated

_PR_SET_PDEATHSIG = 1


def libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def die_with_parent(signal_number: int = signal.SIGKILL, loaded_libc: Any = None) -> None:
    """PR_SET_PDEATHSIG: this process gets `signal_number` when its parent dies, even by
    SIGKILL (for preexec_fn and worker initializers). Where prctl does not exist (not
    Linux) nothing happens: an orphan then finishes its one task and exits."""
    with contextlib.suppress(OSError, AttributeError):
        (loaded_libc or libc()).prctl(_PR_SET_PDEATHSIG, signal_number, 0, 0, 0)


class SigtermGuard:
    """While a submission is graded in the main thread, SIGTERM raises GraderTerminated
    so the `finally` blocks kill the sandbox and the scorer and remove the run folder;
    after the cleanup one line says what happened. A second SIGTERM is ignored meanwhile.

    Use as a context manager; `fired` tells the cleanup that the grading was cut short."""

    def __init__(self) -> None:
        self.previous: Any = None
        self.fired = False

    def __enter__(self) -> SigtermGuard:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.fired = True
        raise GraderTerminated()

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        if self.fired:
            print("grader: terminated (SIGTERM): the run was stopped and its folder "
                  "removed; results already written are kept", file=sys.stderr, flush=True)
