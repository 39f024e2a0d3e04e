"""`grader submit`: upload a file to a grading service, optionally wait for its grade.

Only the standard library (urllib, json): this is what a student runs, so it must start
in tenths of a second and never import TensorFlow, the web framework or the database
(tests/service/test_client.py checks sys.modules). Exit codes as `grader grade`: 0 when the
upload was accepted (and, with --wait, graded, whatever the score); 2 when the request
cannot be done as asked (no such file, a bad token, a refusal: too large, wrong type,
deadline passed, no attempts left, too soon); 1 when the service or the grader failed.
The token is sent only in the Authorization header, only to the origin (scheme, host,
port) given as --server, and is never printed: a redirect to another origin is refused
rather than followed, since urllib would copy the Authorization header to wherever the
redirect points. It is read from --token, --token-file (its first line) or $GRADER_TOKEN;
the two last keep it out of the process list, which any user of the machine can read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
TOKEN_ENV = "GRADER_TOKEN"
USER_AGENT = "grader-submit/1"


class Failed(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _say(text: str, error: bool = False) -> None:
    from grader.terminal import inert

    print(inert(text), file=sys.stderr if error else sys.stdout, flush=True)


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port as a browser compares them: the default port is made explicit
    (http://h and http://h:80 are one origin), case is folded. An address that cannot be
    parsed (a Location header is the server's to write) is no origin at all: ("", "",
    None), equal to no real one, so a redirect there is refused."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "", "", None
    scheme = parts.scheme.lower()
    default = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port if port is not None else default


def _origin_text(url: str) -> str:
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}" if port is not None else f"{scheme}://{host}"


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only within the origin the request went to. urllib's own handler
    copies every header but the body's to the new address, the Bearer token included, so a
    redirect to another host (a hijacked or misconfigured proxy) would hand it the token."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        target = urllib.parse.urljoin(req.full_url, newurl)
        if origin(target) != origin(req.full_url):
            fp.close()
            raise Failed(f"the service redirected ({code}) to another address, "
                         f"{_origin_text(target)}; the token was not sent there (if that is "
                         f"the service's address, give it as --server)", EXIT_USAGE)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SameOriginRedirects())


def read_token(given: str | None, token_file: Path | None) -> str:
    """The token from --token, else --token-file's first line, else $GRADER_TOKEN; "" when
    none. Raises Failed (usage) when the file cannot be read or its first line is empty."""
    if given:
        return given
    if token_file is not None:
        try:
            with token_file.open(encoding="utf-8") as handle:
                line = handle.readline().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise Failed(f"{token_file}: cannot read the token: "
                         f"{getattr(exc, 'strerror', None) or exc}", EXIT_USAGE) from None
        if not line:
            raise Failed(f"{token_file}: its first line is empty (it should hold the token)",
                         EXIT_USAGE)
        return line
    return os.environ.get(TOKEN_ENV, "").strip()


def multipart(fields: dict[str, str], file_field: str, filename: str,
              data: bytes) -> tuple[bytes, str]:
    boundary = f"grader-{uuid.uuid4().hex}"
    safe_name = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
                 f'filename="{safe_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def call(server: str, path: str, token: str, body: bytes | None = None,
         content_type: str | None = None, timeout: float = 60.0) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
               "User-Agent": USER_AGENT}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(server.rstrip("/") + path, data=body, headers=headers,
                                     method="POST" if body is not None else "GET")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail") or exc.reason
        except (ValueError, AttributeError, OSError):
            detail = exc.reason
        code = EXIT_FAILED if exc.code >= 500 else EXIT_USAGE
        raise Failed(f"the service refused ({exc.code}): {detail}", code) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Failed(f"cannot reach {server}: {reason}", EXIT_FAILED) from None
    except ValueError:
        raise Failed(f"{server} did not answer with JSON: is it a grading service?",
                     EXIT_FAILED) from None


def submit(path: Path, server: str, token: str, assignment: str | None) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Failed(f"{path}: cannot read: {exc.strerror or exc}", EXIT_USAGE) from None
    fields = {"assignment": assignment} if assignment else {}
    body, content_type = multipart(fields, "file", path.name, data)
    return call(server, "/api/v1/submissions", token, body, content_type)  # type: ignore[no-any-return]


def wait(server: str, token: str, job: int, timeout: float) -> dict[str, Any]:
    deadline, delay, said = time.monotonic() + timeout, 1.0, ""
    while True:
        status = call(server, f"/api/v1/jobs/{job}", token)
        state = status["state"]
        if state in ("done", "error"):
            return status  # type: ignore[no-any-return]
        line = f"queued: position {status['position']}" if state == "queued" else \
            f"grading (usually about {status['typical_seconds']:.0f} s)"
        if line != said:
            _say(line, error=True)
            said = line
        if time.monotonic() > deadline:
            raise Failed(f"still {state} after {timeout:.0f} s; the grade will still come: "
                         f"{server.rstrip('/')}/api/v1/jobs/{job}", EXIT_FAILED)
        time.sleep(delay)
        delay = min(3.0, delay * 1.3)


def main(args: argparse.Namespace) -> int:
    try:
        token = read_token(args.token, getattr(args, "token_file", None))
    except Failed as failed:
        _say(f"grader: {failed}", error=True)
        return failed.code
    if not token:
        _say(f"grader: give --token-file FILE (or set ${TOKEN_ENV}, or --token TOKEN)",
             error=True)
        return EXIT_USAGE
    if not args.file.is_file():
        _say(f"grader: {args.file}: no such file", error=True)
        return EXIT_USAGE
    server = args.server.rstrip("/")
    try:
        accepted = submit(args.file, server, token, args.assignment)
        where = f", position {accepted['position']} in the queue" if accepted.get("position") \
            else ""
        _say(f"accepted: attempt {accepted['number']} (job {accepted['job']}){where}")
        report = server + accepted["report_url"]
        if not args.wait:
            _say(f"status: {server}{accepted['status_url']}\nreport (once graded): {report}")
            return EXIT_OK
        status = wait(server, token, accepted["job"], args.timeout)
    except Failed as failed:
        _say(f"grader: {failed}", error=True)
        return failed.code
    result = status["attempt"].get("result") or {}
    _say(f"score: {result.get('score', 0):g} / {result.get('max_score', 0):g} "
         f"({result.get('status', status['state'])}): {result.get('verdict', '')}")
    _say(f"report: {report}")
    if status["state"] == "error":
        _say("grader: the grader could not grade this attempt; your instructor can regrade "
             "it", error=True)
        return EXIT_FAILED
    return EXIT_OK
