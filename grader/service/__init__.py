"""The grading service (`grader serve`): students submit a notebook and get their report.

One module per job: config (the service folder), db (tables and engines), migrate (Alembic,
applied at start), storage (uploads by sha256), auth (passwords, tokens, sessions, CSRF),
policy (deadlines, late penalties, which score counts), courses (assignments, roster,
links), queue (the durable job table), uploads (what is accepted), views (what pages and
the API show), workers (local worker processes and the Dask dispatcher), app/api/pages
(the web tier), server (how `grader serve` starts and stops), cli, and client (`grader
submit`, which imports nothing heavy). docs/service.md is the user's guide.

Only grader.cli imports this package; it sits above grader.classwork.
"""
