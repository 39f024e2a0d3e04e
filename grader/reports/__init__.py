"""HTML reports: a submission's student and instructor views, and the class summary.

Modules, one job each: expected (what to compare against), charts (SVG geometry),
compare (layers and settings side by side), thumbnails (hidden images, instructor only),
view and summary (what a page shows), pages (render and write). Templates live in the
top-level templates/ folder.
"""

from grader.reports.expected import ExpectedValues
from grader.reports.pages import render, render_summary, write, write_summary, write_views

__all__ = ["ExpectedValues", "render", "render_summary", "write", "write_summary",
           "write_views"]
