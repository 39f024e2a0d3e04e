"""What the benchmarks share: the data set, the thread settings, timing, and a sampler of
the resident memory of a process tree (read from /proc, so no extra dependency)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "reference" / "happy_or_sad" / "solution.py"
NOTEBOOK = ROOT / "reference" / "happy_or_sad" / "solution.ipynb"
GRADER = str(Path(sys.executable).with_name("grader"))


def setting() -> tuple[object, object, dict[str, str]]:
    """The spec, its data, and the environment both sides run with (same threads)."""
    sys.path.insert(0, str(ROOT))
    from grader import exercise
    from grader.exercise import datasource

    spec = exercise.load("happy-or-sad")
    data = datasource.resolve(spec)
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(spec.intra_op_threads),
           "TF_NUM_INTEROP_THREADS": str(spec.inter_op_threads), "PYTHONHASHSEED": "0",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    return spec, data, env


def stage_bare(train_zip: Path) -> None:
    """The course paths the bare scripts read, extracted once so that two bare scripts
    running at once never race on the extraction."""
    shutil.copyfile(train_zip, "/tmp/happy-or-sad.zip")
    shutil.rmtree("/tmp/h-or-s", ignore_errors=True)
    with zipfile.ZipFile(train_zip) as archive:
        archive.extractall("/tmp/h-or-s")


def timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def notebook_as_script(notebook: Path, target: Path) -> Path:
    """The notebook's code cells as one script: what `python` runs 'bare'. Shell escapes
    (`!wget …`, with their continuation lines) and magics (`%matplotlib`) are left out:
    bare Python cannot run them, and the data they fetch is already staged."""
    import nbformat

    lines: list[str] = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        continued = False
        for line in cell.source.splitlines():
            dropped = continued or line.lstrip().startswith(("!", "%"))
            continued = dropped and line.rstrip().endswith("\\")
            if not dropped:
                lines.append(line)
        lines.append("")
    target.write_text("\n".join(lines) + "\n")
    return target


def make_class(folder: Path, count: int) -> Path:
    """`count` students who all hand in the reference (each file a little different)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (folder / f"student{index:02d}.py").write_text(
            f"# student {index}\n" + SOLUTION.read_text())
    return folder


def _proportional(pid: str) -> int | None:
    """Proportional set size (PSS) in bytes: a page shared by n processes counts 1/n in
    each. Why not RSS: a warm run is forked from a zygote and shares its TensorFlow
    pages; summing RSS would count them once per process."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _process_table() -> dict[int, tuple[int, int, float]]:
    """pid → (parent pid, memory bytes (PSS, else RSS), CPU seconds so far)."""
    table = {}
    page = os.sysconf("SC_PAGE_SIZE")
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        memory = _proportional(entry)
        table[int(entry)] = (int(stat[1]), int(stat[21]) * page if memory is None else memory,
                             (int(stat[11]) + int(stat[12])) / tick)
    return table


def _subtree(pid: int, table: dict[int, tuple[int, int, float]],
             children: dict[int, list[int]]) -> int:
    return table.get(pid, (0, 0, 0.0))[1] + sum(_subtree(c, table, children)
                                                for c in children.get(pid, []))


def _descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    found = [pid]
    for child in children.get(pid, []):
        found += _descendants(child, children)
    return found


class TreeMemory:
    """Samples a process and its descendants every `period`: the peak memory (PSS) of
    the whole tree and of each child's subtree (a batch worker with its sandbox, shell and
    training), and the CPU time of every process seen (its last sample: a process living
    under one period is missed, which the long-lived ones that matter are not)."""

    def __init__(self, root: int, period: float = 0.1) -> None:
        self.root, self.period = root, period
        self.peak_total = 0
        self.peak_per_child: dict[int, int] = {}
        self.cpu_by_pid: dict[int, float] = {}
        self._failure: Exception | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._failure is not None:  # a benchmark must not print figures it never took
            raise RuntimeError("the /proc sampler failed") from self._failure

    def _sample(self) -> None:
        try:
            self._sample_until_stopped()
        except Exception as exc:  # noqa: BLE001 - re-raised in the benchmark's thread
            self._failure = exc

    def _sample_until_stopped(self) -> None:
        while not self._stop.is_set():
            table = _process_table()
            children: dict[int, list[int]] = {}
            for pid, (parent, *_) in table.items():
                children.setdefault(parent, []).append(pid)

            self.peak_total = max(self.peak_total, _subtree(self.root, table, children))
            for pid in _descendants(self.root, children):
                if pid in table:
                    self.cpu_by_pid[pid] = max(self.cpu_by_pid.get(pid, 0.0), table[pid][2])
            for child in children.get(self.root, []):
                self.peak_per_child[child] = max(self.peak_per_child.get(child, 0),
                                                 _subtree(child, table, children))
            time.sleep(self.period)

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu_by_pid.values())
