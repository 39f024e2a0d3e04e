"""Exercise packs: a course's specs, references and samples shipped as an ordinary Python
package that registers itself under the `grader.exercises` entry point.

Why entry points: an instructor must not fork the grader to add an exercise. `pip install
my-course-pack` beside the grader is how a course's exercises arrive on a laptop, a CI
runner or a Gradescope image; `grader exercises` lists them with the package each came
from, and `grader verify PACK` checks every one of them.

A pack's entry point names a module (its folder is the pack) or an object that is a path
to the folder. The folder holds, by convention:

    <spec>.toml                            one spec per exercise (or specs/<spec>.toml)
    reference/<spec>/solution.py|.ipynb    its reference solution(s), for grader verify
    samples/<spec>/manifest.toml           optional samples with their expected verdicts

A pack that cannot be loaded (its import fails, its folder is missing) is reported, never
allowed to stop the grading of the built-in exercises; a pack exercise whose name a
built-in exercise already has is left out and reported too (a built-in name keeps one
meaning on every machine).
"""

from __future__ import annotations

import functools
import types
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

GROUP = "grader.exercises"
REFERENCE_SUFFIXES = (".py", ".ipynb")

# the expected verdicts of a folder of samples (grader verify); not a submission to intake
SAMPLES_MANIFEST = "manifest.toml"


@dataclass(frozen=True)
class Pack:
    name: str  # the entry point's name
    distribution: str  # "my-course-pack 1.0": the installed package it came from
    folder: Path

    def specs(self) -> dict[str, Path]:
        """The pack's exercises by name (file stem with '_' read as '-')."""
        files = sorted(self.folder.glob("*.toml")) + sorted(self.folder.glob("specs/*.toml"))
        return {p.stem.replace("_", "-"): p for p in files}

    def references(self, spec_file: Path) -> list[Path]:
        folder = self.folder / "reference" / spec_file.stem
        return sorted(p for p in folder.glob("*") if p.suffix in REFERENCE_SUFFIXES
                      and p.is_file()) if folder.is_dir() else []

    def samples(self, spec_file: Path) -> Path | None:
        folder = self.folder / "samples" / spec_file.stem
        return folder if (folder / SAMPLES_MANIFEST).is_file() else None


@dataclass(frozen=True)
class Installed:
    packs: tuple[Pack, ...]
    problems: tuple[str, ...]  # one line per pack or exercise that was left out


@functools.cache
def installed() -> Installed:
    """Every pack installed in this Python, read once per process."""
    packs, problems = [], []
    for entry in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
        where = entry.dist.name if entry.dist is not None else "an unknown package"
        version = entry.dist.version if entry.dist is not None else ""
        try:
            loaded = entry.load()
        except Exception as exc:  # noqa: BLE001 - a broken pack is reported, not fatal
            problems.append(f"pack {entry.name} ({where}) cannot be loaded: "
                            f"{type(exc).__name__}: {exc}"[:300])
            continue
        folder = _folder(loaded)
        if folder is None or not folder.is_dir():
            problems.append(f"pack {entry.name} ({where}) names no folder: the entry point "
                            "must be a module or a path")
            continue
        packs.append(Pack(entry.name, f"{where} {version}".strip(), folder))
    return Installed(tuple(packs), tuple(problems))


def _folder(loaded: object) -> Path | None:
    if isinstance(loaded, types.ModuleType):
        file = getattr(loaded, "__file__", None)
        return Path(file).parent if file else None
    if isinstance(loaded, str | Path):
        return Path(loaded)
    return None


def exercises(built_in: dict[str, Path]) -> tuple[dict[str, tuple[Path, Pack]], list[str]]:
    """The packs' exercises by name, with the pack of each; and what was left out."""
    found: dict[str, tuple[Path, Pack]] = {}
    state = installed()
    problems = list(state.problems)
    for pack in state.packs:
        for name, path in pack.specs().items():
            if name in built_in:
                problems.append(f"{pack.distribution}: exercise {name} is left out: a "
                                "built-in exercise has that name")
            elif name in found:
                problems.append(f"{pack.distribution}: exercise {name} is left out: "
                                f"{found[name][1].distribution} has it too")
            else:
                found[name] = (path, pack)
    return found, problems


def pack_named(name: str) -> Pack | None:
    return next((p for p in installed().packs if p.name == name), None)
