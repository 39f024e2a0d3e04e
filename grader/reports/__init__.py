"""HTML reports: a submission's student and instructor views, and the class summary.

Rendering only: a report shows what the checks found (each result's checks carry their
`found` and `expected` values and their verdicts) and never judges again. Modules, one job
each: charts (SVG geometry), compare (layers and settings side by side), thumbnails
(hidden images, instructor only), view and summary (what a page shows), pages (render and
write). Templates live in the top-level templates/ folder (grader.templates once
installed).
"""

from grader.reports.pages import (
    REPORT_CSP,
    environment,
    render,
    render_summary,
    write_submission,
    write_summary,
)
from grader.reports.summary import SIMILARITY_LINK

__all__ = ["REPORT_CSP", "SIMILARITY_LINK", "environment", "render", "render_summary",
           "write_submission", "write_summary"]
