"""The grader's one error hierarchy, and what each kind of failure means for the user.

Why one module: every failure the grader expects must reach a person as one line they can
act on, and must end the same way wherever it is raised. The table below is the only
place that decides it:

| raised as                       | who must act    | `grader …` exits | a result records        |
|---------------------------------|-----------------|------------------|-------------------------|
| UsageError (and its subclasses) | the instructor  | 2 (EXIT_USAGE)   | nothing is graded       |
| SubmissionError                 | the student     | 0 (EXIT_OK)      | status "error"          |
| GraderError (anything else)     | the maintainer  | 1 (EXIT_FAILED)  | "error", not cached     |
| GraderTerminated (SIGTERM)      | nobody: stopped | 143              | nothing new             |

One more exit is not an error: 3 (EXIT_BELOW) when everything was graded but a grading
scored below what the command was asked to require (`--fail-under`, `grader verify`), so
a CI pipeline fails on a lost point without reading JSON.

A run that hits a limit is not an error: it is graded with status "timeout" (result.py).
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BELOW = 0, 1, 2, 3
EXIT_TERMINATED = 128 + 15  # SIGTERM, as a shell reports it


class GraderError(Exception):
    """A failure the grader expected; the message is one line for a person."""

    exit_code = EXIT_FAILED


class UsageError(GraderError):
    """What the instructor asked for cannot be done (a flag, a file, a machine)."""

    exit_code = EXIT_USAGE


class SpecError(UsageError):
    """An exercise spec that cannot be used."""


class DataError(UsageError):
    """The training or hidden data cannot be used."""


class IntakeError(UsageError):
    """A class's submissions cannot be read as a whole (a bad zip, a bad roster)."""


class GradebookError(UsageError):
    """The gradebook file cannot be used."""


class SandboxRequired(UsageError):
    """Bubblewrap cannot run here and grading without it was not asked for (--no-sandbox)."""


class ClusterError(UsageError):
    """The Dask cluster cannot be reached or used."""


class BundleError(UsageError):
    """The Gradescope bundle cannot be made."""


class SubmissionError(GraderError):
    """This file cannot be graded; recorded as the submission's error, never raised past
    the pipeline."""

    exit_code = EXIT_OK


class GraderTerminated(SystemExit):
    """SIGTERM arrived during a grading: unwinds through every cleanup, then exits 143.

    A SystemExit, not a GraderError, so that nothing on the way catches it as a failure of
    one submission."""

    def __init__(self) -> None:
        super().__init__(EXIT_TERMINATED)
