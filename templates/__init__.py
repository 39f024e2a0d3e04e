"""The report templates, shipped inside the wheel as the package grader.templates."""
