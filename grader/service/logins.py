"""The instructor login's defences against guessing and flooding, in the web process.

Why each rule, from the attacks of issue 21:
* Limits count FAILURES only, so a right password never uses up anybody's allowance.
* Per client address (`login_failures_per_address` a minute): over it, 429 and nothing
  hashed. This is the limit that stops one guesser, and it cannot be turned against
  anybody else: the instructor logs in from another address.
* Per typed name (`logins_per_minute`) and for all names together
  (`login_failures_global`): over it, each try waits `login_delay` seconds (an asyncio
  sleep: it holds no thread) and is then checked as usual. Before, ten wrong tries a
  minute kept the instructor's right password answering 429 (a lock-out); now it gets in
  after the delay, and a guesser spread over many addresses guesses slowly. Random names
  are each new to the per-name limit, so the global one slows them.
* The argon2 check (~64 MiB and ~0.5 s of CPU each) runs at most `login_hashes` at once,
  with at most `login_queue` waiting; any login beyond that answers 503 without hashing,
  and counts as a failure. Before, 80 parallel logins took the web process from 157 MB
  to 1.7 GB and another student's /api/v1/me to a median of 11 s.
* Every refusal (429, 503) is answered after `login_delay` seconds, not at once: 40
  clients retrying each refusal the moment it came kept the web process busy with
  hundreds of cheap refusals a second, and every upload of the class took 0.75 s or
  more. Paced, each connection of a flooder makes one try per delay; the waiting costs
  the server a sleeping coroutine, no thread and no hash: a flood costs the flooder.
Every limit is per web process (`--web-processes N` multiplies them).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from grader.service import ratelimit

T = TypeVar("T")
_made = threading.Lock()


class Busy(Exception):
    """Every password-check slot and queue place is taken: answer 503 without hashing."""


class Guard:
    def __init__(self, per_address: int, per_name: int, everyone: int, delay: float,
                 running: int, waiting: int) -> None:
        self.by_address = ratelimit.SlidingWindow(per_address, 60)
        self.by_name = ratelimit.SlidingWindow(per_name, 60)
        self.everyone = ratelimit.SlidingWindow(everyone, 60)
        self.delay = delay
        self._slots = threading.BoundedSemaphore(max(1, running))
        self._admitted, self._capacity = 0, max(1, running) + max(0, waiting)
        self._lock = threading.Lock()

    def refused(self, address: str) -> int | None:
        """Seconds to wait when this address has failed too often, else None."""
        return self.by_address.wait(address)

    def slowed(self, name: str) -> bool:
        """Whether this try waits the delay first: its name, or everyone, is over."""
        return self.by_name.wait(name) is not None or self.everyone.wait("") is not None

    def failed(self, address: str, name: str) -> None:
        self.by_address.count(address)
        self.by_name.count(name)
        self.everyone.count("")

    def _run(self, check: Callable[[], T]) -> T:
        with self._slots:
            return check()

    async def check(self, check: Callable[[], T]) -> T:
        """Run the password check in a worker thread under the concurrency cap; Busy at
        once, without running it, when the cap and its queue are full."""
        with self._lock:
            if self._admitted >= self._capacity:
                raise Busy()
            self._admitted += 1
        try:
            return await run_in_threadpool(self._run, check)
        finally:
            with self._lock:
                self._admitted -= 1

    async def pause(self) -> None:
        await asyncio.sleep(self.delay)


def guard(app: object) -> Guard:
    """The app's one Guard, made from its settings at the first login."""
    state = app.state  # type: ignore[attr-defined]
    with _made:
        if getattr(state, "login_guard", None) is None:
            settings = state.settings
            state.login_guard = Guard(settings.login_failures_per_address,
                                      settings.logins_per_minute,
                                      settings.login_failures_global, settings.login_delay,
                                      settings.login_hashes, settings.login_queue)
    return state.login_guard  # type: ignore[no-any-return]
