"""Thumbnails of the hidden images a model got wrong, for the instructor view only.

Why so careful with a trusted folder: the names come from a result file, which may have
been edited or come from another machine, so a name is only ever looked up *inside* the
hidden split: no absolute paths, no '..', no symlinks followed at any level. Images are
downscaled and embedded as data: URIs so the report stays one self-contained file.
"""

from __future__ import annotations

import base64
import io
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

MAX_THUMBNAILS = 24
THUMBNAIL_PX = 64
MAX_IMAGE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Thumbnail:
    name: str
    src: str  # data:image/png;base64,...
    alt: str


@dataclass
class Thumbnails:
    shown: list[Thumbnail] = field(default_factory=list)
    more: int = 0  # misclassified images beyond the cap
    unreadable: list[str] = field(default_factory=list)  # refused or not decodable


def safe_parts(name: str) -> list[str] | None:
    """The path components of a relative name, or None if it could leave the folder."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return None
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    return parts


def _read_no_follow(root: Path, parts: list[str]) -> bytes | None:
    """Read root/parts... opening every component with O_NOFOLLOW relative to its parent."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    try:
        folder = os.open(root, flags | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            inner = os.open(part, flags | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
            os.close(folder)
            folder = inner
        handle = os.open(parts[-1], flags | os.O_NOFOLLOW, dir_fd=folder)
    except OSError:  # ELOOP for a symlink, ENOENT, ENOTDIR...
        os.close(folder)
        return None
    os.close(folder)
    with os.fdopen(handle, "rb") as reader:
        info = os.fstat(reader.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_IMAGE_BYTES:
            return None
        return reader.read()


def _read_zip(archive: Path, name: str) -> bytes | None:
    with zipfile.ZipFile(archive) as opened:
        try:
            info = opened.getinfo(name)
        except KeyError:
            return None
        return opened.read(info) if info.file_size <= MAX_IMAGE_BYTES else None


def _png_data_uri(data: bytes, size: int) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale
            small = image.convert("RGBA" if "A" in image.getbands() else "RGB")
            small.thumbnail((size, size))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _alt(name: str, classes: tuple[str, ...]) -> str:
    truth = name.split("/", 1)[0]
    if len(classes) == 2 and truth in classes:
        guess = classes[1 - classes.index(truth)]
        return f"hidden image {name}: a {truth} image the model classified as {guess}"
    return f"hidden image {name}, misclassified (true class {truth})"


def misclassified(hidden_dir: Path, names: list[str], classes: tuple[str, ...] = (),
                  cap: int = MAX_THUMBNAILS, size: int = THUMBNAIL_PX) -> Thumbnails:
    """Thumbnails of up to `cap` misclassified images; names are as the scorer writes them,
    '<class>/<file>' relative to the hidden folder (or members of a hidden zip)."""
    found = Thumbnails(more=max(0, len(names) - cap))
    in_zip = hidden_dir.is_file() and zipfile.is_zipfile(hidden_dir)
    for name in names[:cap]:
        parts = safe_parts(str(name))
        data = None
        if parts is not None:
            data = _read_zip(hidden_dir, name) if in_zip else _read_no_follow(hidden_dir, parts)
        src = _png_data_uri(data, size) if data is not None else None
        if src is None:
            found.unreadable.append(str(name))
        else:
            found.shown.append(Thumbnail(name=name, src=src, alt=_alt(name, classes)))
    return found
