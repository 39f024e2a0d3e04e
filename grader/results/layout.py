"""The output folder of `grader grade --out`, `grader batch --out` and a service folder:
one object that knows every file name in it.

    <out>/
      index.html            the class summary
      results.csv           one row per student
      gradebook.sqlite      every grading (batch); the service keeps its own database
      similarity.json/.html the similarity report, when asked for
      exports/<format>/     one JSON per student for Gradescope, PrairieLearn, Coursera
      <student>/result.json, report.html (student view), instructor.html

Why one object: a file name spelled in six places is a rename that breaks five of them;
and a student id that is not one safe path segment must never reach a path join here
(a submission named `...py` would otherwise write next to --out instead of inside it).
Nor may a student's folder take the name of one of the folder's own files: a student
called `results.csv` or `gradebook.sqlite-wal` would stop the batch from writing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.ids import case_key, student_id

RESULT = "result.json"
STUDENT_REPORT = "report.html"
INSTRUCTOR_REPORT = "instructor.html"
SUMMARY = "index.html"
CSV = "results.csv"
GRADEBOOK = "gradebook.sqlite"
SIMILARITY_JSON = "similarity.json"
SIMILARITY_HTML = "similarity.html"
EXPORTS = "exports"
# the folder's own names, and what is written beside them (the CSV's and the gradebook's
# temporary files, SQLite's -wal and -journal): a student folder never starts with one
_RESERVED = tuple(case_key(n) for n in (SUMMARY, CSV, GRADEBOOK, SIMILARITY_JSON,
                                        SIMILARITY_HTML, EXPORTS))


def is_safe_id(student: str) -> bool:
    """One path segment that stays inside its parent: what student_id() always makes."""
    return bool(student) and student not in (".", "..") and "/" not in student \
        and "\\" not in student and "\0" not in student and not student.startswith(".")


def folder_name(student: str) -> str:
    """The name of a student's folder: the id itself, re-escaped when it is not one safe
    segment, and with its first letter escaped when it would start like one of the
    folder's own files (`%72esults.csv`: no student id has an escaped letter, so this
    name is no other student's)."""
    name = student if is_safe_id(student) else student_id(student)
    if case_key(name).startswith(_RESERVED):
        name = "".join(f"%{byte:02X}" for byte in name[0].encode("utf-8")) + name[1:]
    return name


@dataclass(frozen=True)
class OutputLayout:
    root: Path

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY

    @property
    def csv(self) -> Path:
        return self.root / CSV

    @property
    def gradebook(self) -> Path:
        return self.root / GRADEBOOK

    @property
    def similarity_json(self) -> Path:
        return self.root / SIMILARITY_JSON

    @property
    def similarity_html(self) -> Path:
        return self.root / SIMILARITY_HTML

    def exports(self, format_name: str) -> Path:
        return self.root / EXPORTS / format_name

    def student_dir(self, student: str) -> Path:
        """The student's folder (see folder_name): no id, whoever made it, can name a
        folder outside the output folder or one of the folder's own files."""
        return self.root / folder_name(student)

    def result(self, student: str) -> Path:
        return self.student_dir(student) / RESULT

    def student_report(self, student: str) -> Path:
        return self.student_dir(student) / STUDENT_REPORT

    def instructor_report(self, student: str) -> Path:
        return self.student_dir(student) / INSTRUCTOR_REPORT


def relative_reports(student: str) -> tuple[str, str]:
    """The two report paths of a student relative to the output folder (the summary's
    links; URL-quoting is the page's job)."""
    folder = folder_name(student)
    return f"{folder}/{STUDENT_REPORT}", f"{folder}/{INSTRUCTOR_REPORT}"
