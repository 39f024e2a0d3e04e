"""docs/security.md: `grader batch --cluster` sends the client's course secret with each
task, so a worker whose own data folder holds another secret (or none) draws the same
hidden split. Tested on a real cluster (a scheduler and a worker process) whose worker has
a data folder of its own, empty at the start: after the batch it holds the hidden split
drawn with the client's secret, byte for byte the client's, and no secret of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dask_local import assert_drawn_with_the_clients_secret, local_cluster

from grader.exercise import datasource
from grader.exercise.secret import SECRET_ENV

pytestmark = pytest.mark.timeout(600)


def test_batch_cluster_workers_grade_with_the_clients_secret_in_their_own_folder(
        tmp_path: Path, data: datasource.DataPaths) -> None:
    client_data = datasource.default_data_dir()
    assert data.hidden_dir.is_relative_to(client_data)
    worker_data = tmp_path / "worker-data"
    worker_data.mkdir()
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    with local_cluster(tmp_path, 1, {**env, "GRADER_DATA_DIR": str(worker_data)}) as address:
        folder = tmp_path / "class"
        folder.mkdir()
        (folder / "ada.py").write_text("def broken(:\n")  # graded in a second, wherever
        batch = subprocess.run([sys.executable, "-m", "grader.cli", "batch", str(folder),
                                "--out", str(tmp_path / "out"), "--cluster", address,
                                "--quiet"], capture_output=True, text=True, timeout=400,
                               env={**env, "GRADER_DATA_DIR": str(client_data)})
    assert batch.returncode == 0, (batch.stdout + batch.stderr)[-3000:]
    assert_drawn_with_the_clients_secret(worker_data, client_data)
