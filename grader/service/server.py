"""`grader serve --dir D`: migrate, re-queue what a killed service left running, start the
grading processes, then serve HTTP until Ctrl-C or SIGTERM.

Why the socket is bound here and not by uvicorn: `--port 0` (tests, several services on
one machine) must print the port actually chosen, and the line "listening on …" must mean
that connections are already accepted into the backlog.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from grader.service import courses, pool, queue, tasks, web


def default_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count() or 1
    return max(1, cores // 2)


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(256)
    sock.set_inheritable(False)
    return sock


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def serve(root: Path, host: str = "127.0.0.1", port: int = 8000, workers_count: int = 0,
          db_url: str | None = None, cluster: str | None = None,
          grade_options: Any = None, secure_cookies: bool = False,
          upload_limit: int | None = None, uploads_per_minute: int = 10,
          forwarded_allow_ips: str = "127.0.0.1") -> int:
    import uvicorn

    from grader.service.app import create_app

    _logging()
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
                            uploads_per_minute=uploads_per_minute)
    app = create_app(settings, engine)
    options = json.dumps(asdict(grade_options)) if grade_options is not None else "{}"
    grading = pool.Workers(root, folder.database_url, engine,
                           workers_count or default_workers(), options, cluster)
    sock = _socket(host, port)
    shown = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(app, access_log=False, log_config=None, lifespan="off",
                            proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips,
                            timeout_graceful_shutdown=5, server_header=False)
    server = uvicorn.Server(config)
    grading.start()
    where = f"Dask cluster {cluster}" if cluster else \
        f"{grading.count} local worker process(es)"
    database = "SQLite " + folder.database_url.removeprefix("sqlite:///") \
        if folder.embedded else "PostgreSQL"  # a URL may hold a password: never shown
    print(f"grader serve: listening on http://{shown}:{sock.getsockname()[1]} "
          f"(database: {database}; grading: {where})", flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        grading.stop()
        engine.dispose()
    return 0
