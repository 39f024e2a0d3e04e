"""An instructor's own data: a training folder or zip and a hidden folder, checked up front."""

from __future__ import annotations

import functools
import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from grader import exercise
from grader.exercise import datasets, datasource, secret


def _class_folders(root: Path, classes: tuple[str, ...] = ("happy", "sad")) -> Path:
    for cls in classes:
        (root / cls).mkdir(parents=True)
        for index in range(2):
            Image.new("RGBA", (150, 150), (index * 90, 10, 10, 255)).save(
                root / cls / f"{cls}{index}.png")
    return root


def test_training_folder_is_zipped_in_the_course_layout(tmp_path: Path) -> None:
    spec = exercise.load("happy-or-sad", train=_class_folders(tmp_path / "train"),
                         hidden=_class_folders(tmp_path / "hidden"))
    data = datasource.resolve(spec, tmp_path / "data")
    with zipfile.ZipFile(data.train_zip) as archive:
        assert sorted(archive.namelist()) == ["happy/happy0.png", "happy/happy1.png",
                                              "sad/sad0.png", "sad/sad1.png"]
    assert data.hidden_dir == tmp_path / "hidden"


def test_training_zip_is_used_as_given(tmp_path: Path) -> None:
    folder = _class_folders(tmp_path / "train")
    course_zip = tmp_path / "happy-or-sad.zip"
    with zipfile.ZipFile(course_zip, "w") as archive:
        for file in sorted(folder.rglob("*.png")):
            archive.write(file, file.relative_to(folder).as_posix())
    spec = exercise.load("happy-or-sad", train=course_zip,
                         hidden=_class_folders(tmp_path / "hidden"))
    assert datasource.resolve(spec, tmp_path / "data").train_zip == course_zip


@pytest.mark.parametrize(("make_train", "make_hidden", "message"), [
    (lambda p: _class_folders(p / "t", ("happy",)), lambda p: _class_folders(p / "h"),
     "training folder .* has no sad folder"),
    (lambda p: _class_folders(p / "t"), lambda p: _class_folders(p / "h", ("sad",)),
     "hidden split .* has no happy folder"),
    (lambda p: _class_folders(p / "t"), lambda p: p / "missing", "is not a folder"),
    (lambda p: (p / "notzip.zip").write_text("x") and p / "notzip.zip",
     lambda p: _class_folders(p / "h"), "neither a folder nor a zip"),
])
def test_unusable_instructor_data_is_one_clear_error(tmp_path: Path, make_train, make_hidden,  # noqa: ANN001
                                                     message: str) -> None:
    spec = exercise.load("happy-or-sad", train=make_train(tmp_path),
                         hidden=make_hidden(tmp_path))
    with pytest.raises(datasource.DataError, match=message):
        datasource.resolve(spec, tmp_path / "data")


def test_a_cached_set_drawn_by_another_generator_version_is_redrawn(tmp_path: Path) -> None:
    stale = tmp_path / "data" / "happy-or-sad"
    stale.mkdir(parents=True)
    (stale / "dataset.json").write_text('{"generator": "faces-0.1"}')
    (stale / "stale-marker").write_text("x")
    data = datasource.resolve(exercise.load("happy-or-sad"), tmp_path / "data")
    assert not (stale / "stale-marker").exists()
    assert '"generator": "' + datasets.VERSIONS["happy-or-sad"] in \
        (stale / "dataset.json").read_text()
    assert data.train_zip.exists() and (data.hidden_dir / "happy").is_dir()


# --- the built-in hidden split comes from the course secret ----------------------------

OLD_PUBLIC_OFFSET = 1_000_003  # the hidden seed used to be the training seed plus this


@pytest.fixture
def small_faces(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Happy-or-Sad generator at 4 + 3 images a class: the logic, not the pictures."""
    monkeypatch.setitem(datasets.DATASETS, "happy-or-sad", functools.partial(
        datasets.make_happy_or_sad, train_per_class=4, hidden_per_class=3))
    monkeypatch.delenv(secret.SECRET_ENV, raising=False)


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.png"))}


@pytest.mark.usefixtures("small_faces")
def test_one_data_folder_keeps_its_hidden_split(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    spec = exercise.load("happy-or-sad")
    first = datasource.resolve(spec, tmp_path / "data")
    drawn = {p: p.stat().st_mtime_ns for p in first.hidden_dir.rglob("*.png")}
    monkeypatch.setattr(datasource, "_locked", None)  # a current set: no lock, no write
    again = datasource.resolve(spec, tmp_path / "data")
    assert again.secret == first.secret == secret.course_secret(tmp_path / "data")
    assert {p: p.stat().st_mtime_ns for p in again.hidden_dir.rglob("*.png")} == drawn
    assert len(drawn) == 6


@pytest.mark.usefixtures("small_faces")
def test_two_secrets_draw_two_hidden_splits_from_one_training_zip(tmp_path: Path) -> None:
    spec = exercise.load("happy-or-sad")
    one = datasource.resolve(spec, tmp_path / "one")
    two = datasource.resolve(spec, tmp_path / "two")
    assert one.secret != two.secret
    assert one.train_zip.read_bytes() == two.train_zip.read_bytes()
    assert not set(_digests(one.hidden_dir).values()) & set(_digests(two.hidden_dir).values())
    expected = datasets.make_happy_or_sad(
        tmp_path / "expected", seed=0, train_per_class=4, hidden_per_class=3,
        hidden_seed=secret.derive(one.secret, "hidden", "happy-or-sad"))
    assert _digests(one.hidden_dir) == _digests(expected.hidden_dir)


@pytest.mark.usefixtures("small_faces")
def test_dataset_json_names_the_secret_by_its_fingerprint_only(tmp_path: Path) -> None:
    data = datasource.resolve(exercise.load("happy-or-sad"), tmp_path / "data")
    text = (tmp_path / "data" / "happy-or-sad" / "dataset.json").read_text()
    manifest = json.loads(text)
    assert manifest[datasource.SECRET_KEY] == secret.fingerprint(data.secret)
    assert "hidden_seed" not in manifest
    assert data.secret.hex() not in text
    assert str(secret.derive(data.secret, "hidden", "happy-or-sad")) not in text
    assert data.secret.hex() not in repr(data)


@pytest.mark.usefixtures("small_faces")
def test_a_given_secret_draws_its_split_in_any_data_folder(tmp_path: Path) -> None:
    """What a Dask worker with its own data folder does with its client's secret."""
    spec = exercise.load("happy-or-sad")
    client = datasource.resolve(spec, tmp_path / "client")
    worker = datasource.resolve(spec, tmp_path / "worker", secret=client.secret)
    assert _digests(worker.hidden_dir) == _digests(client.hidden_dir)
    assert not (tmp_path / "worker" / secret.SECRET_FILE).exists()
    own = datasource.resolve(spec, tmp_path / "worker")  # its own secret: redrawn
    assert _digests(own.hidden_dir) != _digests(client.hidden_dir)
    assert own.train_zip.read_bytes() == client.train_zip.read_bytes()


@pytest.mark.usefixtures("small_faces")
def test_a_set_drawn_at_the_public_offset_gets_a_new_hidden_split(tmp_path: Path) -> None:
    root = tmp_path / "data" / "happy-or-sad"
    old = datasets.make_happy_or_sad(root, seed=0, hidden_seed=OLD_PUBLIC_OFFSET,
                                     train_per_class=4, hidden_per_class=3)
    manifest = json.loads((root / "dataset.json").read_text())
    (root / "dataset.json").write_text(json.dumps({**manifest, "hidden_seed": OLD_PUBLIC_OFFSET}))
    before, zipped = _digests(old.hidden_dir), old.train_zip.read_bytes()
    data = datasource.resolve(exercise.load("happy-or-sad"), tmp_path / "data")
    assert data.train_zip.read_bytes() == zipped
    assert not set(_digests(data.hidden_dir).values()) & set(before.values())
    updated = json.loads((root / "dataset.json").read_text())
    assert "hidden_seed" not in updated and updated[datasource.SECRET_KEY]


@pytest.mark.usefixtures("small_faces")
def test_the_self_checks_public_split_does_not_depend_on_the_secret(tmp_path: Path) -> None:
    spec = exercise.load("happy-or-sad")
    splits = []
    for name in ("one", "two"):
        data = datasource.resolve(spec, tmp_path / name)
        splits.append(_digests(datasource.public_split(spec, data, tmp_path / name)))
    public = datasets.make_happy_or_sad(
        tmp_path / "public", seed=datasource.PUBLIC_SEED, train_per_class=4,
        hidden_per_class=3, hidden_seed=datasource.PUBLIC_SEED + OLD_PUBLIC_OFFSET)
    assert splits[0] == splits[1] == _digests(public.hidden_dir)


def test_an_empty_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(datasource.DataError, match="no course secret"):
        datasource.resolve(exercise.load("happy-or-sad"), tmp_path / "data", secret=b"")


@pytest.mark.usefixtures("small_faces")
def test_grader_data_make_says_where_the_secret_is_and_keeps_the_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import main

    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "data"))
    assert main(["data", "make", "happy-or-sad"]) == 0
    first = capsys.readouterr().out.splitlines()
    where = tmp_path / "data" / secret.SECRET_FILE
    assert first[0] == f"course secret: {where} (made now)"
    hidden = tmp_path / "data" / "happy-or-sad" / "hidden"
    drawn = {p: p.stat().st_mtime_ns for p in hidden.rglob("*.png")}
    assert main(["data", "make", "happy-or-sad"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"course secret: {where}"
    assert {p: p.stat().st_mtime_ns for p in hidden.rglob("*.png")} == drawn
    assert datasource.resolve(exercise.load("happy-or-sad"), tmp_path / "data").secret == \
        where.read_bytes()
