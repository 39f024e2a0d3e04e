"""The test LMS (devtools/lti_platform.py) as a real process, for the LTI tests.

Not a test module: the LTI tests put this folder on sys.path and use `running_platform`:

    with running_platform("http://127.0.0.1:8765") as platform:
        platform.add_link("Happy or sad", {"assignment": "happy-or-sad"})
        ...  # a tool registered with platform.issuer, .client_id, .auth_login_url, ...

It imports nothing from the tests. Its own traffic (httpx) ignores any proxy settings: the
platform is on loopback.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "devtools" / "lti_platform.py"
START_TIMEOUT = 60.0  # seconds: generous, the machine may be busy with training runs


class Platform:
    """A running test LMS: its URLs, its registration values and its admin controls."""

    def __init__(self, url: str, client_id: str, deployment_id: str) -> None:
        self.url = self.issuer = url
        self.client_id, self.deployment_id = client_id, deployment_id
        self.auth_login_url = url + "/authorize"
        self.auth_token_url = url + "/token"
        self.key_set_url = url + "/jwks"
        self.client = httpx.Client(base_url=url, timeout=30, trust_env=False)

    def _post(self, path: str, payload: dict[str, Any]) -> Any:
        response = self.client.post(path, json=payload)
        response.raise_for_status()
        return response.json()

    def state(self) -> dict[str, Any]:
        response = self.client.get("/admin/state")
        response.raise_for_status()
        return dict(response.json())

    def add_member(self, user_id: str, name: str, email: str | None = None,
                   role: str = "Learner") -> dict[str, Any]:
        person = {"user_id": user_id, "name": name, "role": role}
        if email:
            person["email"] = email
        return dict(self._post("/admin/members", {"add": [person]}))

    def remove_member(self, user_id: str) -> dict[str, Any]:
        return dict(self._post("/admin/members", {"remove": [user_id]}))

    def add_link(self, title: str, custom: dict[str, str] | None = None,
                 lineitem: dict[str, Any] | None = None) -> dict[str, Any]:
        """A resource link (and its line item, e.g. {"label": ..., "scoreMaximum": 100})."""
        return dict(self._post("/admin/links", {"title": title, "custom": custom or {},
                                                "lineitem": lineitem}))

    def rotate_key(self, keep_old: bool = False) -> dict[str, Any]:
        return dict(self._post("/admin/rotate-key", {"keep_old": keep_old}))

    def token_endpoint(self, down: bool) -> None:
        self._post("/admin/token-endpoint", {"down": down})

    def sign(self, claims: dict[str, Any], key: str = "current",
             headers: dict[str, Any] | None = None) -> str:
        """A JWT signed RS256 by the platform's current key, its "old" one or a "throwaway"."""
        return str(self._post("/admin/sign", {"claims": claims, "key": key,
                                              "headers": headers or {}})["jwt"])

    def launch_claims(self, user: str, link: str | None, nonce: str) -> dict[str, Any]:
        """The claims a real launch would sign (link None: a deep linking request)."""
        return dict(self._post("/admin/launch-claims",
                               {"user": user, "link": link, "nonce": nonce})["claims"])

    def registration_query(self) -> dict[str, str]:
        """openid_configuration and a fresh registration_token, as an LMS adds them to a
        tool's dynamic registration URL."""
        return dict(self._post("/admin/registration", {}))

    def launch_url(self, user: str, link: str) -> str:
        """Where a browser starts a launch (the platform redirects it to the tool's login)."""
        return str(httpx.URL(self.url + "/launch", params={"user": user, "link": link}))

    def deep_link_url(self, user: str = "instructor-1") -> str:
        return str(httpx.URL(self.url + "/deep-link", params={"user": user}))


@contextmanager
def running_platform(tool_url: str, port: int | None = None, client_id: str = "grader-tool",
                     deployment_id: str = "deployment-1",
                     title: str = "Intro to TensorFlow") -> Iterator[Platform]:
    """The test LMS on 127.0.0.1 (a free port unless `port`), for the tool at `tool_url`;
    stopped (SIGTERM, then SIGKILL) when the block ends."""
    argv = [sys.executable, str(SCRIPT), "--port", str(port or 0), "--tool", tool_url,
            "--client-id", client_id, "--deployment-id", deployment_id, "--title", title]
    with tempfile.TemporaryDirectory(prefix="lti-platform-") as folder:
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        with out.open("wb") as stdout, err.open("wb") as stderr:  # files: no pipe to fill up
            process = subprocess.Popen(argv, stdout=stdout, stderr=stderr,
                                       stdin=subprocess.DEVNULL, cwd=ROOT)
        platform = None
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while platform is None:
                found = re.search(r"lti platform: listening on (http://\S+)", out.read_text())
                if found:
                    platform = Platform(found.group(1), client_id, deployment_id)
                elif process.poll() is not None:
                    raise RuntimeError(f"the LTI platform exited ({process.returncode}):\n"
                                       + err.read_text(errors="replace")[-3000:])
                elif time.monotonic() > deadline:
                    raise RuntimeError(f"the LTI platform did not start in {START_TIMEOUT} s:\n"
                                       + err.read_text(errors="replace")[-3000:])
                else:
                    time.sleep(0.05)
            yield platform
        finally:
            if platform is not None:
                platform.client.close()
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
