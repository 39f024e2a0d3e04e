"""HTTP connections the built-in server will hold, and for how long.

Why a subclass of uvicorn's h11 protocol: uvicorn bounds an idle keep-alive connection
(`timeout_keep_alive`) and, past `limit_concurrency`, answers 503 once a request has been
parsed, but it waits for ever for a request whose headers or body never finish, and it
accepts every connection. One outsider opened 21,000 unfinished requests: none was
closed, /healthz timed out and the process ran out of descriptors. `GuardedProtocol`
adds, per connection:
* a header deadline: the request line and headers must be complete `header_timeout`
  seconds after the connection (or its next request) started, else it is closed;
* a body deadline: while a body is being received, at most `body_timeout` seconds may
  pass without a byte of it (not counted while the app itself stops reading);
* caps on open connections, per client address and in all (the total kept below the
  descriptor limit, which `raise_nofile` raises to its hard limit): one over a cap is
  answered 503 and closed at once. A trusted proxy's address (`--forwarded-allow-ips`)
  counts only against the total: the proxy caps its clients itself (deploy/nginx);
* a request with both Content-Length and Transfer-Encoding is refused with 400 and the
  connection closed (h11 would take the chunked framing and keep the connection, so a
  proxy that framed by Content-Length could smuggle a second request through it).

The counts are per web process (`--web-processes N` multiplies them by N).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import resource
from collections import Counter
from dataclasses import dataclass
from typing import Any

import h11
from h11._connection import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE  # as uvicorn does
from uvicorn.protocols.http.h11_impl import H11Protocol

from grader.service import logs

LOG = logging.getLogger("grader.service.transport")
RESERVED_FILES = 256  # descriptors kept for the database pool, uploads, logs, workers
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"retry-after: 5\r\nconnection: close\r\ncontent-length: 33\r\n\r\n"
        b"too many connections; retry later")


@dataclass(frozen=True)
class Limits:
    header_timeout: float = 15.0
    body_timeout: float = 30.0
    max_connections: int = 1000
    per_address: int = 64  # a class behind one NAT shares an address: not too small
    trusted: tuple[str, ...] = ("127.0.0.1",)  # addresses or networks (a.b.c.d/n)


_limits = Limits()
_open: Counter[str] = Counter()


def configure(limits: Limits) -> Limits:
    """Set this process's limits, the total capped below its descriptor limit."""
    global _limits
    ceiling = max(16, raise_nofile() - RESERVED_FILES)
    if limits.max_connections > ceiling:
        LOG.warning("--max-connections %d lowered to %d: the descriptor limit is %d",
                    limits.max_connections, ceiling, ceiling + RESERVED_FILES)
        limits = Limits(limits.header_timeout, limits.body_timeout, ceiling,
                        limits.per_address, limits.trusted)
    _limits = limits
    LOG.info("connections: headers within %g s, no body pause over %g s, at most %d open "
             "(%d per address)", limits.header_timeout, limits.body_timeout,
             limits.max_connections, limits.per_address)
    return limits


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit; the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if wanted > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return int(soft)


def trusted_addresses(forwarded_allow_ips: str) -> tuple[str, ...]:
    """The addresses and networks of `--forwarded-allow-ips` that are exempt from the
    per-address cap ("*" exempts none: every client would be). A name that is neither
    (a Unix socket's) is left out."""
    found = []
    for part in (p.strip() for p in forwarded_allow_ips.split(",")):
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            continue
        found.append(part)
    return tuple(found)


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in _limits.trusted)


class _StrictConnection(h11.Connection):
    """h11 that refuses a request framed two ways (RFC 9112 §6.1: the server may refuse,
    and must close the connection if it does not)."""

    def next_event(self) -> Any:
        event = super().next_event()
        if isinstance(event, h11.Request):
            names = {name.lower() for name, _ in event.headers}
            if b"content-length" in names and b"transfer-encoding" in names:
                raise h11.RemoteProtocolError("both Content-Length and Transfer-Encoding")
        return event


class GuardedProtocol(H11Protocol):
    """uvicorn's h11 protocol with deadlines and connection caps (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        size = self.config.h11_max_incomplete_event_size
        self.conn = _StrictConnection(
            h11.SERVER, size if size is not None else DEFAULT_MAX_INCOMPLETE_EVENT_SIZE)
        self._address: str | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for = ""  # "headers", "body" or "" (nothing pending)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else ""
        total = sum(_open.values())
        if total >= _limits.max_connections or (
                _open[address] >= _limits.per_address and not _is_trusted(address)):
            LOG.warning("connections refused: over the cap of %d in all or %d per address "
                        "(%d open)", _limits.max_connections, _limits.per_address, total,
                        extra={logs.THROTTLED: True})
            transport.write(BUSY)
            transport.close()
            return
        self._address = address
        _open[address] += 1
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        if self._address is not None:
            _open[self._address] -= 1
            if _open[self._address] <= 0:
                del _open[self._address]
            self._address = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch(progress=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def _watch(self, progress: bool = False) -> None:
        """(Re)arm the deadline the connection's state calls for."""
        if self.transport is None or self.transport.is_closing() or self._address is None:
            return
        state = self.conn.their_state
        if state is h11.IDLE and (self.cycle is None or self.cycle.response_complete):
            if self._waiting_for != "headers":  # one deadline for all the headers' bytes
                self._arm("headers", _limits.header_timeout)
        elif state is h11.SEND_BODY:
            if progress or self._waiting_for != "body":
                self._arm("body", _limits.body_timeout)
        else:
            self._cancel()

    def _arm(self, what: str, seconds: float) -> None:
        self._cancel()
        self._waiting_for = what
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._waiting_for = None, ""

    def _expired(self) -> None:
        what, self._deadline = self._waiting_for, None
        if self.transport.is_closing():
            return
        if what == "body" and self.flow.read_paused:  # the app is behind, not the client
            self._arm("body", _limits.body_timeout)
            return
        if what == "headers" and self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered; keep-alive takes over after it
        LOG.info("closed connections whose request %s did not arrive in time", what,
                 extra={logs.THROTTLED: True})
        self.transport.close()
