"""Untrusted side of the trust line: the only grader code that runs next to student code.

Nothing here imports the trusted modules (grader.exercise, grader.scoring, grader.checks…),
and nothing written here is believed by the trusted side without validation
(grader/trace.py). The trusted side hands the runner a plain JSON run config.
"""
