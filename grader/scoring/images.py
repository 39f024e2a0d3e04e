"""The images a scorer measures a model on, decoded once and kept only while they are cheap.

Why a bounded cache: the shared scorer lives for a whole batch, and a model's input shape
chooses the size the images are decoded at. Keeping every size a model ever asked for
would let a few odd (or hostile) input shapes fill the service's memory; so the common
size decoded while the submission trains is kept, one other size besides it (a 300×300
exercise decodes once per batch, as before), and nothing larger than CACHE_LIMIT_BYTES.
"""

from __future__ import annotations

import io
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
PREWARM_SIZE, PREWARM_CHANNELS = (150, 150), 3
CACHE_LIMIT_BYTES = 256 * 1024 * 1024  # per class and size: a hostile input shape is not kept
OTHER_SIZES_KEPT = 1

Shape = tuple[tuple[int, int], int]  # (size, channels)
Key = tuple[str, str, Shape, tuple[Any, ...]]  # (source, class, shape, its files' version)
_decoded: OrderedDict[Key, tuple[Any, list[str]]] = OrderedDict()


@dataclass(frozen=True)
class Split:
    """One split's images in a fixed order — class by class, files sorted — which the
    confusion matrix and the list of misclassified files follow, whatever order the
    images are fed to the model in."""

    pixels: tuple[Any, ...]  # per class: (n, height, width, channels) float32, not rescaled
    rows: tuple[tuple[int, int], ...]  # per image: (class index, row in that class)
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def labels(self) -> list[int]:
        return [label for label, _ in self.rows]

    def gather(self, indices: Any) -> Any:
        """The images at `indices` as one batch (copied: the cache stays untouched)."""
        import numpy as np

        return np.stack([self.pixels[self.rows[i][0]][self.rows[i][1]] for i in indices])


def load_split(source: Path, classes: list[str], size: tuple[int, int],
               channels: int) -> Split:
    pixels, rows, names = [], [], []
    for label, cls in enumerate(classes):
        array, shown = _pixels(source, cls, size, channels)
        pixels.append(array)
        rows += [(label, row) for row in range(len(array))]
        names += shown
    return Split(tuple(pixels), tuple(rows), tuple(names))


def _class_items(source: Path, cls: str) -> list[tuple[str, bytes]]:
    """(shown name, bytes) of one class's images in a folder or in a zip of class folders."""
    if source.is_dir():
        files = sorted(p for p in (source / cls).iterdir()
                       if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        return [(f"{cls}/{p.name}", p.read_bytes()) for p in files]
    with zipfile.ZipFile(source) as archive:
        names = sorted(n for n in archive.namelist()
                       if n.startswith(f"{cls}/") and n.lower().endswith(IMAGE_SUFFIXES))
        return [(n, archive.read(n)) for n in names]


def _pixels(source: Path, cls: str, size: tuple[int, int],
            channels: int) -> tuple[Any, list[str]]:
    """Decoded, resized, not yet rescaled pixels of one class, from the cache if there."""
    key = (str(source), cls, (size, channels), _version(source, cls))
    if key in _decoded:
        _decoded.move_to_end(key)
        return _decoded[key]
    for stale in [k for k in _decoded if k[:3] == key[:3]]:  # the files changed since
        del _decoded[stale]
    decoded = _decode(source, cls, size, channels)
    if decoded[0].nbytes <= CACHE_LIMIT_BYTES:
        _decoded[key] = decoded
        _evict()
    return decoded


def _version(source: Path, cls: str) -> tuple[Any, ...]:
    """What changes when the images do: a class folder's file names, sizes and times, or
    the zip's. A scorer stays warm for a whole batch or service; an instructor who
    replaces the data set in place must not be scored against the old images."""
    try:
        if source.is_dir():
            return tuple(sorted((entry.name, status.st_size, status.st_mtime_ns)
                                for entry in (source / cls).iterdir()
                                for status in (entry.stat(),)))
        status = source.stat()
        return (status.st_size, status.st_mtime_ns)
    except OSError:
        return ()  # unreadable: decoding says so, the same way every time


def _decode(source: Path, cls: str, size: tuple[int, int],
            channels: int) -> tuple[Any, list[str]]:
    import numpy as np
    from PIL import Image

    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(channels, "RGB")
    arrays, names = [], []
    for name, data in _class_items(source, cls):
        with Image.open(io.BytesIO(data)) as image:
            # nearest, as flow_from_directory resizes by default
            resized = image.convert(mode).resize((size[1], size[0]), Image.NEAREST)
        array = np.asarray(resized, dtype="float32")
        arrays.append(array[..., None] if array.ndim == 2 else array)
        names.append(name)
    stacked = np.stack(arrays) if arrays else np.zeros((0, *size, channels), "float32")
    return stacked, names


def _evict() -> None:
    """Keep the prewarmed size and the OTHER_SIZES_KEPT most recently used other sizes."""
    others = list(dict.fromkeys(shape for _, _, shape, _ in _decoded
                                if shape != (PREWARM_SIZE, PREWARM_CHANNELS)))
    dropped = set(others[:-OTHER_SIZES_KEPT] if OTHER_SIZES_KEPT else others)
    for key in [k for k in _decoded if k[2] in dropped]:
        del _decoded[key]


def prewarm(hidden: Path, train_zip: Path, classes: list[str]) -> None:
    """Decode the images in the common size now, while the submission trains; scoring
    proper reports any image that cannot be read."""
    try:
        for source in (hidden, train_zip):
            for cls in classes:
                _pixels(source, cls, PREWARM_SIZE, PREWARM_CHANNELS)
    except Exception:  # noqa: BLE001 - reported by scoring proper
        _decoded.clear()
