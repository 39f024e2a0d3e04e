"""Shared machinery for the synthetic silhouette data sets (horses/humans, rock/paper/scissors).

Each data set is a few drawing functions, one per class; this module draws the splits
around them the way the course ships its data: a training zip and a validation zip whose
top-level folders are the classes, plus a hidden split the run never sees.

Why the rules below (the lessons of calibrating the Happy-or-Sad faces by measurement):
plain or gently graded backgrounds, large subjects, and training images drawn in matched
pairs — image i of every class shares one random generator, so the classes differ only in
the subject, never in a background or colour that happens to be commoner in one class.
Noisy backgrounds and unpaired images made the reference model memorise instead of learn.
Every image has its own generator seeded from (seed, split, index[, class]), so the same
seed gives byte-identical PNGs and zips, and no global random state is touched. The hidden
split has its own seed, never the public training seed (which once drew it too, so anyone
with this file could redraw it): the grader derives it from the course secret, and a
caller that gives none gets a random one.
"""

from __future__ import annotations

import colorsys
import json
import math
import os
import secrets
import shutil
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

RGB = tuple[int, int, int]
SUPERSAMPLE = 2  # drawn at twice the size and downsampled: anti-aliased edges
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_SPLITS = {"train": 0, "validation": 1, "hidden": 2}


@dataclass(frozen=True)
class Geometry:
    """How much a split varies the subject: scale, shift (fraction of the image), rotation."""

    scale: tuple[float, float]
    offset: float
    rotation: float
    background_value: tuple[float, float] = (0.75, 1.0)
    background_saturation: float = 0.35


@dataclass(frozen=True)
class Subject:
    """What a drawing function gets: where to draw and the colours to use."""

    draw: ImageDraw.ImageDraw
    size: float  # canvas side in pixels (supersampled)
    cx: float
    cy: float
    scale: float  # 1.0 = the subject fills about 80 % of the image
    colour: RGB
    accent: RGB
    flip: bool  # mirror left/right (horses face either way)


Drawer = Callable[[Subject, np.random.Generator], None]


@dataclass(frozen=True)
class SilhouetteDataset:
    """Where a generated data set lives and which seed drew it."""

    root: Path
    train_dir: Path
    train_zip: Path
    validation_dir: Path
    validation_zip: Path
    hidden_dir: Path
    seed: int


def hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return (round(r * 255), round(g * 255), round(b * 255))


def background(rng: np.random.Generator, geometry: Geometry, size: int) -> Image.Image:
    """A plain colour or a gentle two-colour gradient (never noise)."""
    lo, hi = geometry.background_value
    hue = rng.uniform(0.0, 1.0)
    first = np.array(hsv(hue, rng.uniform(0, geometry.background_saturation),
                         rng.uniform(lo, hi)))
    second = first if rng.uniform() < 0.4 else np.array(hsv(
        hue + rng.uniform(-0.15, 0.15), rng.uniform(0, geometry.background_saturation),
        rng.uniform(lo, hi)))
    angle = rng.integers(4) * math.pi / 2
    coords = np.linspace(-0.5, 0.5, size)
    xx, yy = np.meshgrid(coords, coords)
    t = np.clip(xx * math.cos(angle) + yy * math.sin(angle) + 0.5, 0.0, 1.0)[..., None]
    pixels = (first * (1 - t) + second * t).round().astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def draw_image(rng: np.random.Generator, drawer: Drawer, geometry: Geometry,
               image_size: int) -> Image.Image:
    """One RGB image: background, then the subject on its own layer, rotated, composited."""
    size = image_size * SUPERSAMPLE
    canvas = background(rng, geometry, size).convert("RGBA")
    colour = hsv(rng.uniform(0, 1), rng.uniform(0.3, 0.8), rng.uniform(0.15, 0.55))
    accent = hsv(rng.uniform(0, 1), rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.7))
    scale = rng.uniform(*geometry.scale)
    cx = size / 2 + rng.uniform(-geometry.offset, geometry.offset) * size
    cy = size / 2 + rng.uniform(-geometry.offset, geometry.offset) * size
    flip = bool(rng.integers(2))
    angle = rng.uniform(-geometry.rotation, geometry.rotation)
    layer = Image.new("RGBA", (size, size), colour + (0,))
    drawer(Subject(ImageDraw.Draw(layer), size, cx, cy, scale, colour, accent, flip), rng)
    layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, center=(cx, cy))
    canvas.alpha_composite(layer)
    return canvas.convert("RGB").resize((image_size, image_size), Image.Resampling.LANCZOS)


def _rng(seed: int, split: str, index: int, label: int | None) -> np.random.Generator:
    """Training and validation images come in matched pairs across classes; hidden do not."""
    key = [seed, _SPLITS[split], index]
    if label is not None:
        key.append(label)
    return np.random.default_rng(np.random.SeedSequence(key))


def write_zip(folder: Path, classes: tuple[str, ...], zip_path: Path) -> None:
    """Top-level class folders, sorted, fixed timestamps: the bytes depend on the seed only."""
    files = sorted(p for label in classes for p in (folder / label).glob("*.png"))
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(f"{path.parent.name}/{path.name}", date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())


def _draw_split(out: Path, seed: int, split: str, drawers: Mapping[str, Drawer],
                geometry: Geometry, image_size: int, per_class: int, prefix: str) -> None:
    paired = split != "hidden"
    for label_index, (label, drawer) in enumerate(drawers.items()):
        for index in range(per_class):
            rng = _rng(seed, split, index, None if paired else label_index)
            image = draw_image(rng, drawer, geometry, image_size)
            path = out / label / f"{prefix}{label}-{index:03d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            image.save(path, format="PNG")


@dataclass(frozen=True)
class DatasetRecipe:
    """Everything that defines one silhouette data set (see horses.py, hands.py)."""

    name: str
    generator: str  # version: bump when a drawing changes, caches are redrawn
    drawers: Mapping[str, Drawer]  # class folder name -> drawing, in alphabetical order
    image_size: int
    train_zip: str
    validation_zip: str
    train_geometry: Geometry
    hidden_geometry: Geometry
    train_per_class: int
    validation_per_class: int
    hidden_per_class: int


def make(recipe: DatasetRecipe, out: Path, seed: int = 0,
         hidden_seed: int | None = None) -> SilhouetteDataset:
    """Draw train/, validation/ and hidden/, the two course-style zips and dataset.json.
    ``hidden_seed`` None draws the hidden split from a random seed."""
    if seed < 0 or (hidden_seed is not None and hidden_seed < 0):
        raise ValueError("seeds must be non-negative integers")
    hidden_seed = secrets.randbits(63) if hidden_seed is None else hidden_seed
    out = Path(out)
    classes = tuple(recipe.drawers)
    folders = {split: out / split for split in _SPLITS}
    for folder in folders.values():
        if folder.exists():
            shutil.rmtree(folder)
    counts = {"train": recipe.train_per_class, "validation": recipe.validation_per_class,
              "hidden": recipe.hidden_per_class}
    for split, folder in folders.items():
        _draw(recipe, folder, hidden_seed if split == "hidden" else seed, split,
              counts[split])
    write_zip(folders["train"], classes, out / recipe.train_zip)
    write_zip(folders["validation"], classes, out / recipe.validation_zip)
    manifest = {"name": recipe.name, "generator": recipe.generator, "seed": seed,
                "image_size": recipe.image_size,
                "counts": {split: {label: n for label in classes}
                           for split, n in counts.items()}}
    (out / "dataset.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return SilhouetteDataset(out, folders["train"], out / recipe.train_zip,
                             folders["validation"], out / recipe.validation_zip,
                             folders["hidden"], seed)


def _draw(recipe: DatasetRecipe, folder: Path, seed: int, split: str, per_class: int) -> None:
    geometry = recipe.hidden_geometry if split == "hidden" else recipe.train_geometry
    _draw_split(folder, seed, split, recipe.drawers, geometry, recipe.image_size,
                per_class, "valid-" if split == "validation" else "")


def redraw_hidden(recipe: DatasetRecipe, root: Path, hidden_seed: int) -> None:
    """Draw the hidden split in ``root`` again from ``hidden_seed``, with the count its
    dataset.json records; the training and validation zips are left as they are."""
    manifest = json.loads((root / "dataset.json").read_text())
    per_class = int(manifest["counts"]["hidden"][next(iter(recipe.drawers))])
    building = sibling(root / "hidden", "drawing")
    _draw(recipe, building, hidden_seed, "hidden", per_class)
    replace_folder(root / "hidden", building)


def sibling(folder: Path, purpose: str) -> Path:
    """A fresh hidden name next to ``folder`` (same file system, so a rename can swap)."""
    return folder.with_name(f".{folder.name}.{purpose}.{os.getpid()}.{secrets.token_hex(4)}")


def replace_folder(target: Path, new: Path) -> None:
    """Put ``new`` where ``target`` is. The old folder is renamed aside first, so
    ``target`` is missing only between two renames, never half-written."""
    old = sibling(target, "old")
    if target.exists():
        os.rename(target, old)
    os.rename(new, target)
    shutil.rmtree(old, ignore_errors=True)
