"""How writers take turns on the embedded database, and the listening socket's TCP
options: the two causes of slow uploads found by benchmarks/service.py (docs/service.md,
"Performance")."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from grader.service import db, server

pytestmark = pytest.mark.timeout(120)  # a lock test that hangs fails in minutes, not 20


def _engine(tmp_path: Path) -> Any:
    engine = db.connect(f"sqlite:///{tmp_path / 'service.sqlite'}")
    with db.writing(engine) as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS log (who TEXT, step TEXT)"))
    return engine


def test_writers_of_one_process_take_turns_without_overlapping(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    inside, overlaps, done = [0], [0], []
    guard = threading.Lock()

    def write(who: int) -> None:
        for _ in range(20):
            with db.writing(engine) as connection:
                with guard:
                    inside[0] += 1
                    overlaps[0] += inside[0] > 1
                connection.execute(text("INSERT INTO log VALUES (:w, 'x')"), {"w": str(who)})
                time.sleep(0.0005)  # the GIL is released, as by any sqlite3 call
                with guard:
                    inside[0] -= 1
        done.append(who)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(done) == list(range(8))
    assert overlaps[0] == 0
    with db.reading(engine) as connection:
        assert connection.execute(text("SELECT count(*) FROM log")).scalar() == 160
    engine.dispose()


def test_a_write_inside_a_write_fails_at_once_instead_of_waiting_for_itself(
        tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="inside another"), db.writing(engine), \
            db.writing(engine):
        pass
    assert time.monotonic() - started < db.LOCK_SECONDS  # an error, not the busy timeout
    with db.writing(engine) as connection:  # and the lock was given back
        connection.execute(text("INSERT INTO log VALUES ('after', 'x')"))
    engine.dispose()


def _hold(database: str, ready: Any, release: Any) -> None:
    lock = db.WriterLock(database)
    with lock.turn():
        ready.set()
        release.wait(30)


@contextmanager
def _another_process_writing(database: str) -> Iterator[tuple[Any, Any]]:
    """(the process, its release event), once it holds the database's writer lock."""
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(database, ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        yield holder, release
    finally:
        if holder.is_alive():  # a process killed inside release.wait() can leave the
            release.set()      # event's lock held: setting it then would wait forever
        holder.join(30)


def test_another_process_writing_makes_this_one_wait_then_go(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    database = str(tmp_path / "service.sqlite")
    with _another_process_writing(database) as (_, release):
        wrote = threading.Event()

        def write() -> None:
            with db.writing(engine) as connection:
                connection.execute(text("INSERT INTO log VALUES ('waited', 'x')"))
            wrote.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert not wrote.wait(0.5)  # the other process holds the writer's flock
        release.set()
        assert wrote.wait(30)
        writer.join(30)
    assert Path(database + ".writer").is_file()
    engine.dispose()


def test_a_holder_that_died_frees_the_database(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with _another_process_writing(str(tmp_path / "service.sqlite")) as (holder, _):
        holder.kill()
        holder.join(30)
    with db.writing(engine) as connection:  # the kernel dropped the dead holder's flock
        connection.execute(text("INSERT INTO log VALUES ('after death', 'x')"))
    engine.dispose()


def test_connections_to_the_service_have_nagle_off() -> None:
    """asyncio sets TCP_NODELAY only on sockets that say they are TCP; without it every
    response waited ~40 ms for the client's delayed ACK."""
    listening = server._socket("127.0.0.1", 0)
    assert listening.proto == socket.IPPROTO_TCP
    seen: list[int] = []

    async def main() -> None:
        connected = asyncio.Event()

        class Protocol(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                accepted = transport.get_extra_info("socket")
                seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                connected.set()

        loop = asyncio.get_running_loop()
        service = await loop.create_server(Protocol, sock=listening)
        port = listening.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.wait_for(connected.wait(), 10)
        writer.close()
        service.close()

    # in a thread of its own: the browser tests' Playwright leaves an event loop running in
    # this one, where asyncio.run() refuses to start another
    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    thread.join(30)
    assert seen and seen[0] != 0
