"""`grader serve --dir D`: migrate, re-queue what a killed service left running, start the
grading processes, then serve HTTP until Ctrl-C or SIGTERM.

Why the socket is bound here and not by uvicorn: `--port 0` (tests, several services on
one machine) must print the port actually chosen, and the line "listening on …" must mean
that connections are already accepted into the backlog.

Why `--web-processes N`: one Python process parses uploads under one GIL, ~7 ms of CPU
each, so 20 students uploading at once queue behind each other. With N > 1, uvicorn's
supervisor spawns N processes that accept on the socket bound here and replaces one that
dies; this process keeps the grading workers. Each web process builds its app from
`WEB_ENV` (`app_in_web_process`) and stops when this process is gone, even after a
`kill -9`, so no orphan keeps answering on the port. What a web process keeps in memory
is only a cache or a guard against floods (rate limits, counted per process); everything
a course relies on is in the database.

Why a protocol class of our own (transport.GuardedProtocol) and `_guard` in every web
process: the header and body deadlines, the connection caps and the raised open-file
limit hold each process that accepts connections; the log format and its escaping hold
each process that writes to the log.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from grader.service import courses, logs, pool, queue, tasks, transport, web

WEB_ENV = "GRADER_SERVICE_WEB"  # what a spawned web process needs to build its app


def default_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count() or 1
    return max(1, cores // 2)


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto named: asyncio sets TCP_NODELAY only on connections whose socket says TCP;
    # without it, every response waited ~40 ms for the client's delayed ACK (Nagle)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(256)
    sock.set_inheritable(False)
    return sock


def _guard(settings: web.Settings, forwarded_allow_ips: str) -> None:
    """This process's log and connection limits, from the settings (transport.py)."""
    logs.setup(settings.log_format)
    transport.configure(transport.Limits(
        settings.header_timeout, settings.body_timeout, settings.max_connections,
        settings.max_connections_per_address,
        transport.trusted_addresses(forwarded_allow_ips)))


def serve(root: Path, host: str = "127.0.0.1", port: int = 8000, workers_count: int = 0,
          db_url: str | None = None, cluster: str | None = None,
          grade_options: Any = None, secure_cookies: bool = False,
          upload_limit: int | None = None, uploads_per_minute: int = 10,
          forwarded_allow_ips: str = "127.0.0.1", web_processes: int = 1,
          extra_settings: dict[str, Any] | None = None) -> int:
    """`extra_settings`: further `web.Settings` fields, by name, from `grader serve`'s flags."""
    logs.setup((extra_settings or {}).get("log_format", web.Settings.log_format))
    root = root.resolve()
    folder, engine = courses.open_service(root, db_url, pool_size=20)
    moved = queue.requeue(engine)
    say = logging.getLogger("grader.service").info
    if moved:
        say("%d job(s) left running by a stopped service are back in the queue", moved)
    if os.environ.get(tasks.TEST_GRADE_ENV):
        logging.getLogger("grader.service").warning(
            "TEST HOOK: %s=%s grades instead of grade_file; never set it in a course",
            tasks.TEST_GRADE_ENV, os.environ[tasks.TEST_GRADE_ENV])
    settings = web.Settings(root=root, base_url=folder.base_url,
                            upload_limit=upload_limit or web.DEFAULT_LIMIT,
                            secure_cookies=secure_cookies,
                            uploads_per_minute=uploads_per_minute,
                            **(extra_settings or {}))
    options = json.dumps(asdict(grade_options)) if grade_options is not None else "{}"
    grading = pool.Workers(root, folder.database_url, engine,
                           workers_count or default_workers(), options, cluster)
    _guard(settings, forwarded_allow_ips)
    sock = _socket(host, port)
    run = _web_tier(settings, engine, folder.database_url, sock, web_processes,
                    forwarded_allow_ips)
    shown = f"[{host}]" if ":" in host else host
    grading.start()
    from grader.service.lti.outbox import Sender

    passback = Sender(engine)  # scores owed to LMSs (none without a registered one)
    passback.start()
    where = f"Dask cluster {cluster}" if cluster else \
        f"{grading.count} local worker process(es)"
    database = "SQLite " + folder.database_url.removeprefix("sqlite:///") \
        if folder.embedded else "PostgreSQL"  # a URL may hold a password: never shown
    tier = f"; {web_processes} web processes" if web_processes > 1 else ""
    print(f"grader serve: listening on http://{shown}:{sock.getsockname()[1]} "
          f"(database: {database}; grading: {where}{tier})", flush=True)
    try:
        run()
    finally:
        passback.stop()
        grading.stop()
        engine.dispose()
    return 0


def _web_tier(settings: web.Settings, engine: Any, database_url: str, sock: socket.socket,
              processes: int, forwarded_allow_ips: str) -> Any:
    """What serves HTTP: this process, or uvicorn's supervisor of `processes` spawned
    web processes sharing `sock`."""
    import uvicorn

    options: dict[str, Any] = {
        "access_log": False, "log_config": None, "lifespan": "off", "proxy_headers": True,
        "forwarded_allow_ips": forwarded_allow_ips, "timeout_graceful_shutdown": 5,
        "server_header": False, "http": transport.GuardedProtocol, "timeout_keep_alive": 5}
    if processes <= 1:
        from grader.service.app import create_app

        server = uvicorn.Server(uvicorn.Config(create_app(settings, engine), **options))
        return lambda: server.run(sockets=[sock])
    from uvicorn.supervisors import Multiprocess

    os.environ[WEB_ENV] = json.dumps({**asdict(settings), "root": str(settings.root),
                                      "database_url": database_url,
                                      "forwarded_allow_ips": forwarded_allow_ips,
                                      "parent": os.getpid()})
    config = uvicorn.Config(f"{__name__}:app_in_web_process", factory=True,
                            workers=processes, **options)
    return lambda: Multiprocess(config, sockets=[sock]).run()


def app_in_web_process() -> Any:
    """The app of one spawned web process (uvicorn calls this in each of them)."""
    from grader.service.app import create_app

    spec = json.loads(os.environ[WEB_ENV])
    _stop_when_gone(int(spec.pop("parent")))
    database_url = spec.pop("database_url")
    forwarded_allow_ips = spec.pop("forwarded_allow_ips")
    settings = web.Settings(**{**spec, "root": Path(spec["root"])})
    _guard(settings, forwarded_allow_ips)
    _, engine = courses.open_service(settings.root, database_url, pool_size=20)
    return create_app(settings, engine)


def _stop_when_gone(parent: int) -> None:
    """Shut this web process down (gracefully, then for good) once `parent` is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn finishes the requests under way
        time.sleep(10)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
