"""A service folder: where its settings, database and uploads are, and how to open it.

    D/service.toml     settings written by `grader serve init` (0600: it may hold a URL
                       with a password): base_url, and [database] url when not embedded
    D/service.sqlite   the embedded database (SQLite) when no URL is configured
    D/uploads/         uploaded files, content-addressed (storage.py)

Why a file and not flags: `grader gradebook show --out D`, the CLI's admin commands and
the running service must all find the same database from the folder alone.
`GRADER_SERVICE_DB` overrides the URL (the service hands it to its workers this way, so a
password never shows in a process list).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from grader.errors import UsageError

SETTINGS = "service.toml"
DATABASE = "service.sqlite"
UPLOADS = "uploads"
DB_ENV = "GRADER_SERVICE_DB"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class ServiceFolderError(UsageError):
    """The folder is not a usable service folder."""


@dataclass(frozen=True)
class Folder:
    root: Path
    base_url: str
    database_url: str

    @property
    def uploads(self) -> Path:
        return self.root / UPLOADS

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")


def is_service_folder(path: Path) -> bool:
    return (path / SETTINGS).is_file()


def embedded_url(root: Path) -> str:
    return f"sqlite:///{(root / DATABASE).resolve()}"


def database_url(root: Path, override: str | None = None) -> str:
    """The database of the folder: `override`, else $GRADER_SERVICE_DB, else the URL in
    service.toml, else the embedded SQLite file."""
    if override:
        return override
    if os.environ.get(DB_ENV):
        return os.environ[DB_ENV]
    configured = _settings(root).get("database", {}).get("url")
    return str(configured) if configured else embedded_url(root)


def _settings(root: Path) -> dict[str, object]:
    path = root / SETTINGS
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ServiceFolderError(f"{root}: not a service folder (no {SETTINGS}; run "
                                 f"`grader serve init --dir {root}` first)") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ServiceFolderError(f"{path}: cannot be read: {exc}") from None
    return raw


def open_folder(root: Path, db_override: str | None = None) -> Folder:
    raw = _settings(root)
    service = raw.get("service", {})
    base = str(service.get("base_url", DEFAULT_BASE_URL)) if isinstance(service, dict) \
        else DEFAULT_BASE_URL
    return Folder(root=root, base_url=base.rstrip("/"),
                  database_url=database_url(root, db_override))


def write_settings(root: Path, base_url: str, db_url: str | None) -> Path:
    """service.toml, created 0600 (it may hold a database password); never overwritten."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / SETTINGS
    lines = ["# grader serve: this folder's settings (see docs/service.md)", "[service]",
             f"base_url = {_toml_string(base_url.rstrip('/'))}", ""]
    if db_url:
        lines += ["[database]", f"url = {_toml_string(db_url)}", ""]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    return path


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    if any(ord(c) < 32 for c in escaped):
        raise UsageError("a setting may not hold control characters")
    return f'"{escaped}"'
