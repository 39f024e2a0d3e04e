"""A sliding-window limit per key (a student's token, a login name, a client address), in
the web process.

Why in memory: it guards the web tier against a script that hammers one endpoint, so it
must cost nothing per request; the rules a course sets (attempts, cooldown) live in the
database instead, where they survive a restart and hold across web processes.

Why an OrderedDict kept in least-recently-hit order: the key whose last hit is oldest is
always first, so forgetting everyone idle for a window is a few `popitem(last=False)`s per
request (each key is forgotten once per time it was added), never a pass over the whole
table; the attacker chooses how many keys there are. Past `max_keys` keys the least
recently hit is forgotten even if it is still inside its window: a flood of a million new
keys can reset an idle key's count, but cannot make any request cost more than O(1).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable

MAX_KEYS = 100_000
_FORGET_PER_CALL = 4  # idle keys dropped per call: more than the one a call can add


class SlidingWindow:
    """At most `limit` counted hits per key in any `seconds`; `limit` <= 0 means no limit."""

    def __init__(self, limit: int, seconds: float, max_keys: int = MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.seconds, self.max_keys = limit, seconds, max(1, max_keys)
        self._clock = clock
        self._hits: OrderedDict[Hashable, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._hits)

    def _forget_idle(self, moment: float) -> None:
        for _ in range(_FORGET_PER_CALL):
            if not self._hits:
                return
            oldest = next(iter(self._hits.values()))
            if oldest and oldest[-1] > moment - self.seconds:
                return  # the least recently hit is still in its window: so is everyone
            self._hits.popitem(last=False)

    def _wait(self, key: Hashable, moment: float) -> int | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= moment - self.seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + self.seconds - moment))
        return None

    def _count(self, key: Hashable, moment: float) -> None:
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        hits.append(moment)

    def wait(self, key: Hashable) -> int | None:
        """Whether `key` is over its limit now, without counting: None when a hit would be
        allowed, else the seconds to wait. For limits counted only on failure (logins)."""
        if self.limit <= 0:
            return None
        with self._lock:
            moment = self._clock()
            self._forget_idle(moment)
            return self._wait(key, moment)

    def count(self, key: Hashable) -> None:
        """Count one hit of `key` whether or not it is over (a failed login)."""
        if self.limit <= 0:
            return
        with self._lock:
            moment = self._clock()
            self._forget_idle(moment)
            self._count(key, moment)

    def hit(self, key: Hashable) -> int | None:
        """Count one request if allowed; None when allowed, else the seconds to wait."""
        if self.limit <= 0:
            return None
        with self._lock:
            moment = self._clock()
            self._forget_idle(moment)
            wait = self._wait(key, moment)
            if wait is None:
                self._count(key, moment)
            return wait
