"""Benchmark `grader similarity`: time, peak memory and growth with the class size, and a
pairwise difflib baseline measured in the same run.

    .venv/bin/python benchmarks/similarity.py            # 250 / 500 / 1,000 + 500 references
    .venv/bin/python benchmarks/similarity.py --sizes 250 --references 100   # quicker

Submissions are generated variants of the sample submissions and reference solutions
(30-200 lines each): a sample's code cells written the student's way (each course line
in one of the spellings students use: layer aliases, pooling and kernel arguments,
keyword order, an extra argument; some whole statements dropped) with the student's own
helper code inserted between statements (random functions, loops and expressions, so no
two are alike), as a module or a notebook; 3 % copy an earlier classmate's submission
and add their own code (those are the pairs a run should flag).

Every size is measured in a fresh process (reading the files included), so each peak
RSS is that run's own. The difflib baseline is what a naive tool
does: SequenceMatcher over the lines of every pair of the 250-submission set.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

COPIED = 0.03  # share of a generated class that copies a classmate
WORDS = ("images", "model", "accuracy", "epoch", "batch", "layer", "data", "train", "score",
         "folder", "count", "total", "ratio", "value", "step", "result", "label", "pixel")


def _sources() -> list[list[str]]:
    from grader.similarity.sources import code_cells

    paths = sorted((REPO / "submissions" / "happy_or_sad").glob("*.py"))
    paths += sorted((REPO / "submissions" / "happy_or_sad").glob("*.ipynb"))
    paths += sorted(REPO.glob("reference/*/solution.*"))
    return [code_cells(p)[0] for p in paths]


def _expression(rng: random.Random, depth: int, names: list[str]) -> str:
    if depth <= 0 or rng.random() < 0.25:
        return rng.choice([str(rng.randint(0, 500)), rng.choice(names),
                           f"'{rng.choice(WORDS)}'", f"{rng.random():.3f}"])
    left, right = _expression(rng, depth - 1, names), _expression(rng, depth - 1, names)
    shape = rng.randrange(7)
    if shape == 0:
        return f"({left} {rng.choice(['+', '-', '*', '/', '%', '//'])} {right})"
    if shape == 1:
        return f"{rng.choice(['len', 'abs', 'str', 'sorted', 'sum', 'min'])}({left})"
    if shape == 2:
        return f"[{left} for {names[0]} in range({rng.randint(1, 9)})]"
    if shape == 3:
        return f"{{{left}: {right}}}"
    if shape == 4:
        return f"{names[-1]}.{rng.choice(WORDS)}({left}, {right})"
    if shape == 5:
        return f"({left} if {right} > {rng.randint(0, 9)} else {names[0]})"
    return f"{left}[{rng.randint(0, 3)}:{right}]"


def _block(rng: random.Random, indent: str = "") -> list[str]:
    """A few lines of a student's own code: a helper, a loop, a check, a print."""
    names = [f"{rng.choice(WORDS)}_{rng.randint(0, 99)}" for _ in range(3)]
    value = _expression(rng, rng.randint(1, 4), names)
    shape = rng.randrange(6)
    if shape == 0:
        body = [f"    {names[1]} = {_expression(rng, 3, names)}"
                for _ in range(rng.randint(1, 4))]
        return [f"{indent}def {names[0]}_{rng.choice(WORDS)}({names[1]}, {names[2]}=None):",
                *(indent + line for line in body), f"{indent}    return {value}"]
    if shape == 1:
        return [f"{indent}for {names[0]} in range({rng.randint(2, 30)}):",
                f"{indent}    if {value}:", f"{indent}        print({names[0]}, {value})"]
    if shape == 2:
        return [f"{indent}{names[0]} = {value}", f"{indent}{names[1]} = {names[0]}"]
    if shape == 3:
        return [f"{indent}while {names[0]} < {rng.randint(2, 9)}:",
                f"{indent}    {names[0]} += {rng.randint(1, 3)}", f"{indent}    break"]
    if shape == 4:
        return [f"{indent}print('{rng.choice(WORDS)}', {value})"]
    return [f"{indent}try:", f"{indent}    {names[0]} = {value}",
            f"{indent}except Exception as {names[2]}:", f"{indent}    {names[0]} = None"]


_RESPELL = [  # (pattern, replacements): ways students write the same course line
    (r"MaxPooling2D\(2, ?2\)", ["MaxPooling2D(2, 2)", "MaxPooling2D(pool_size=(2, 2))",
                               "MaxPool2D(2)", "MaxPooling2D()", "MaxPool2D(pool_size=2)"]),
    (r"Conv2D\((\d+), ?\(3, ?3\)", [r"Conv2D(\1, (3, 3)", r"Conv2D(filters=\1, kernel_size=3",
                                   r"Conv2D(\1, kernel_size=(3, 3)", r"Conv2D(\1, 3"]),
    (r"tf\.keras\.layers\.", ["tf.keras.layers.", "layers.", "keras.layers.", "tfl."]),
    (r"tf\.keras\.models\.Sequential", ["tf.keras.models.Sequential", "Sequential",
                                        "tf.keras.Sequential", "keras.Sequential"]),
    (r"rescale ?= ?1 ?/ ?255\.?0?", ["rescale=1/255", "rescale=1./255", "rescale=1 / 255.0",
                                   "rescale=0.00392156862745098"]),
    (r"Dense\(512, activation=.relu.\)", ["Dense(512, activation='relu')",
                                         "Dense(units=512, activation=tf.nn.relu)",
                                         "Dense(256, 'relu')", "Dense(512, activation='relu', "
                                         "kernel_initializer='he_normal')"]),
]


_KEYWORDS = ("name", "dtype", "seed", "padding", "strides", "use_bias", "shuffle", "workers",
             "interpolation", "color_mode", "data_format", "trainable", "dilation_rate",
             "kernel_initializer", "bias_initializer", "max_queue_size", "initial_epoch",
             "validation_freq", "run_eagerly", "steps_per_execution", "jit_compile",
             "follow_links", "subset", "save_format", "keep_aspect_ratio", "groups")


def _mutate_line(rng: random.Random, line: str) -> str:
    """A student's own way of writing a course line: another spelling of a layer or of
    its arguments, arguments in another order, an extra keyword argument, an argument
    wrapped in a conversion. Each choice changes the tokens, so two students given the
    same course line rarely write it the same way."""
    for pattern, choices in _RESPELL:
        if re.search(pattern, line):
            line = re.sub(pattern, rng.choice(choices), line)
    match = re.match(r"^(\s*)(.*\()(.*)(\)[,)\]]*:?)$", line)
    if not match or not match.group(3).strip() or rng.random() < 0.3:
        return line
    parts = [p.strip() for p in match.group(3).split(",") if p.strip()]
    positional = [p for p in parts if "=" not in p]
    keywords = [p for p in parts if "=" in p]
    rng.shuffle(keywords)
    for _ in range(rng.randint(0, 2)):
        value = rng.choice(["None", "True", "0", "'x'"])
        keywords.insert(rng.randint(0, len(keywords)), f"{rng.choice(_KEYWORDS)}={value}")
    if positional and rng.random() < 0.4:
        at = rng.randrange(len(positional))
        positional[at] = f"{rng.choice(['float', 'int', 'tuple', 'str'])}({positional[at]})"
    return f"{match.group(1)}{match.group(2)}{', '.join(positional + keywords)}" \
           f"{match.group(4)}"


def _droppable(line: str) -> bool:
    """A line that is a whole top-level statement (dropping it keeps the code valid)."""
    stripped = line.rstrip()
    return bool(stripped) and line[:1] not in (" ", "\t", ")", "]", "}", "#", "@") and \
        not stripped.endswith((":", ",", "\\", "(", "[", "{")) and \
        all(stripped.count(o) == stripped.count(c) for o, c in ("()", "[]", "{}"))


def variant(rng: random.Random, sources: list[list[str]]) -> list[str]:
    """One generated submission as code cells: a sample written the student's own way
    (some lines dropped or respelt) with the student's own code added."""
    target = rng.randint(30, 200)
    cells = [[_mutate_line(rng, line) for line in c.splitlines()
              if rng.random() < 0.9 or not _droppable(line)]
             for c in rng.choice(sources)]
    cells = [c for c in cells if c] or [[]]
    lines = sum(len(c) for c in cells)
    while lines < target:
        cell = rng.randrange(len(cells))
        at = rng.randint(0, len(cells[cell]))
        # insert only where a top-level statement starts, so the code stays valid
        while at < len(cells[cell]) and cells[cell][at][:1] in (" ", "\t", ")", "]", "}"):
            at += 1
        block = _block(rng)
        cells[cell][at:at] = block
        lines += len(block)
    return ["\n".join(c) for c in cells]


def generate(folder: Path, count: int, seed: int, prefix: str) -> None:
    """`count` submissions; COPIED of them are a classmate's earlier one with own code
    added (the copies a run should flag), the rest are the class's own variants."""
    rng = random.Random(seed)
    sources = _sources()
    folder.mkdir(parents=True, exist_ok=True)
    made: list[list[str]] = []
    for n in range(count):
        if made and rng.random() < COPIED:
            cells = [cell + "\n" + "\n".join(_block(rng)) for cell in rng.choice(made)]
        else:
            cells = variant(rng, sources)
        made.append(cells)
        if rng.random() < 0.5:
            (folder / f"{prefix}{n:04d}.py").write_text("\n\n".join(cells) + "\n",
                                                        encoding="utf-8")
        else:
            notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                        "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {},
                                   "execution_count": None, "outputs": [], "source": c}
                                  for i, c in enumerate(cells)]}
            (folder / f"{prefix}{n:04d}.ipynb").write_text(json.dumps(notebook),
                                                           encoding="utf-8")


def measure_one(folder: Path, references: Path | None) -> dict[str, float]:
    """Run in a fresh process: read, compare and write the report; time and peak RSS."""
    from grader.similarity import report
    from grader.similarity.api import compare_source

    started = time.perf_counter()
    result = compare_source(folder, against=[references] if references else [])
    compared = time.perf_counter() - started
    report.write(result, folder.parent / f"out-{folder.name}")
    total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
    return {"compare_s": compared, "total_s": total, "peak_mib": peak,
            "pairs": len(result.pairs), "flagged": len(result.flagged_pairs),
            "submissions": len(result.submissions)}


def _subprocess(folder: Path, references: Path | None) -> dict[str, float]:
    argv = [sys.executable, __file__, "--one", str(folder)]
    if references:
        argv += ["--against", str(references)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def difflib_baseline(folder: Path) -> float:
    from grader.similarity.sources import code_cells

    texts = [("\n".join(code_cells(p)[0])).splitlines() for p in sorted(folder.iterdir())]
    started = time.perf_counter()
    for a, b in itertools.combinations(texts, 2):
        difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    return time.perf_counter() - started


def _best(folder: Path, references: Path | None, repeats: int) -> dict[str, float]:
    """The fastest of `repeats` fresh-process runs: the machine is shared, and the least
    disturbed run is the closest to what the code costs."""
    runs = [_subprocess(folder, references) for _ in range(repeats)]
    return min(runs, key=lambda r: r["total_s"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000])
    parser.add_argument("--references", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=2, help="runs per size (best kept)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--against", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.against)))
        return 0
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {len(os.sched_getaffinity(0))} cores")
    with tempfile.TemporaryDirectory(prefix="similarity-bench-") as scratch:
        root = Path(scratch)
        references = root / "references"
        generate(references, args.references, seed=99_991, prefix="public_")
        rows = []
        for size in args.sizes:
            folder = root / f"class{size}"
            generate(folder, size, seed=size, prefix="student_")
            rows.append((size, _best(folder, references if args.references else None,
                                     args.repeats),
                         _best(folder, None, args.repeats)))
        print(f"{'submissions':>11} {'+refs total s':>13} {'peak MiB':>8} {'pairs':>6} "
              f"{'flagged':>7} {'class only s':>12} {'growth (class only)':>19}")
        previous = None
        for size, row, alone in rows:
            growth = "" if previous is None else \
                f"x{alone['total_s'] / previous[1]['total_s']:.2f} for x{size / previous[0]:.0f}"
            print(f"{size:>11} {row['total_s']:>13.2f} {row['peak_mib']:>8.0f} "
                  f"{row['pairs']:>6} {row['flagged']:>7} {alone['total_s']:>12.2f} "
                  f"{growth:>19}")
            previous = (size, alone)
        base = min(args.sizes)
        ours = next(alone for size, _, alone in rows if size == base)
        naive = difflib_baseline(root / f"class{base}")
        pairs = base * (base - 1) // 2
        print(f"\n{base} submissions, no references: grader similarity "
              f"{ours['compare_s']:.2f} s (read + compare), pairwise difflib "
              f"{naive:.2f} s over {pairs:,} pairs (compare only): difflib / ours = "
              f"{naive / ours['compare_s']:.1f}")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
