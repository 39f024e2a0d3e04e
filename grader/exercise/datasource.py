"""Where an exercise's training zip and hidden split come from: built-in or the instructor's.

The built-in synthetic set is drawn once per data directory and reused; an instructor may
give the real course zip (or a folder, zipped here in the course's layout) and their own
hidden folder, in the spec or with --train/--hidden.

The built-in hidden split is drawn from a seed derived from the course secret
(grader.exercise.secret), never from the public training seed: the generator's code is
public and importable, so a seed that followed from the training seed let a run redraw
the hidden split byte for byte. dataset.json records the secret's fingerprint; a set
drawn with another secret (or by a grader that still derived the hidden seed from the
training seed) has its hidden split redrawn, while its training zip stays byte for byte
what course notebooks were trained on.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import DataError
from grader.exercise.secret import course_secret, fingerprint, hidden_seed
from grader.exercise.spec import ExerciseSpec

SECRET_KEY = "hidden_secret_fingerprint"  # in dataset.json: which secret drew the hidden split


@dataclass(frozen=True)
class DataPaths:
    train_zip: Path
    hidden_dir: Path
    validation_zip: Path | None = None  # the public validation zip, for specs that stage one
    # the course secret (grader.exercise.secret): never enters a run, never in a repr
    secret: bytes = field(default=b"", repr=False)


def default_data_dir() -> Path:
    configured = os.environ.get("GRADER_DATA_DIR")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "tf-image-grader"


def _check_class_folders(folder: Path, classes: tuple[str, ...], what: str) -> None:
    missing = [c for c in classes if not (folder / c).is_dir()]
    if missing:
        raise DataError(f"{what} {folder} has no {'/'.join(missing)} folder(s); expected "
                        f"one sub-folder per class: {', '.join(classes)}")


def _zip_folder(folder: Path, target: Path, classes: tuple[str, ...]) -> Path:
    """The course zip's layout: top-level class folders, sorted, fixed timestamps."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for cls in classes:
            for file in sorted((folder / cls).rglob("*")):
                if file.is_file():
                    info = zipfile.ZipInfo(f"{cls}/{file.relative_to(folder / cls).as_posix()}",
                                           date_time=(2019, 1, 1, 0, 0, 0))
                    archive.writestr(info, file.read_bytes(), zipfile.ZIP_DEFLATED)
    os.replace(tmp, target)
    return target


def resolve(spec: ExerciseSpec, data_dir: Path | None = None,
            secret: bytes | None = None) -> DataPaths:
    """The data `spec` is graded on. `secret` is the course secret to use (a Dask worker
    gets its client's, so every worker draws the same hidden split); by default the data
    folder's own (grader.exercise.secret)."""
    data_dir = data_dir or default_data_dir()
    secret = course_secret(data_dir) if secret is None else secret
    if not secret:
        raise DataError("no course secret: the built-in hidden split cannot be drawn")
    built = None
    if spec.train_source is None or spec.hidden_source is None or spec.validation_zip_name:
        built = _built_in(spec, data_dir, secret)
    train_zip = built.train_zip if built and spec.train_source is None \
        else _train_zip(spec, data_dir)
    hidden = built.hidden_dir if built and spec.hidden_source is None else spec.hidden_source
    assert hidden is not None
    if not hidden.is_dir():
        raise DataError(f"hidden split {hidden} is not a folder")
    _check_class_folders(hidden, spec.classes, "hidden split")
    # the built-in validation zip, whoever gives the training data
    validation = built.validation_zip if built else None
    return DataPaths(train_zip, hidden, validation, secret)


def _train_zip(spec: ExerciseSpec, data_dir: Path) -> Path:
    source = spec.train_source
    assert source is not None
    if source.is_dir():
        _check_class_folders(source, spec.classes, "training folder")
        return _zip_folder(source, data_dir / "instructor" / f"{spec.name}.zip", spec.classes)
    if not zipfile.is_zipfile(source):
        raise DataError(f"training data {source} is neither a folder nor a zip file")
    with zipfile.ZipFile(source) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    missing = [c for c in spec.classes if c not in tops]
    if missing:
        raise DataError(f"training zip {source} has no top-level {'/'.join(missing)} folder")
    return source


def _built_in(spec: ExerciseSpec, data_dir: Path, secret: bytes) -> DataPaths:
    root = draw(spec.dataset, data_dir / spec.dataset, secret)
    validation = root / spec.validation_zip_name if spec.validation_zip_name else None
    if validation is not None and not validation.is_file():
        raise DataError(f"data set {spec.dataset} has no {spec.validation_zip_name}")
    return DataPaths(root / spec.zip_name, root / "hidden", validation, secret)


def draw(name: str, root: Path, secret: bytes, seed: int | None = None) -> Path:
    """The built-in set `name` in `root`, drawn or brought up to date: drawn whole when
    missing or drawn by another generator version (or another training `seed`; None
    keeps the cached one), its hidden split alone when drawn with another secret. One
    grader at a time (a lock file next to `root`); everything is built aside and renamed
    into place, so a reader never sees half a data set."""
    from grader.exercise import datasets

    if name not in datasets.VERSIONS:
        known = ", ".join(sorted(datasets.VERSIONS))
        raise DataError(f"unknown data set {name!r}; known data sets: {known}")
    if _stale(name, root, secret, seed) is None:
        return root  # no lock, no write: a read-only data folder serves as it is
    root.parent.mkdir(parents=True, exist_ok=True)
    with _locked(root.parent / f".{root.name}.lock"):
        stale = _stale(name, root, secret, seed)
        if stale == "whole":
            _draw_whole(name, root, _wanted_seed(_manifest(root), seed), secret)
        elif stale == "hidden":
            datasets.redraw_hidden(name, root, hidden_seed(secret, name))
            _record_secret(root, secret)
    return root


def _stale(name: str, root: Path, secret: bytes, seed: int | None) -> str | None:
    """What of the set in `root` must be drawn again: "whole", "hidden" or None."""
    from grader.exercise import datasets

    manifest = _manifest(root)
    if manifest.get("generator") != datasets.VERSIONS[name] \
            or manifest.get("seed") != _wanted_seed(manifest, seed):
        return "whole"
    if manifest.get(SECRET_KEY) != fingerprint(secret) or not (root / "hidden").is_dir():
        return "hidden"
    return None


def _wanted_seed(manifest: dict[str, object], seed: int | None) -> int:
    """The training seed asked for, else the cached set's (a set drawn with --seed N is
    kept), else 0."""
    cached = manifest.get("seed")
    return seed if seed is not None else cached if isinstance(cached, int) else 0


def _draw_whole(name: str, root: Path, seed: int, secret: bytes) -> None:
    from grader.exercise import datasets
    from grader.exercise.datasets.drawing import replace_folder, sibling

    building = sibling(root, "drawing")
    try:
        datasets.build(name, building, seed=seed, hidden_seed=hidden_seed(secret, name))
        _record_secret(building, secret)
        replace_folder(root, building)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _manifest(root: Path) -> dict[str, object]:
    try:
        manifest = json.loads((root / "dataset.json").read_text())
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _record_secret(root: Path, secret: bytes) -> None:
    """dataset.json says which secret drew the hidden split (its fingerprint only); the
    public offset of older generators ("hidden_seed") is dropped."""
    manifest = _manifest(root)
    manifest.pop("hidden_seed", None)
    manifest[SECRET_KEY] = fingerprint(secret)
    temporary = root / "dataset.json.tmp"
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, root / "dataset.json")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


PUBLIC_SEED = 7  # the self-check's public split of data sets without a validation zip
# The hidden part of the set drawn with PUBLIC_SEED, at the generator's old public offset
# (so the public split's images did not change): public by design, never the secret's.
PUBLIC_HIDDEN_SEED = PUBLIC_SEED + 1_000_003


def public_split(spec: ExerciseSpec, data: DataPaths, data_dir: Path | None) -> Path:
    """A split students may see: the course's validation zip when the exercise has one,
    else a set drawn by the built-in generator with public seeds (its "hidden" part)."""
    base = data_dir or default_data_dir()
    if data.validation_zip is not None:
        folder = base / f"{spec.dataset}-public" / "validation"
        if not folder.is_dir():
            building = folder.with_name(".validation.tmp")
            shutil.rmtree(building, ignore_errors=True)
            with zipfile.ZipFile(data.validation_zip) as archive:
                archive.extractall(building)
            building.rename(folder)
        return folder
    from grader.exercise import datasets

    root = base / f"{spec.dataset}-public-{PUBLIC_SEED}"
    if not (root / "hidden").is_dir():
        datasets.build(spec.dataset, root, seed=PUBLIC_SEED, hidden_seed=PUBLIC_HIDDEN_SEED)
    return root / "hidden"
