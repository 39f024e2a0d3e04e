"""The course secret: made once per data folder, private, the same for every grader that
shares the folder, and the only source of what a student must not predict."""

from __future__ import annotations

import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from grader.errors import DataError
from grader.exercise import secret


@pytest.fixture(autouse=True)
def _no_configured_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(secret.SECRET_ENV, raising=False)


def test_the_secret_is_made_once_private_and_kept(tmp_path: Path) -> None:
    first = secret.course_secret(tmp_path / "data")
    path = tmp_path / "data" / secret.SECRET_FILE
    assert len(first) == secret.SECRET_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == first
    assert secret.course_secret(tmp_path / "data") == first
    assert secret.location(tmp_path / "data") == str(path)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [secret.SECRET_FILE]


def _secret_of(folder: str) -> bytes:
    return secret.course_secret(Path(folder))


def test_graders_starting_at_once_agree_on_one_secret(tmp_path: Path) -> None:
    with ProcessPoolExecutor(max_workers=4) as pool:
        made = list(pool.map(_secret_of, [str(tmp_path / "data")] * 16))
    assert len(set(made)) == 1
    assert (tmp_path / "data" / secret.SECRET_FILE).read_bytes() == made[0]
    assert [p.name for p in (tmp_path / "data").iterdir()] == [secret.SECRET_FILE]


def test_two_data_folders_have_different_secrets(tmp_path: Path) -> None:
    assert secret.course_secret(tmp_path / "a") != secret.course_secret(tmp_path / "b")


def test_the_environment_variable_sets_the_secret(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(secret.SECRET_ENV, "ab" * 20)
    assert secret.course_secret(tmp_path) == bytes.fromhex("ab" * 20)
    assert not (tmp_path / secret.SECRET_FILE).exists()
    assert secret.SECRET_ENV in secret.location(tmp_path)


@pytest.mark.parametrize(("value", "message"), [("zz" * 20, "hexadecimal"),
                                                ("ab" * 8, "at least 16 bytes")])
def test_a_bad_environment_secret_is_one_clear_error(tmp_path: Path, value: str, message: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(secret.SECRET_ENV, value)
    with pytest.raises(DataError, match=message) as caught:
        secret.course_secret(tmp_path)
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_a_secret_is_refused_not_replaced(tmp_path: Path) -> None:
    (tmp_path / secret.SECRET_FILE).write_bytes(b"short")
    with pytest.raises(DataError, match="not a course secret") as caught:
        secret.course_secret(tmp_path)
    assert "\n" not in str(caught.value)
    assert (tmp_path / secret.SECRET_FILE).read_bytes() == b"short"


def test_derive_is_stable_per_secret_and_purpose() -> None:
    one, two = b"\x01" * 32, b"\x02" * 32
    assert secret.derive(one, "hidden", "happy-or-sad") == \
        secret.derive(one, "hidden", "happy-or-sad")
    values = {secret.derive(one, "hidden", "happy-or-sad"),
              secret.derive(two, "hidden", "happy-or-sad"),
              secret.derive(one, "hidden", "horse-or-human"),
              secret.derive(one, "hiddenhappy-or-sad")}
    assert len(values) == 4
    assert all(0 <= v < 2**63 for v in values)


def test_the_fingerprint_tells_secrets_apart_and_hides_them() -> None:
    one, two = b"\x01" * 32, b"\x02" * 32
    assert secret.fingerprint(one) == secret.fingerprint(one)
    assert secret.fingerprint(one) != secret.fingerprint(two)
    assert one.hex() not in secret.fingerprint(one)
    assert str(secret.derive(one, "hidden", "happy-or-sad")) not in secret.fingerprint(one)


class _Future:
    def __init__(self, value: object) -> None:
        self.value = value

    def result(self) -> object:
        return self.value


class _Client:
    """Just enough of distributed.Client: runs each task at once, as a worker would."""

    def __init__(self, address: str, timeout: str) -> None:
        self.closed = False

    def submit(self, function, *args, key: str, pure: bool) -> _Future:  # noqa: ANN001
        return _Future(function(*args))

    def nthreads(self) -> dict[str, int]:
        return {"worker": 1}

    def cancel(self, futures: list[object], force: bool) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class _Completed(list):
    def add(self, future: object) -> None:
        self.append(future)


def test_a_cluster_task_carries_the_clients_secret(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker whose data folder has another secret still grades with the client's."""
    import distributed

    from grader import exercise
    from grader.classwork import cluster
    from grader.classwork.intake import Entry
    from grader.grade import GradeOptions

    client_secret = secret.course_secret(tmp_path / "client")
    secret.course_secret(tmp_path / "worker")  # the worker's own, different
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "worker"))
    monkeypatch.setattr(distributed, "Client", _Client)
    monkeypatch.setattr(distributed, "as_completed", _Completed)
    seen: list[bytes] = []

    def resolve(spec: object, data_dir: Path | None = None,
                secret: bytes | None = None) -> object:
        seen.append(secret)
        return object()

    monkeypatch.setattr(cluster.datasource, "resolve", resolve)
    monkeypatch.setattr(cluster, "grade_safely", lambda *args: "graded")
    submission = tmp_path / "ada.py"
    submission.write_text("print('hi')\n")
    kept: list[object] = []
    entry = Entry(student="ada", path=submission)
    cluster.run("tcp://nowhere:8786", [(entry, "key"), (entry, "key2")],
                exercise.load("happy-or-sad"), GradeOptions(),
                lambda result, key: kept.append(result), secret=client_secret)
    assert kept == ["graded", "graded"] and seen == [client_secret, client_secret]
    seen.clear()
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "client"))
    cluster.run("tcp://nowhere:8786", [(entry, "key")], exercise.load("happy-or-sad"),
                GradeOptions(), lambda result, key: kept.append(result))
    assert seen == [client_secret]  # by default: this machine's data folder's secret
