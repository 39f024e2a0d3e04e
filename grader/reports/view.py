"""What one report page shows, as plain values: the student view and the instructor view.

Why one function for both views: the two must never disagree on a number, so they come
from the same context; the instructor view only *adds* keys (hidden split, full logs,
limits). Everything the student must not see is computed only when view == "instructor",
so it cannot leak into the student page through a template slip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.exercise.spec import ReferenceLayer
from grader.reports import charts, compare, thumbnails
from grader.results.result import CheckResult, GradeResult

VIEWS = ("student", "instructor")
STATUS_WORDS = {"passed": "✔ passed", "failed": "✘ failed", "partial": "◐ partial",
                "not_judged": "– not judged", "not_applicable": "n/a (not applicable)",
                "not_trusted": "⚠ not trusted"}
STUDENT_OUTPUT_LINES = 40


@dataclass(frozen=True)
class Confusion:
    classes: list[str]
    rows: list[list[int]]
    correct: int
    total: int


def check_word(check: CheckResult) -> str:
    return STATUS_WORDS.get(check.status, check.status)


def percent(result: GradeResult) -> float:
    return charts.percent(result)


def verdict(result: GradeResult) -> str:
    """One line a student can act on: what happened and where the points went."""
    if result.status == "error":
        return f"Could not be graded: {result.error or 'the grader gave no reason'}."
    applicable = [c for c in result.checks if c.status != "not_applicable"]
    lost = [c for c in applicable if c.status != "passed"]
    passed = f"{len(applicable) - len(lost)} of {len(applicable)} checks passed"
    if result.status == "timeout":
        # the limit counts CPU time; the clock is only its outer guard, and a student told
        # "after 33 s" beside "the 20 s limit" reads a contradiction
        run, cpu = result.timings.get("run"), result.timings.get("run_cpu")
        clock = f" ({run:.0f} s on the clock)" if isinstance(run, int | float) else ""
        when = (f" after {cpu:.0f} s of CPU time{clock}" if isinstance(cpu, int | float)
                else f" after {run:.0f} s" if isinstance(run, int | float) else "")
        return (f"The run was stopped at the time limit{when}; what it did before that was "
                f"graded: {passed}.")
    if not lost:
        return f"All {len(applicable)} checks passed: full marks."
    names = ", ".join(c.title for c in lost[:3])
    more = f" and {len(lost) - 3} more" if len(lost) > 3 else ""
    return f"{passed}; points lost on: {names}{more}."


def what_happened(result: GradeResult) -> str:
    """For a run that did not finish: the plain story, shown above everything else."""
    if result.status == "timeout":
        return (f"Your code was still running when the time limit was reached "
                f"({result.error or 'time limit'}). The run was stopped; every check below "
                "was judged from what had been recorded until then. Look for a loop that "
                "never ends or training with far too many epochs or steps.")
    if result.status == "error":
        return (f"The grader could not grade this submission: {result.error or 'no reason'}. "
                "No check could be judged; fix the problem above and submit again.")
    return ""


def tail_lines(text: str, lines: int) -> tuple[str, int]:
    """The last `lines` lines and how many lines were cut before them."""
    all_lines = text.splitlines()
    return "\n".join(all_lines[-lines:]), max(0, len(all_lines) - lines)


def epoch_columns(result: GradeResult) -> list[str]:
    """Every log name of the epochs, in order of first appearance (a dict keeps the order
    and finds a name at once: a list scan per key made many names quadratic)."""
    columns: dict[str, None] = {}
    for epoch in result.details.get("epochs") or []:
        columns.update((key, None) for key in epoch if key != "epoch")
    return list(columns)


def confusion(result: GradeResult) -> Confusion | None:
    raw = result.details.get("hidden_confusion") or []
    if not raw or not all(isinstance(row, list | tuple) for row in raw):
        return None
    rows = [[int(v) for v in row] for row in raw]
    named = [str(c) for c in result.details.get("classes") or []]
    classes = named if len(named) == len(rows) else [f"class {i}" for i in range(len(rows))]
    return Confusion(classes=classes, rows=rows,
                     correct=sum(rows[i][i] for i in range(len(rows)) if i < len(rows[i])),
                     total=sum(sum(row) for row in rows))


_LIMIT_WORDS = (("time_clock", "time limit", "{}"), ("memory", "memory limit", "{}"),
                ("max_processes", "processes and threads", "{}"),
                ("disk_mb", "disk the run may fill", "{} MB"),
                ("output_tail_bytes", "output kept", "last {} bytes per stream"))


def limits(result: GradeResult) -> list[tuple[str, str]]:
    """The limits this run had, as the grading recorded them (--time-limit included)."""
    used = result.details.get("limits") or {}
    rows = [("sandbox", result.sandbox)]
    rows += [(label, shown.format(used[key])) for key, label, shown in _LIMIT_WORDS
             if used.get(key) is not None]
    if used.get("time_clock") is None and used.get("time_seconds") is not None:
        rows.insert(1, ("time limit", f"{used['time_seconds']:g} s"))  # before clocks were named
    cpu = result.timings.get("run_cpu")
    if isinstance(cpu, int | float) and not isinstance(cpu, bool):
        # what counted against the time limit: the run's CPU time, not its wall time
        rows.insert(2, ("CPU time used", f"{cpu:.1f} s"))
    start = _STARTS.get(str(result.details.get("run_start")))
    if start:
        rows.append(("start", start))
    return rows


# how the run's Python started (grader.run.warm): the same sandbox and limits either way
_STARTS = {"warm": "warm: forked from a sandboxed Python that had imported TensorFlow",
           "cold": "cold: Python and TensorFlow started for this run"}


def context(result: GradeResult, view: str, reference_layers: tuple[ReferenceLayer, ...],
            hidden_dir: Path | None) -> dict[str, Any]:
    if view not in VIEWS:
        raise ValueError(f"unknown report view {view!r}; expected one of {', '.join(VIEWS)}")
    instructor = view == "instructor"
    stdout, stdout_cut = (result.stdout_tail, 0) if instructor else \
        tail_lines(result.stdout_tail, STUDENT_OUTPUT_LINES)
    stderr, stderr_cut = (result.stderr_tail, 0) if instructor else \
        tail_lines(result.stderr_tail, STUDENT_OUTPUT_LINES // 2)
    values: dict[str, Any] = {
        "result": result, "view": view, "instructor": instructor,
        "title": result.details.get("exercise_title") or result.exercise,
        "percent": percent(result), "verdict": verdict(result),
        "what_happened": what_happened(result), "check_word": check_word,
        "charts": charts.training_charts(result),
        "epoch_columns": epoch_columns(result),
        "layer_rows": compare.layer_rows(result, reference_layers),
        "has_reference": bool(reference_layers),
        "settings": compare.setting_rows(result, reference_layers),
        "stdout": stdout, "stdout_cut": stdout_cut,
        "stderr": stderr, "stderr_cut": stderr_cut,
    }
    if instructor:
        names = [str(n) for n in result.details.get("hidden_misclassified") or []]
        values.update({
            "confusion": confusion(result),
            "misclassified": names,
            "thumbnails": thumbnails.misclassified(
                hidden_dir, names, tuple(result.details.get("classes") or ()))
            if hidden_dir is not None and names else None,
            "limits": limits(result),
        })
    return values
