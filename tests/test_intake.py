"""Intake: finding each student's submission in a folder, a zip or a roster download."""

from __future__ import annotations

import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest

from grader.classwork import intake
from grader.classwork.intake import Entry, IntakeError, collect, safe_id, single_in_folder


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


def test_dotfiles_and_system_folders_at_top_level_are_ignored(tmp_path: Path) -> None:
    ada = write(tmp_path / "ada.py")
    write(tmp_path / ".DS_Store")
    write(tmp_path / ".hidden.py")
    write(tmp_path / "__MACOSX" / "._ada.py")
    write(tmp_path / ".ipynb_checkpoints" / "ada-checkpoint.ipynb")
    write(tmp_path / "__pycache__" / "ada.cpython-311.py")
    found = collect(tmp_path)
    assert found.layout == "files"
    assert found.entries == [Entry("ada", ada)]
    assert found.warnings == []


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
    found = collect(tmp_path)
    assert found.entries == [Entry("ada lovelace_", ada), Entry("bo_jones", bo)]


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


# --- safe_id and single_in_folder ----------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("ada", "ada"),
    ("  ada  ", "ada"),
    ("ada.lovelace@uni.edu", "ada.lovelace@uni.edu"),
    ("a/b\\c", "a_b_c"),
    ("../../etc/passwd", "_.._etc_passwd"),
    ("..", "unnamed"),
    (".hidden", "hidden"),
    ("...", "unnamed"),
    ("", "unnamed"),
    ("   ", "unnamed"),
    ("/", "_"),
    ("José Núñez", "José Núñez"),  # letters of any script are kept
])
def test_safe_id(raw: str, expected: str) -> None:
    assert safe_id(raw) == expected


@pytest.mark.parametrize("raw", ["x" * 500, "/" + "y" * 300, "." * 10 + "z" * 200])
def test_safe_id_is_bounded_and_has_no_separators(raw: str) -> None:
    cleaned = safe_id(raw)
    assert len(cleaned) == 120
    assert "/" not in cleaned and "\\" not in cleaned
    assert not cleaned.startswith(".")
    assert os.sep not in cleaned


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
