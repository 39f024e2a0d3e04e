"""A grading worker for the benchmarks: it starts its warm runner and its trusted scorer
first (what a batch or service worker has before its submission arrives: the batch's
and the service's workers share one scorer per data set), then grades each path it
reads on stdin as `grader grade` would (result.json and both reports) and prints the
seconds from the request to the written reports, the grade, the run's start (warm or
cold) and where the time went (JSON: result.timings, the training, the reports), one line
per grading. With --cold
every run starts Python itself; the scorer is shared all the same.

    python benchmarks/warm_worker.py OUT_DIR [--cold]   (paths on stdin)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from grader.exercise import datasource
    from grader.grade import GradeOptions, grade_file, load_exercise
    from grader.reports import write_submission
    from grader.results.layout import OutputLayout
    from grader.run import warm
    from grader.scoring.service import ScoringService

    out, cold = Path(sys.argv[1]), "--cold" in sys.argv[2:]
    spec = load_exercise("happy-or-sad")
    data = datasource.resolve(spec)
    if not cold and warm.zygote(spec.intra_op_threads) is None:
        print(f"no warm runner: {warm.disabled_reason() or warm.failure()}", flush=True)
        return 1
    scorer = ScoringService(spec, data)
    options = GradeOptions(cold=cold, scorer_socket=scorer.start())
    print("ready", flush=True)
    for line in sys.stdin:
        started = time.perf_counter()
        result = grade_file(Path(line.strip()), spec, data, options)
        reports_started = time.perf_counter()
        write_submission(result, OutputLayout(out), spec, data.hidden_dir)
        evidence = result.details.get("evidence", {})
        fit_started, ended = evidence.get("fit_started_at"), evidence.get("epochs_ended_at")
        phases = {**result.timings, "reports": time.perf_counter() - reports_started,
                  "training": ended[-1] - fit_started if ended and fit_started is not None
                  else None}
        print(f"{time.perf_counter() - started:.3f} {result.score} {result.max_score} "
              f"{result.details.get('run_start')} {json.dumps(phases)}", flush=True)
    scorer.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
