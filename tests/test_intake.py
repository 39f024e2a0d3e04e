"""Intake: finding each student's submission in a folder, a zip or a roster download."""

from __future__ import annotations

import gc
import os
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.classwork import intake
from grader.classwork.intake import Entry, IntakeError, collect, single_in_folder
from grader.files import remove_tree


def write(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, text in members.items():
            if name.endswith("/"):
                bundle.writestr(zipfile.ZipInfo(name), "")
            else:
                bundle.writestr(zipfile.ZipInfo(name), text)
    return path


def students(found: intake.Intake) -> list[str]:
    return [e.student for e in found.entries]


@pytest.fixture
def scratch_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make intake's temporary folders live under tmp_path, so escapes and leftovers show."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


# --- a folder of files ---------------------------------------------------------------------


def test_folder_of_files_ids_are_stems_sorted(tmp_path: Path) -> None:
    cy = write(tmp_path / "cy.ipynb")
    ada = write(tmp_path / "ada.ipynb")
    bo = write(tmp_path / "bo.py")
    found = collect(tmp_path)
    assert found.layout == "files"
    assert found.entries == [Entry("ada", ada), Entry("bo", bo), Entry("cy", cy)]
    assert found.gradable == found.entries
    assert found.warnings == []


def test_non_submission_file_is_a_warning(tmp_path: Path) -> None:
    ada = write(tmp_path / "ada.py")
    write(tmp_path / "notes.pdf")
    found = collect(tmp_path)
    assert found.entries == [Entry("ada", ada)]
    assert found.warnings == ["ignored notes.pdf: not a .ipynb or .py file"]


def test_a_samples_manifest_is_not_a_stray_file(tmp_path: Path) -> None:
    """`make demo` grades the samples folder, whose manifest.toml (grader verify's expected
    verdicts) is part of it: no warning; another .toml still gets one."""
    ada = write(tmp_path / "ada.py")
    write(tmp_path / "manifest.toml")
    write(tmp_path / "rubric.toml")
    found = collect(tmp_path)
    assert found.entries == [Entry("ada", ada)]
    assert found.warnings == ["ignored rubric.toml: not a .ipynb or .py file"]


def test_dotfiles_and_system_folders_at_top_level_are_ignored(tmp_path: Path) -> None:
    ada = write(tmp_path / "ada.py")
    write(tmp_path / ".DS_Store")
    write(tmp_path / "._ada.py")  # macOS resource fork: noise, not a submission
    write(tmp_path / "__MACOSX" / "._ada.py")
    write(tmp_path / ".ipynb_checkpoints" / "ada-checkpoint.ipynb")
    write(tmp_path / "__pycache__" / "ada.cpython-311.py")
    found = collect(tmp_path)
    assert found.layout == "files"
    assert found.entries == [Entry("ada", ada)]
    assert found.warnings == []


@pytest.mark.parametrize("name", [".hidden.py", "...py", "..ipynb"])
def test_a_hidden_submission_is_not_graded_but_named(tmp_path: Path, name: str) -> None:
    ada = write(tmp_path / "ada.py")
    write(tmp_path / name)
    found = collect(tmp_path)
    assert found.entries == [Entry("ada", ada)]
    assert found.warnings == [f"ignored {name}: its name starts with a dot (a hidden "
                              "file); rename it to grade it"]


def test_same_stem_twice_is_one_entry_with_a_problem(tmp_path: Path) -> None:
    write(tmp_path / "ada.py")
    write(tmp_path / "ada.ipynb")
    bo = write(tmp_path / "bo.py")
    found = collect(tmp_path)
    assert found.entries == [
        Entry("ada", None, "2 submissions for the same student, keep one: ada.ipynb, ada.py"),
        Entry("bo", bo),
    ]
    assert found.gradable == [Entry("bo", bo)]


def test_file_and_folder_for_the_same_student_is_one_entry_with_a_problem(
        tmp_path: Path) -> None:
    write(tmp_path / "ada.py")
    write(tmp_path / "ada" / "work.ipynb")
    found = collect(tmp_path)
    assert found.layout == "folders"
    assert found.entries == [
        Entry("ada", None,
              "2 submissions for the same student, keep one: ada/work.ipynb, ada.py"),
    ]


def test_symlinked_submission_is_a_problem(tmp_path: Path) -> None:
    target = write(tmp_path / "elsewhere" / "real.ipynb")
    source = tmp_path / "download"
    source.mkdir()
    (source / "ada.ipynb").symlink_to(target)
    bo = write(source / "bo.py")
    found = collect(source)
    assert found.entries == [
        Entry("ada", None, "ada.ipynb is a symbolic link, not a submitted file"),
        Entry("bo", bo),
    ]


def test_names_are_made_safe_ids(tmp_path: Path) -> None:
    ada = write(tmp_path / "ada lovelace!.py")
    bo = write(tmp_path / "bo$jones.ipynb")
    obrien = write(tmp_path / "o'brien.py")
    found = collect(tmp_path)
    assert found.entries == [Entry("ada%20lovelace%21", ada), Entry("bo%24jones", bo),
                             Entry("o%27brien", obrien)]


# --- a folder of student folders -----------------------------------------------------------


def test_folder_of_student_folders_id_is_folder_name(tmp_path: Path) -> None:
    ada = write(tmp_path / "ada" / "anything.ipynb")
    bo = write(tmp_path / "bo" / "sub" / "deep" / "work.py")
    found = collect(tmp_path)
    assert found.layout == "folders"
    assert found.entries == [Entry("ada", ada), Entry("bo", bo)]
    assert found.warnings == []


def test_checkpoints_macosx_and_dotfiles_inside_a_student_folder_are_ignored(
        tmp_path: Path) -> None:
    real = write(tmp_path / "ada" / "real.ipynb")
    write(tmp_path / "ada" / ".ipynb_checkpoints" / "real-checkpoint.ipynb")
    write(tmp_path / "ada" / "__MACOSX" / "._real.ipynb")
    write(tmp_path / "ada" / ".scratch.ipynb")
    write(tmp_path / "ada" / ".config" / "other.py")
    found = collect(tmp_path)
    assert found.entries == [Entry("ada", real)]
    assert found.warnings == []


def test_notebook_is_chosen_over_a_module_and_the_module_is_named(tmp_path: Path) -> None:
    notebook = write(tmp_path / "ada" / "work.ipynb")
    write(tmp_path / "ada" / "lib" / "helper.py")
    found = collect(tmp_path)
    assert found.entries == [Entry("ada", notebook)]
    assert found.warnings == ["ada/: ignored lib/helper.py (a notebook was chosen)"]


def test_only_module_in_a_folder_is_chosen(tmp_path: Path) -> None:
    module = write(tmp_path / "ada" / "solution.py")
    found = collect(tmp_path)
    assert found.entries == [Entry("ada", module)]


def test_two_notebooks_in_a_folder_is_a_problem_naming_both(tmp_path: Path) -> None:
    write(tmp_path / "ada" / "v1.ipynb")
    write(tmp_path / "ada" / "v2.ipynb")
    found = collect(tmp_path)
    assert found.entries == [
        Entry("ada", None, "several submissions, keep one: v1.ipynb, v2.ipynb")]
    assert found.gradable == []


def test_two_modules_in_a_folder_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path / "ada" / "a.py")
    write(tmp_path / "ada" / "b.py")
    found = collect(tmp_path)
    assert found.entries == [Entry("ada", None, "several submissions, keep one: a.py, b.py")]


@pytest.mark.parametrize("content", [None, "notes.txt"])
def test_student_folder_without_a_submission_is_a_problem(tmp_path: Path,
                                                          content: str | None) -> None:
    (tmp_path / "ada").mkdir()
    if content:
        write(tmp_path / "ada" / content)
    bo = write(tmp_path / "bo" / "x.ipynb")
    found = collect(tmp_path)
    assert found.entries == [
        Entry("ada", None, "the folder ada/ holds no .ipynb or .py file"),
        Entry("bo", bo),
    ]


def test_symlink_inside_a_student_folder_is_a_problem(tmp_path: Path) -> None:
    target = write(tmp_path / "elsewhere" / "real.ipynb")
    source = tmp_path / "download"
    (source / "ada").mkdir(parents=True)
    (source / "ada" / "work.ipynb").symlink_to(target)
    found = collect(source)
    assert found.entries == [
        Entry("ada", None, "work.ipynb is a symbolic link, not a submitted file"),
    ]



def test_symlinked_student_folder_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path / "elsewhere" / "work.ipynb")
    source = tmp_path / "download"
    source.mkdir()
    (source / "ada").symlink_to(tmp_path / "elsewhere")
    found = collect(source)
    assert students(found) == ["ada"]
    assert found.entries[0].path is None and found.entries[0].problem is not None


# --- source errors -------------------------------------------------------------------------


def test_missing_path_is_an_intake_error(tmp_path: Path) -> None:
    with pytest.raises(IntakeError, match="nowhere: no such file or folder"):
        collect(tmp_path / "nowhere")


def test_file_that_is_not_a_zip_is_an_intake_error(tmp_path: Path) -> None:
    path = write(tmp_path / "class.zip", "not a zip at all")
    with pytest.raises(IntakeError, match="class.zip: not a folder or a zip of submissions"):
        collect(path)


# --- zips ----------------------------------------------------------------------------------


def test_zip_of_files(tmp_path: Path, scratch_root: Path) -> None:
    archive = make_zip(tmp_path / "class.zip", {"ada.ipynb": "A", "bo.py": "B"})
    with collect(archive) as found:
        assert found.layout == "files"
        assert students(found) == ["ada", "bo"]
        assert [e.path.read_text() for e in found.entries if e.path] == ["A", "B"]
        assert all(e.path and e.path.is_relative_to(scratch_root) for e in found.entries)


def test_zip_of_student_folders(tmp_path: Path, scratch_root: Path) -> None:
    archive = make_zip(tmp_path / "class.zip", {"ada/work.ipynb": "A", "bo/x/y.py": "B",
                                               "__MACOSX/ada/._work.ipynb": "junk"})
    with collect(archive) as found:
        assert found.layout == "folders"
        assert students(found) == ["ada", "bo"]
        assert [e.path.read_text() for e in found.entries if e.path] == ["A", "B"]
        assert found.warnings == []


@pytest.mark.parametrize("members", [
    {"submissions/ada.ipynb": "A", "submissions/bo.py": "B"},
    {"submissions/ada/work.ipynb": "A", "submissions/bo/work.py": "B"},
    {"submissions/ada.ipynb": "A", "submissions/bo.py": "B", "__MACOSX/submissions/._a": ""},
])
def test_zip_with_one_wrapping_folder_is_looked_through(
        tmp_path: Path, scratch_root: Path, members: dict[str, str]) -> None:
    archive = make_zip(tmp_path / "class.zip", members)
    with collect(archive) as found:
        assert students(found) == ["ada", "bo"]
        assert [e.path.read_text() for e in found.entries if e.path] == ["A", "B"]


def test_zip_slip_members_are_not_extracted_nor_graded(tmp_path: Path,
                                                       scratch_root: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    archive = make_zip(tmp_path / "class.zip", {
        "ada.py": "A",
        "../evil.py": "evil",
        "ok/../../evil2.py": "evil",
        str(outside / "evil3.py"): "evil",
        "/etc/evil4.py": "evil",
        "..\\evil5.py": "evil",
    })
    with collect(archive) as found:
        assert found.entries == [Entry("ada", found.entries[0].path)]
        extracted = sorted(p.name for p in scratch_root.rglob("*") if p.is_file())
        assert extracted == ["ada.py"]
    assert sorted(p.name for p in tmp_path.rglob("evil*")) == []
    assert not Path("/etc/evil4.py").exists()


def test_zip_slip_with_backslash_absolute_member(tmp_path: Path, scratch_root: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    name = "\\" + str(outside / "evil.py").lstrip("/").replace("/", "\\")
    archive = make_zip(tmp_path / "class.zip", {"ada.py": "A", "bo.py": "B", name: "evil"})
    with collect(archive) as found:
        assert students(found) == ["ada", "bo"]
    assert not (outside / "evil.py").exists()


def test_zip_symlink_member_is_skipped(tmp_path: Path, scratch_root: Path) -> None:
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("ada.py", "A")
        bundle.writestr("cy.py", "C")
        link = zipfile.ZipInfo("bo.py")
        link.external_attr = (0o120777 << 16)
        bundle.writestr(link, "/etc/passwd")
    with collect(archive) as found:
        assert students(found) == ["ada", "cy"]
        assert not any(p.is_symlink() for p in scratch_root.rglob("*"))
        assert sorted(p.name for p in scratch_root.rglob("*.py")) == ["ada.py", "cy.py"]


def test_temp_folder_removed_after_close(tmp_path: Path, scratch_root: Path) -> None:
    archive = make_zip(tmp_path / "class.zip", {"ada.py": "A", "bo.py": "B"})
    found = collect(archive)
    entry_path = found.entries[0].path
    assert entry_path is not None and entry_path.exists()
    assert len(list(scratch_root.iterdir())) == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found.close()
    # removed by close() itself, not by TemporaryDirectory's "implicitly cleaning up" finalizer
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert not entry_path.exists()
    assert list(scratch_root.iterdir()) == []
    found.close()  # a second close is harmless


def test_temp_folder_removed_by_context_manager(tmp_path: Path, scratch_root: Path) -> None:
    archive = make_zip(tmp_path / "class.zip", {"ada.py": "A", "bo.py": "B"})
    with collect(archive) as found:
        assert len(list(scratch_root.iterdir())) == 1
        assert found.entries[0].path is not None
    assert list(scratch_root.iterdir()) == []


def test_folder_source_has_no_temp_folder(tmp_path: Path, scratch_root: Path) -> None:
    write(tmp_path / "src" / "ada.py")
    with collect(tmp_path / "src") as found:
        assert students(found) == ["ada"]
        assert list(scratch_root.iterdir()) == []
    assert (tmp_path / "src" / "ada.py").exists()


def test_corrupt_zip_is_an_intake_error(tmp_path: Path, scratch_root: Path) -> None:
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("ada.py", "print('hello')\n" * 100)
    info = zipfile.ZipFile(archive).infolist()[0]
    data = bytearray(archive.read_bytes())
    start = 30 + len(info.filename) + len(info.extra)  # after the local file header
    data[start:start + info.compress_size] = b"\xff" * info.compress_size
    archive.write_bytes(bytes(data))
    assert zipfile.is_zipfile(archive)
    with pytest.raises(IntakeError):
        collect(archive)


def test_empty_student_folder_in_zip_is_a_problem(tmp_path: Path, scratch_root: Path) -> None:
    archive = make_zip(tmp_path / "class.zip", {"ada/": "", "bo/x.ipynb": "B",
                                               "cy/y.ipynb": "C"})
    with collect(archive) as found:
        assert students(found) == ["ada", "bo", "cy"]
        assert found.entries[0] == Entry("ada", None,
                                         "the folder ada/ holds no .ipynb or .py file")


# --- roster --------------------------------------------------------------------------------


@pytest.fixture
def download(tmp_path: Path) -> Path:
    folder = tmp_path / "download"
    write(folder / "a1.ipynb", "A")
    write(folder / "sub" / "b2.py", "B")
    return folder


def roster_file(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding=encoding)
    return path


def test_roster_maps_files_to_students(tmp_path: Path, download: Path) -> None:
    roster = roster_file(tmp_path, "student,file\nbo,sub/b2.py\nada,a1.ipynb\n")
    found = collect(download, roster)
    assert found.layout == "roster"
    assert found.entries == [Entry("ada", download / "a1.ipynb"),
                             Entry("bo", download / "sub" / "b2.py")]
    assert found.warnings == []


def test_roster_alternative_column_names_and_bom(tmp_path: Path, download: Path) -> None:
    roster = roster_file(tmp_path, "\ufeffStudent_ID,FileName\nada,a1.ipynb\nbo,sub\\b2.py\n")
    assert roster.read_bytes().startswith(b"\xef\xbb\xbf")
    found = collect(download, roster)
    assert found.entries == [Entry("ada", download / "a1.ipynb"),
                             Entry("bo", download / "sub" / "b2.py")]


def test_roster_row_naming_a_missing_file_is_a_problem(tmp_path: Path,
                                                       download: Path) -> None:
    roster = roster_file(tmp_path, "student,file\nada,a1.ipynb\nbo,sub/b2.py\ncy,gone.ipynb\n")
    found = collect(download, roster)
    assert found.entries[2] == Entry(
        "cy", None, "the roster names gone.ipynb, which is not in the download")
    assert students(found) == ["ada", "bo", "cy"]
    assert [e.student for e in found.gradable] == ["ada", "bo"]


def test_file_not_in_roster_is_a_warning(tmp_path: Path, download: Path) -> None:
    roster = roster_file(tmp_path, "student,file\nada,a1.ipynb\n")
    write(download / "notes.pdf")
    found = collect(download, roster)
    assert found.entries == [Entry("ada", download / "a1.ipynb")]
    assert found.warnings == ["sub/b2.py is not in the roster; not graded"]


def test_roster_row_with_empty_file_is_a_problem(tmp_path: Path, download: Path) -> None:
    roster = roster_file(tmp_path, "student,file\nada,a1.ipynb\nbo,  \n")
    found = collect(download, roster)
    assert found.entries[1] == Entry("bo", None, "the roster lists no file")
    assert found.warnings == ["sub/b2.py is not in the roster; not graded"]


def test_roster_row_without_student_is_skipped_with_a_warning(tmp_path: Path,
                                                              download: Path) -> None:
    roster = roster_file(tmp_path, "student,file\nada,a1.ipynb\n ,sub/b2.py\n")
    found = collect(download, roster)
    assert students(found) == ["ada"]
    assert found.warnings == ["roster.csv line 3: no student id; row skipped",
                              "sub/b2.py is not in the roster; not graded"]


@pytest.mark.parametrize("raw", ["../a1.ipynb", "sub/../../a1.ipynb"])
def test_roster_path_with_dotdot_is_a_problem(tmp_path: Path, download: Path,
                                              raw: str) -> None:
    write(tmp_path / "a1.ipynb")  # exists outside the download: must not be used
    roster = roster_file(tmp_path, f"student,file\nada,{raw}\n")
    found = collect(download, roster)
    assert found.entries == [
        Entry("ada", None, f"roster path {raw!r} points outside the download")]


def test_roster_absolute_path_is_a_problem(tmp_path: Path, download: Path) -> None:
    outside = write(tmp_path / "outside.py")
    roster = roster_file(tmp_path, f"student,file\nada,{outside}\n")
    found = collect(download, roster)
    assert found.entries == [
        Entry("ada", None, f"roster path {str(outside)!r} points outside the download")]


def test_roster_without_needed_columns_is_an_intake_error(tmp_path: Path,
                                                          download: Path) -> None:
    roster = roster_file(tmp_path, "student,grade\nada,10\n")
    with pytest.raises(IntakeError) as caught:
        collect(download, roster)
    assert str(caught.value) == ("roster.csv: no column named one of file, filename, "
                                 "file_name, submission, path (found: student, grade)")
    roster = roster_file(tmp_path, "who,file\nada,a1.ipynb\n")
    with pytest.raises(IntakeError, match="no column named one of student, student_id, id"):
        collect(download, roster)


def test_two_roster_rows_for_one_student_is_a_problem(tmp_path: Path,
                                                      download: Path) -> None:
    roster = roster_file(tmp_path, "student,file\nada,a1.ipynb\nada,sub/b2.py\n")
    found = collect(download, roster)
    assert found.entries == [Entry(
        "ada", None, "2 submissions for the same student, keep one: a1.ipynb, sub/b2.py")]


def test_duplicate_roster_row_with_absolute_path_is_a_problem(tmp_path: Path,
                                                              download: Path) -> None:
    roster = roster_file(tmp_path, "student,file\nada,a1.ipynb\nada,/etc/x.py\n")
    found = collect(download, roster)
    assert len(found.entries) == 1
    assert found.entries[0].path is None
    assert found.entries[0].problem is not None and "2 submissions" in found.entries[0].problem



def test_roster_path_through_a_symlinked_folder_is_a_problem(tmp_path: Path,
                                                             download: Path) -> None:
    write(tmp_path / "secret" / "key.py")
    (download / "link").symlink_to(tmp_path / "secret")
    roster = roster_file(tmp_path, "student,file\nada,link/key.py\n")
    found = collect(download, roster)
    assert found.entries[0].student == "ada"
    assert found.entries[0].path is None


def test_roster_with_a_zip_download(tmp_path: Path, scratch_root: Path) -> None:
    archive = make_zip(tmp_path / "dl.zip", {"export/f1.ipynb": "A", "export/f2.py": "B"})
    roster = roster_file(tmp_path, "login,path\nada,f1.ipynb\nbo,f2.py\n")
    with collect(archive, roster) as found:
        assert students(found) == ["ada", "bo"]
        assert [e.path.read_text() for e in found.entries if e.path] == ["A", "B"]
    assert list(scratch_root.iterdir()) == []


# --- single_in_folder ------------------------------------------------------------------


def test_single_in_folder_one_file(tmp_path: Path) -> None:
    path = write(tmp_path / "deep" / "work.ipynb")
    assert single_in_folder(tmp_path) == (path, None)


def test_single_in_folder_prefers_the_notebook(tmp_path: Path) -> None:
    notebook = write(tmp_path / "work.ipynb")
    write(tmp_path / "helper.py")
    assert single_in_folder(tmp_path) == (notebook, None)


def test_single_in_folder_none(tmp_path: Path) -> None:
    assert single_in_folder(tmp_path) == (
        None, "no .ipynb or .py file was submitted (found: nothing)")
    write(tmp_path / "notes.txt")
    assert single_in_folder(tmp_path) == (
        None, "no .ipynb or .py file was submitted (found: notes.txt)")


def test_single_in_folder_ambiguous(tmp_path: Path) -> None:
    write(tmp_path / "a.ipynb")
    write(tmp_path / "b.ipynb")
    assert single_in_folder(tmp_path) == (None, "several submissions, keep one: a.ipynb, b.ipynb")


def test_single_in_folder_symlink(tmp_path: Path) -> None:
    target = write(tmp_path / "elsewhere" / "real.py")
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "work.py").symlink_to(target)
    assert single_in_folder(folder) == (None, "work.py is a symbolic link, not a submitted file")


# --- hostile names and shapes: no input ends the intake ------------------------------------


def deep_chain(top: Path, depth: int, name: str = "level", leaf: str = "work.py") -> None:
    """`depth` nested folders under `top` with `leaf` at the bottom, made through
    descriptors: the whole path is far longer than PATH_MAX."""
    descriptor = os.open(top, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=descriptor)
            inner = os.open(name, os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
        os.close(os.open(leaf, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor))
    finally:
        os.close(descriptor)


@pytest.fixture
def removed_after(tmp_path: Path) -> Iterator[Path]:
    """tmp_path, emptied with the grader's own remover at the end: pytest's rmtree cannot
    remove a chain deeper than the recursion limit."""
    yield tmp_path
    assert remove_tree(tmp_path)


def test_names_differing_in_a_space_are_two_students(tmp_path: Path) -> None:
    bob = write(tmp_path / "bob.py")
    spaced = write(tmp_path / "bob .py")
    found = collect(tmp_path)
    assert found.entries == [Entry("bob", bob), Entry("bob%20", spaced)]
    assert found.warnings == []


@pytest.mark.parametrize("names", [["Bob.py", "bob.py"], ["bob.py", "Bob.py"]])
def test_names_differing_in_case_are_kept_apart_with_a_warning(tmp_path: Path,
                                                              names: list[str]) -> None:
    for name in names:
        write(tmp_path / name, name)
    found = collect(tmp_path)
    assert [(e.student, e.path and e.path.read_text()) for e in found.entries] == [
        ("Bob", "Bob.py"), ("bob~2", "bob.py")]
    assert found.warnings == ["Bob, bob differ only in case: graded as Bob, bob~2, so that "
                              "their folders stay apart on a case-insensitive file system"]


def test_three_case_variants_and_a_folder(tmp_path: Path) -> None:
    write(tmp_path / "bob.py")
    write(tmp_path / "BOB" / "work.ipynb")
    write(tmp_path / "Bob.py")
    found = collect(tmp_path)
    assert students(found) == ["BOB", "Bob~2", "bob~3"]
    assert len({s.casefold() for s in students(found)}) == 3
    assert found.gradable == found.entries


def test_same_student_in_two_formats_is_still_one_student_with_two_files(
        tmp_path: Path) -> None:
    write(tmp_path / "bob.py")
    write(tmp_path / "bob.ipynb")
    write(tmp_path / "Bob.py")
    found = collect(tmp_path)
    assert found.entries[0] == Entry("Bob", tmp_path / "Bob.py")
    assert found.entries[1] == Entry(
        "bob~2", None, "2 submissions for the same student, keep one: bob.ipynb, bob.py")


def test_latin1_file_names_get_printable_ids_and_messages(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path)
    for name in (b"Jos\xe9.py", b"Mar\xeda.py", b"Mar\xeda.ipynb", b"notes\xff.txt"):
        Path(os.fsdecode(folder + b"/" + name)).write_text("x")
    os.mkdir(folder + b"/Ren\xe9e")
    found = collect(tmp_path)
    assert students(found) == ["Jos%E9", "Mar%EDa", "Ren%E9e"]
    assert found.entries[0].path == Path(os.fsdecode(folder + b"/Jos\xe9.py"))
    assert found.entries[1].problem == ("2 submissions for the same student, keep one: "
                                        "Mar\\xeda.ipynb, Mar\\xeda.py")
    assert found.entries[2].problem == "the folder Ren\\xe9e/ holds no .ipynb or .py file"
    assert found.layout == "folders"
    for text in [*found.warnings, *(e.problem or "" for e in found.entries)]:
        text.encode("utf-8")  # storable and printable: no surrogate escapes left
    assert found.warnings == ["ignored notes\\xff.txt: not a .ipynb or .py file"]


def test_a_student_folder_1200_levels_deep_is_that_students_problem(
        removed_after: Path) -> None:
    write(removed_after / "ada" / "work.py")
    (removed_after / "bo").mkdir()
    deep_chain(removed_after / "bo", 1200)
    found = collect(removed_after)
    assert found.entries[0] == Entry("ada", removed_after / "ada" / "work.py")
    assert found.entries[1] == Entry("bo", None, "the folder bo/ holds no .ipynb or .py "
                                                 "file within 32 levels of folders")
    assert found.warnings == ["bo/: folders more than 32 levels deep were not searched "
                              "(" + "/".join(["level"] * 10) + "/…/"
                              + "/".join(["level"] * 10) + ")"]


def test_a_submission_32_levels_down_is_still_found(tmp_path: Path) -> None:
    (tmp_path / "ada").mkdir()
    deep_chain(tmp_path / "ada", 32, "d")
    found = collect(tmp_path)
    assert found.entries[0].path == tmp_path.joinpath("ada", *["d"] * 32, "work.py")
    assert found.warnings == []


def test_single_in_folder_deep(removed_after: Path) -> None:
    deep_chain(removed_after, 1200)
    assert single_in_folder(removed_after) == (
        None, "no .ipynb or .py file was submitted (found: nothing); folders more than 32 "
              "levels deep were not searched")


def test_a_fifo_is_refused_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "ada.py")
    found = collect(tmp_path)
    assert found.entries == [Entry("ada", None, "ada.py is not a regular file")]


def test_a_zip_member_1200_levels_deep_is_skipped_and_its_student_named(
        tmp_path: Path, scratch_root: Path) -> None:
    deep = "ada/" + "d/" * 1200 + "work.py"
    archive = make_zip(tmp_path / "class.zip", {deep: "A", "bo/work.py": "B"})
    with collect(archive) as found:
        assert found.entries[0] == Entry("ada", None, "the folder ada/ holds no .ipynb or "
                                                      ".py file within 32 levels of folders")
        assert found.entries[1].student == "bo" and found.entries[1].path is not None
        assert found.warnings[0].startswith("class.zip: skipped ada/d/d/")
        assert found.warnings[0].endswith(": more than 32 levels of folders deep")
    assert list(scratch_root.iterdir()) == []


def test_zip_members_that_cannot_be_written_are_skipped(tmp_path: Path,
                                                        scratch_root: Path) -> None:
    archive = make_zip(tmp_path / "class.zip", {
        "ada.py": "A", "bo.py": "file", "bo.py/x.py": "under a file",
        "x" * 300 + ".py": "a name longer than a file system allows",
        "/".join(["y" * 200] * 20) + "/cy.py": "a path longer than PATH_MAX"})
    with collect(archive) as found:
        assert [(e.student, e.problem) for e in found.entries] == [("ada", None),
                                                                   ("bo", None)]
        reasons = [w.rsplit(": ", 1)[-1] for w in found.warnings]
        assert reasons == ["File exists", "File name too long",
                           "a path too long to extract"]


def test_unsafe_zip_members_are_named_in_warnings(tmp_path: Path, scratch_root: Path) -> None:
    archive = make_zip(tmp_path / "class.zip", {"ada.py": "A", "../evil.py": "evil"})
    with collect(archive) as found:
        assert found.warnings == ["class.zip: skipped ../evil.py: a path outside the "
                                  "zip's folder"]


def test_an_unclosed_intake_still_removes_its_copy(tmp_path: Path, scratch_root: Path) -> None:
    archive = make_zip(tmp_path / "class.zip", {"ada.py": "A", "bo.py": "B"})
    found = collect(archive)
    assert len(list(scratch_root.iterdir())) == 1
    del found
    gc.collect()
    assert list(scratch_root.iterdir()) == []


def test_roster_ids_are_escaped_and_case_variants_kept_apart(tmp_path: Path,
                                                            download: Path) -> None:
    roster = roster_file(tmp_path, "student,file\n o'brien ,a1.ipynb\nO'Brien,sub/b2.py\n")
    found = collect(download, roster)
    assert found.entries == [Entry("O%27Brien", download / "sub" / "b2.py"),
                             Entry("o%27brien~2", download / "a1.ipynb")]
    assert found.warnings == ["O'Brien, o'brien differ only in case: graded as O%27Brien, "
                              "o%27brien~2, so that their folders stay apart on a "
                              "case-insensitive file system"]


@pytest.mark.parametrize("raw", ["a1\0.ipynb", "loop.py"])
def test_roster_paths_that_cannot_be_opened_are_a_problem(tmp_path: Path, download: Path,
                                                          raw: str) -> None:
    (download / "loop.py").symlink_to("loop.py")
    roster = roster_file(tmp_path, f"student,file\nada,{raw}\nbo,sub/b2.py\n")
    found = collect(download, roster)
    assert found.entries[0].student == "ada" and found.entries[0].path is None
    assert found.entries[0].problem
    assert found.entries[1] == Entry("bo", download / "sub" / "b2.py")
