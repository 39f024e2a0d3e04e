"""What a warm and a cold grading of one submission must share: result.json apart from
what measures time (tests/test_warm_runs.py, test_samples.py, test_corpus_acceptance.py)."""

from __future__ import annotations

import json
import re
from typing import Any

from grader.results.result import GradeResult

# what TensorFlow prints when it is imported: a warm run imported it in the zygote
_IMPORT_BANNER = re.compile(r"absl::InitializeLog|oneDNN custom operations|cpu_feature_guard"
                            r"|rebuild TensorFlow with the appropriate compiler flags"
                            r"|This TensorFlow binary is optimized")
_LAST_LINES = 8
# Keras redraws its progress bar on a timer: which intermediate state a print caught
# ("7/8 … loss: 0.0793" or "8/8 … loss: 0.0758") is timing; the history is in details
_PROGRESS_BAR = re.compile(r"\s*\d+/\d+ ━")
# TensorFlow's log lines start with the time and the thread id
_TF_LOG_PREFIX = re.compile(r"^[EWIF]\d{4} \d\d:\d\d:[\d.]+ +\d+ ")
_DURATION = re.compile(r"\b\d+(\.\d+)?(ms|us|s)(/step)?\b")
# inotify coalesces identical events not yet read, so the count of image reads it sees
# varies by one or two between any two runs, warm or cold: a measurement, like a time
_READ_COUNT = re.compile(r"images \d+ times")


def comparable(result: GradeResult) -> dict[str, Any]:
    """result.json without what measures time: timings, the moments epochs ended, how
    long the batch check took, the durations in progress bars, TensorFlow's import
    banner (printed by the zygote, once), which start the run had, and the number of
    image reads inotify counted (see _READ_COUNT), progress bars and the time and
    thread of TensorFlow's log lines; of each output stream, its last lines (where the
    kept tail is cut depends on the banner's length)."""
    data = json.loads(_READ_COUNT.sub("images N times", result.to_json()))
    data.pop("timings", None)
    details = data["details"]
    details.pop("run_start", None)
    for key in ("fit_started_at", "epochs_ended_at"):
        details.get("evidence", {}).pop(key, None)
    for key in ("seconds", "cpu_seconds"):
        details.get("batch_check", {}).pop(key, None)
    for stream in ("stdout_tail", "stderr_tail"):
        lines = [_TF_LOG_PREFIX.sub("TF-LOG ", _DURATION.sub("T", line))
                 for line in (data[stream] or "").splitlines()
                 if not _IMPORT_BANNER.search(line) and not _PROGRESS_BAR.match(line)
                 and line.strip()]
        # the kept tail is the stream's last 4 KB: a cold run's banner moves where a long
        # stream is cut, so only the end of each stream is the same text
        data[stream] = "\n".join(lines[-_LAST_LINES:])
    return data
