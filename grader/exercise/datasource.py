"""Where an exercise's training zip and hidden split come from: built-in or the instructor's.

The built-in synthetic set is drawn once per data directory and reused; an instructor may
give the real course zip (or a folder, zipped here in the course's layout) and their own
hidden folder, in the spec or with --train/--hidden.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.errors import DataError
from grader.exercise.spec import ExerciseSpec


@dataclass(frozen=True)
class DataPaths:
    train_zip: Path
    hidden_dir: Path
    validation_zip: Path | None = None  # the public validation zip, for specs that stage one


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


def resolve(spec: ExerciseSpec, data_dir: Path | None = None) -> DataPaths:
    data_dir = data_dir or default_data_dir()
    if spec.train_source is None or spec.hidden_source is None:
        built = _built_in(spec, data_dir)
    train_zip = built.train_zip if spec.train_source is None else _train_zip(spec, data_dir)
    hidden = built.hidden_dir if spec.hidden_source is None else spec.hidden_source
    if not hidden.is_dir():
        raise DataError(f"hidden split {hidden} is not a folder")
    _check_class_folders(hidden, spec.classes, "hidden split")
    validation = None
    if spec.validation_zip_name:  # the built-in one, whoever gives the training data
        validation = _built_in(spec, data_dir).validation_zip
    return DataPaths(train_zip, hidden, validation)


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


def _current(root: Path, version: str | None) -> bool:
    try:
        recorded = json.loads((root / "dataset.json").read_text()).get("generator")
    except (OSError, ValueError, AttributeError):
        return False
    return version is None or recorded == version


def _built_in(spec: ExerciseSpec, data_dir: Path) -> DataPaths:
    """Draw the built-in set once; built aside and renamed so parallel graders never race."""
    from grader.exercise import datasets

    root = data_dir / spec.dataset
    if not _current(root, datasets.VERSIONS.get(spec.dataset)):
        if root.exists():  # drawn by another grader version: never grade against it
            shutil.rmtree(root, ignore_errors=True)
        building = data_dir / f".{spec.dataset}.{os.getpid()}"
        try:
            datasets.build(spec.dataset, building)
        except KeyError as exc:
            raise DataError(str(exc.args[0]) if exc.args else str(exc)) from None
        try:
            os.rename(building, root)
        except OSError:  # another grader finished first: use theirs
            shutil.rmtree(building, ignore_errors=True)
    validation = root / spec.validation_zip_name if spec.validation_zip_name else None
    if validation is not None and not validation.is_file():
        raise DataError(f"data set {spec.dataset} has no {spec.validation_zip_name}")
    return DataPaths(root / spec.zip_name, root / "hidden", validation)


PUBLIC_SEED = 7  # the self-check's public split of data sets without a validation zip


def public_split(spec: ExerciseSpec, data: DataPaths, data_dir: Path | None) -> Path:
    """A split students may see: the course's validation zip when the exercise has one,
    else a set drawn by the built-in generator with another seed (its "hidden" part)."""
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
        datasets.build(spec.dataset, root, seed=PUBLIC_SEED)
    return root / "hidden"
