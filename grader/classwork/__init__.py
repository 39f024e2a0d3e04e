"""A whole class: finding each student's submission (intake), grading them in worker
processes (batch) or on a Dask cluster (cluster)."""
