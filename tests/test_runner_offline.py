"""The runner's offline pieces: download stand-ins and source rewrites (no TensorFlow)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader.runner import fetch
from grader.runner.contract import Downloads, RunConfig
from grader.runner.rewrite import ENTRY_DECORATOR, transform

URL = "https://storage.googleapis.com/laurencemoroney-blog.appspot.com/happy-or-sad.zip"
DRIVE_ID = "1NvV6VhmrfU8JDZNoEbwJxwx_6dhyN5bf"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    local = tmp_path / "served.zip"
    local.write_bytes(b"PK-fake-zip")
    config = tmp_path / "config.json"
    config.write_text(RunConfig(
        submission="s.py", kind="module", workdir=str(tmp_path), artefacts=str(tmp_path),
        seed=0, intra_op_threads=1, inter_op_threads=1, entry_function=None,
        tmp_remap=None,
        output_limit_bytes=1 << 20,
        downloads=Downloads(urls={URL: str(local)}, gdown_ids={DRIVE_ID: str(local)})
    ).to_json())
    monkeypatch.setenv("GRADER_RUN_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    return local


@pytest.mark.parametrize("argv", [
    ["wget", "--no-check-certificate", URL, "-O", "out/happy-or-sad.zip"],
    ["wget", "--output-document=out/happy-or-sad.zip", URL],
    ["curl", "-L", "-o", "out/happy-or-sad.zip", URL],
    ["gdown", "--id", DRIVE_ID, "-O", "out/happy-or-sad.zip"],
    ["gdown", f"https://drive.google.com/uc?id={DRIVE_ID}", "-O", "out/happy-or-sad.zip"],
])
def test_known_addresses_are_served_locally(served: Path, argv: list[str]) -> None:
    assert fetch.main(argv) == 0
    assert (served.parent / "out" / "happy-or-sad.zip").read_bytes() == b"PK-fake-zip"


def test_wget_without_output_keeps_the_file_name(served: Path) -> None:
    assert fetch.main(["wget", "-P", "dl", URL]) == 0
    assert (served.parent / "dl" / "served.zip").exists()


def test_unknown_address_fails_like_an_offline_tool(served: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert fetch.main(["wget", "https://example.com/other.zip", "-O", "x.zip"]) == 4
    assert "without network" in capsys.readouterr().err
    assert not (served.parent / "x.zip").exists()


def _rewrite(source: str, entry: str | None = "train", remap: str | None = None) -> str:
    return ast.unparse(transform(ast.parse(source), entry, remap))


def test_entry_point_gets_the_recording_decorator() -> None:
    out = _rewrite("def train():\n    return 1\n\ndef other():\n    pass\n")
    assert f"@{ENTRY_DECORATOR}\ndef train" in out
    assert f"@{ENTRY_DECORATOR}\ndef other" not in out


def test_tmp_paths_are_remapped_only_in_fallback_mode() -> None:
    source = "p = '/tmp/h-or-s'\nq = f'/tmp/{name}.zip'\nr = 'not/tmp/x'\ns = '/tmpfoo'\n"
    assert _rewrite(source) == ast.unparse(ast.parse(source))
    out = _rewrite(source, remap="/runs/1/tmp")
    assert "'/runs/1/tmp/h-or-s'" in out
    assert "/runs/1/tmp/" in out.splitlines()[1]
    assert "'not/tmp/x'" in out and "'/tmpfoo'" in out
