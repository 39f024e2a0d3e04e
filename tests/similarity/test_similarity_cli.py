"""`grader similarity` as an instructor runs it: layouts, outputs, exit codes, bad input."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from html import unescape
from pathlib import Path

import pytest
from similarity_disguise import disguise, write_notebook
from similarity_fixtures import REPO, SAMPLES

from grader.cli import main as grader_main
from grader.submission import MAX_BYTES


def main(argv: list[str]) -> int:
    return grader_main(["similarity", *argv])


def make_class(folder: Path, names: tuple[str, ...] = ("correct_modern.py", "no_callback.py",
                                                        "softmax_output.ipynb")) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(SAMPLES / name, folder / name)
    return folder


def run_json(tmp_path: Path, *argv: str) -> tuple[int, dict]:
    out = tmp_path / "out"
    code = main([*argv, "--out", str(out), "--quiet"])
    data = json.loads((out / "similarity.json").read_text(encoding="utf-8")) \
        if (out / "similarity.json").exists() else {}
    return code, data


def test_a_class_folder_gives_json_and_html(tmp_path: Path,
                                            stand_in_template: Path) -> None:
    source = make_class(tmp_path / "class")
    disguise(SAMPLES / "no_callback.py", source, "mallory", seed=1)
    code, data = run_json(tmp_path, str(source), "--template", str(stand_in_template))
    assert code == 0
    assert data["summary"]["submissions"] == 4
    assert {s["student"] for s in data["submissions"]} == {
        "correct_modern", "no_callback", "softmax_output", "mallory"}
    top = data["pairs"][0]
    assert {top["a"], top["b"]} == {"mallory", "no_callback"} and top["flagged"]
    for key in ("share_a_in_b", "share_b_in_a", "matched_tokens_a", "matched_tokens_b",
                "score"):
        assert key in top
    assert data["templates"] == ["starter.ipynb"]
    mallory = next(s for s in data["submissions"] if s["student"] == "mallory")
    assert mallory["flagged"] and mallory["similar_to"][0]["name"] == "no_callback"
    assert 0 < mallory["kept_share"] < 1 and mallory["template_tokens"] > 0
    html = (tmp_path / "out" / "similarity.html").read_text(encoding="utf-8")
    assert "default-src 'none'" in unescape(html) and "<script" not in html
    assert 'class="l m"' in html and 'class="l t"' in html  # matched and template lines


def test_json_flag_writes_elsewhere_and_threshold_decides_flags(tmp_path: Path) -> None:
    source = make_class(tmp_path / "class")
    disguise(SAMPLES / "no_callback.py", source, "mallory", seed=1)
    target = tmp_path / "elsewhere" / "sim.json"
    assert main([str(source), "--out", str(tmp_path / "o"), "--json", str(target),
                 "--quiet"]) == 0
    assert json.loads(target.read_text())["summary"]["flagged_pairs"] >= 1
    assert not (tmp_path / "o" / "similarity.json").exists()
    assert (tmp_path / "o" / "similarity.html").exists()
    code, data = run_json(tmp_path, str(source), "--threshold", "1")
    assert code == 0 and data["summary"]["flagged_pairs"] == 0 and data["pairs"]


def test_zip_student_folders_and_roster_layouts(tmp_path: Path) -> None:
    flat = make_class(tmp_path / "flat")
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in flat.iterdir():
            bundle.write(path, f"submissions/{path.stem}/{path.name}")
    code, data = run_json(tmp_path, str(archive))
    assert code == 0 and data["summary"]["submissions"] == 3
    download = tmp_path / "download"
    download.mkdir()
    for n, path in enumerate(sorted(flat.iterdir())):
        shutil.copyfile(path, download / f"file{n}{path.suffix}")
    roster = tmp_path / "roster.csv"
    roster.write_text("student,file\nada,file0.py\nbo,file1.py\ncy,file2.ipynb\n")
    code, data = run_json(tmp_path, str(download), "--roster", str(roster))
    assert code == 0 and {s["student"] for s in data["submissions"]} == {"ada", "bo", "cy"}


def test_against_collections_are_named_and_never_graded(tmp_path: Path,
                                                        stand_in_template: Path) -> None:
    everyone = tuple(p.name for p in SAMPLES.iterdir() if p.suffix in (".py", ".ipynb"))
    source = make_class(tmp_path / "class", everyone)
    disguise(REPO / "reference/rock_paper_scissors/solution.py", source, "eve", seed=2)
    public = tmp_path / "github-solutions"
    (public / "user1").mkdir(parents=True)
    shutil.copyfile(REPO / "reference/rock_paper_scissors/solution.py",
                    public / "user1" / "rps.py")
    code, data = run_json(tmp_path, str(source), "--against", str(public),
                          "--template", str(stand_in_template))
    assert code == 0
    assert data["collections"] == [{"name": "github-solutions", "files": 1}]
    flagged = [p for p in data["pairs"] if p["flagged"]]
    assert [(p["a"], p["b"], p["b_kind"]) for p in flagged] == [
        ("eve", "github-solutions/user1/rps.py", "reference")]
    assert len(data["submissions"]) == len(everyone) + 1
    assert "github-solutions/user1/rps.py" not in {s["student"] for s in data["submissions"]}


@pytest.mark.parametrize("argv, message", [
    (["{tmp}/nope"], "no such file or folder"),
    (["{class}", "--exercise", "no-such-exercise"], "unknown exercise"),
    (["{class}", "--template", "{tmp}/missing.ipynb"], "template"),
    (["{class}", "--against", "{tmp}/missing"], "no such file or folder"),
    (["{class}", "--threshold", "2"], "not between 0 and 1"),
    ([], "the following arguments are required"),
])
def test_usage_errors_exit_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           argv: list[str], message: str) -> None:
    source = make_class(tmp_path / "class")
    argv = [a.format(tmp=tmp_path, **{"class": source}) for a in argv]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "similarity.json").exists()


def test_runs_as_a_module(tmp_path: Path) -> None:
    source = make_class(tmp_path / "class")
    done = subprocess.run([sys.executable, "-m", "grader.cli", "similarity", str(source),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "compared 3 submissions" in done.stdout
    assert (tmp_path / "out" / "similarity.html").exists()
    missing = subprocess.run([sys.executable, "-m", "grader.cli", "similarity"],
                             capture_output=True, text=True, cwd=REPO, timeout=120)
    assert missing.returncode == 2 and "usage: grader similarity" in missing.stderr


# --- bad input: a clear message, and the rest compared -----------------------------------

def test_an_empty_class_is_a_usage_error(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert "no .ipynb or .py submissions found" in capsys.readouterr().err


def test_a_single_submission_is_reported_with_nothing_to_compare(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = make_class(tmp_path / "class", ("correct_modern.py",))
    code, data = run_json(tmp_path, str(source))
    assert code == 0 and data["pairs"] == [] and data["summary"]["submissions"] == 1
    assert "nothing to compare it with" in capsys.readouterr().err
    html = (tmp_path / "out" / "similarity.html").read_text(encoding="utf-8")
    assert "No pair reaches the floor" in html


def test_corrupt_binary_huge_and_oddly_named_files_are_listed_and_the_rest_compared(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = make_class(tmp_path / "class")
    disguise(SAMPLES / "no_callback.py", source, "mallory", seed=1)
    (source / "corrupt.ipynb").write_text('{"cells": [', encoding="utf-8")
    (source / "binary.py").write_bytes(bytes(range(256)) * 4)
    (source / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    huge = write_notebook(source / "huge.ipynb", ["x = 1"])
    notebook = json.loads(huge.read_text())
    padding = base64.b64encode(os.urandom(MAX_BYTES * 3 // 4 + 2**20)).decode()
    notebook["cells"][0]["outputs"] = [{"output_type": "display_data", "metadata": {},
                                        "data": {"image/png": padding}}]
    huge.write_text(json.dumps(notebook), encoding="utf-8")
    assert huge.stat().st_size > MAX_BYTES
    odd = os.fsdecode(b"\xff\xfeod\xe9.py")  # not UTF-8: kept by Python as surrogates
    shutil.copyfile(SAMPLES / "correct_modern.py", os.path.join(source, odd))
    code, data = run_json(tmp_path, str(source))
    err = capsys.readouterr().err
    assert code == 0
    problems = {p["name"]: p["message"] for p in data["problems"]}
    assert "not valid notebook JSON" in problems["corrupt"]
    assert "not UTF-8 text" in problems["binary"]
    assert "larger than the 50 MB" in problems["huge"]
    assert "ignored picture.png" in " ".join(data["warnings"])
    students = {s["student"] for s in data["submissions"]}
    assert {"correct_modern", "no_callback", "softmax_output", "mallory"} <= students
    assert len(students) == 5  # the oddly named file is compared under a printable id
    odd_id = (students - {"correct_modern", "no_callback", "softmax_output", "mallory"}).pop()
    assert "od" in odd_id and odd_id.encode("utf-8")
    assert any(p["flagged"] and {p["a"], p["b"]} == {"mallory", "no_callback"}
               for p in data["pairs"])
    assert "not compared: corrupt" in err and "Traceback" not in err
    html = (tmp_path / "out" / "similarity.html").read_text(encoding="utf-8")
    assert "larger than the 50 MB" in html


def test_a_notebook_with_a_megabyte_of_code_is_cut_with_a_note(tmp_path: Path) -> None:
    source = make_class(tmp_path / "class", ("correct_modern.py", "no_callback.py"))
    write_notebook(source / "bulk.ipynb", ["values = [\n" + "    1234567,\n" * 200_000 + "]"])
    code, data = run_json(tmp_path, str(source))
    assert code == 0
    bulk = next(s for s in data["submissions"] if s["student"] == "bulk")
    assert any("only the first 1,000,000 characters" in n for n in bulk["notes"])


def test_hostile_names_and_code_are_escaped(tmp_path: Path) -> None:
    source = make_class(tmp_path / "class", ("no_callback.py",))
    evil = "<script>alert(1)</script>"
    code = (SAMPLES / "no_callback.py").read_text() + f"\nprint('{evil}')  # {evil}\n"
    (source / "x<img src=x onerror=alert(1)>.py").write_text(code, encoding="utf-8")
    assert main([str(source), "--out", str(tmp_path / "out"), "--quiet",
                 "--threshold", "0.1"]) == 0
    html = (tmp_path / "out" / "similarity.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert re.search(r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                     r"'none'; img-src data:; style-src 'unsafe-inline'\">", unescape(html))
