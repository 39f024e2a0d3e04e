"""HTML reports for results (the public entry points; the work is in grader/reports/).

Kept as the module the rest of the grader imports: `render`, `write`, `write_views` for one
submission (student and instructor views) and `write_summary` for a class's index.html.
"""

from __future__ import annotations

from grader.reports.charts import training_charts
from grader.reports.expected import ExpectedValues
from grader.reports.pages import (
           TEMPLATES,
           render,
           render_summary,
           write,
           write_summary,
           write_views,
)

__all__ = ["TEMPLATES", "ExpectedValues", "render", "render_summary", "training_charts",
           "write", "write_summary", "write_views"]
