"""A sliding-window limit per key (a student's token, a login name), in the web process.

Why in memory: it guards the web tier against a script that hammers one endpoint, so it
must cost nothing per request; the rules a course sets (attempts, cooldown) live in the
database instead, where they survive a restart and hold across web processes.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class SlidingWindow:
    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self._hits: dict[object, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: object) -> int | None:
        """Count one request; None when allowed, else the seconds to wait."""
        if self.limit <= 0:
            return None
        moment = time.monotonic()
        with self._lock:
            if len(self._hits) > 100_000:  # bounded: forget everyone idle for a window
                self._hits = {k: v for k, v in self._hits.items()
                              if v and v[-1] > moment - self.seconds}
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= moment - self.seconds:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.seconds - moment))
            hits.append(moment)
            return None
