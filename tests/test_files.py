"""grader.files: removal and walks that no tree a submission or a student can make stops,
and writes that a reader never sees half of."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from grader.files import atomic_write, remove_tree, walk


def deep_chain(top: Path, depth: int, name: str = "d") -> None:
    """`depth` nested folders under `top`, a file at the bottom and the bottom folder
    made read-only, built through descriptors (the path is longer than PATH_MAX)."""
    descriptor = os.open(top, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=descriptor)
            inner = os.open(name, os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
        os.close(os.open("left.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor))
        os.fchmod(descriptor, 0o500)
    finally:
        os.close(descriptor)


def test_remove_tree_removes_3000_nested_folders(tmp_path: Path) -> None:
    run = tmp_path / "grader-run-x"
    (run / "tmp").mkdir(parents=True)
    deep_chain(run / "tmp", 3000, "level")
    assert len("/level" * 3000) > os.pathconf("/", "PC_PATH_MAX")
    assert remove_tree(run) is True
    assert not run.exists()


def test_shutil_rmtree_cannot_remove_what_remove_tree_can(tmp_path: Path) -> None:
    """Why remove_tree exists: Python 3.11's rmtree recurses once per level."""
    if sys.version_info >= (3, 12):
        pytest.skip("rmtree is no longer the 3.11 one")
    (tmp_path / "run").mkdir()
    deep_chain(tmp_path / "run", 1100)
    with pytest.raises(RecursionError):
        shutil.rmtree(tmp_path / "run")
    assert remove_tree(tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_a_folder_the_run_made_unenterable_is_removed_by_a_non_root_grader() -> None:
    """Without root (a grader using a user namespace), a run's `chmod 000` folder
    cannot even be entered until its permissions are given back."""
    base = Path(tempfile.mkdtemp(prefix="grader-test-files-"))  # pytest's is root-only
    try:
        _remove_as_nobody(base)
    finally:
        remove_tree(base)


def _remove_as_nobody(base: Path) -> None:
    run = base / "run"
    (run / "a" / "b").mkdir(parents=True)
    (run / "a" / "b" / "f").write_text("x")
    (run / "c").mkdir()
    for folder in (run / "a" / "b", run / "a"):
        folder.chmod(0)
    for path in (base, run, run / "a", run / "a" / "b", run / "a" / "b" / "f", run / "c"):
        os.lchown(path, 65534, 65534)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's outcome is its exit status
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            os._exit(0 if remove_tree(run) else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not run.exists()


def test_remove_tree_never_follows_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "file.txt").write_text("keep")
    run = tmp_path / "run"
    (run / "a").mkdir(parents=True)
    (run / "a" / "link").symlink_to(outside)
    (run / "file-link").symlink_to(outside / "keep" / "file.txt")
    os.mkfifo(run / "fifo")
    assert remove_tree(run)
    assert (outside / "keep" / "file.txt").read_text() == "keep"


def test_remove_tree_of_what_is_not_there_or_not_a_folder(tmp_path: Path) -> None:
    assert remove_tree(tmp_path / "missing") is True
    (tmp_path / "file").write_text("x")
    assert remove_tree(tmp_path / "file") is True
    assert not (tmp_path / "file").exists()


def test_walk_is_bounded_and_not_recursive(tmp_path: Path) -> None:
    (tmp_path / "ada").mkdir()
    deep_chain(tmp_path / "ada", 1200)  # "d/" * 1200: deep, yet shorter than PATH_MAX
    (tmp_path / "ada" / "top.py").write_text("x")
    try:
        found = walk(tmp_path / "ada", 4)
        assert found.files == [tmp_path / "ada" / "top.py"]
        assert found.too_deep == [tmp_path.joinpath("ada", *["d"] * 5)]
        assert found.unreadable == []
        everything = walk(tmp_path / "ada", 5000)  # 1,200 levels: no recursion limit
        assert tmp_path.joinpath("ada", *["d"] * 1200, "left.txt") in everything.files
        assert everything.too_deep == [] and everything.unreadable == []
    finally:
        assert remove_tree(tmp_path / "ada")


def test_walk_lists_links_and_skips_names_without_entering_them(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret.py").write_text("x")
    top = tmp_path / "top"
    (top / ".hidden").mkdir(parents=True)
    (top / ".hidden" / "a.py").write_text("x")
    (top / "link").symlink_to(tmp_path / "elsewhere")
    (top / "b.py").write_text("x")
    found = walk(top, 10, skip=lambda name: name.startswith("."))
    assert found.files == [top / "b.py", top / "link"]


def test_walk_reports_a_folder_it_cannot_list(tmp_path: Path) -> None:
    found = walk(tmp_path / "missing", 3)
    assert found.files == [] and found.unreadable[0][0] == tmp_path / "missing"


def test_atomic_write_leaves_only_the_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "result.json"
    atomic_write(target, "one")
    atomic_write(target, b"two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]
