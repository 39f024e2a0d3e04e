"""The sandbox: private /tmp, no network, nothing outside the run visible, hard time limit."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import components
import pytest

from grader.errors import SpecError
from grader.run import cgroups, diskwatch, sandbox

needs_bubblewrap = pytest.mark.usefixtures("bubblewrap_required")


@pytest.fixture(autouse=True)
def _bubblewrap_when_parametrized(request: pytest.FixtureRequest) -> None:
    """`bubblewrap=True` cases need it (pytest.param can no longer add usefixtures)."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("bubblewrap") is True:
        components.bubblewrap()


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie awaiting a reaper that may never come."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


def _run(run_dir: Path, code: str, *, bubblewrap: bool, limit: float = 30,
         tail: int = 4096, guard: float | None = None) -> sandbox.RunOutcome:
    (run_dir / "tmp").mkdir(parents=True, exist_ok=True)
    workdir = sandbox.RUN_ROOT_IN_SANDBOX if bubblewrap else str(run_dir)
    env = {"PATH": "/usr/bin:/bin", "HOME": workdir}
    return sandbox.run(run_dir, [sys.executable, "-c", code], env, workdir,
                       sandbox.RunLimits(time_seconds=limit, output_tail_bytes=tail,
                                         wall_guard_seconds=guard),
                       bubblewrap)


@needs_bubblewrap
def test_private_tmp_and_run_folder(tmp_path: Path) -> None:
    marker = f"grader-sandbox-test-{os.getpid()}"
    outcome = _run(tmp_path / "run", f"open('/tmp/{marker}', 'w').write('x');"
                   "open('out.txt', 'w').write('y')", bubblewrap=True)
    assert outcome.status == "finished", outcome
    assert (tmp_path / "run" / "tmp" / marker).exists()
    assert not Path(f"/tmp/{marker}").exists()
    assert (tmp_path / "run" / "out.txt").read_text() == "y"


@needs_bubblewrap
def test_outside_files_are_not_mounted(tmp_path: Path) -> None:
    secret = tmp_path / "hidden" / "happy" / "secret.png"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(b"canary")
    outcome = _run(tmp_path / "run", f"import os; print(os.path.exists({str(secret)!r}));"
                   f"print(os.path.exists({str(Path.home())!r} + '/.bashrc'))", bubblewrap=True)
    assert outcome.stdout_tail.split() == ["False", "False"], outcome


@needs_bubblewrap
def test_no_network(tmp_path: Path) -> None:
    code = ("import socket\ns = socket.socket()\ns.settimeout(3)\n"
            "try:\n    s.connect(('1.1.1.1', 53)); print('connected')\n"
            "except OSError as e:\n    print('refused', type(e).__name__)\n")
    outcome = _run(tmp_path / "run", code, bubblewrap=True)
    assert outcome.stdout_tail.startswith("refused"), outcome


@pytest.mark.parametrize("bubblewrap", [True, False])
def test_time_limit_kills_the_whole_process_group(tmp_path: Path, bubblewrap: bool) -> None:
    """The limit counts CPU time: a busy loop reaches 3 s of it in about 3 s."""
    pid_file = tmp_path / "run" / "child.pid"
    shown = f"{sandbox.RUN_ROOT_IN_SANDBOX}/child.pid" if bubblewrap else str(pid_file)
    code = ("import subprocess, time\n"
            "p = subprocess.Popen(['sleep', '1000'])\n"
            f"open({shown!r}, 'w').write(str(p.pid))\n"
            "while True: pass\n")
    started = time.monotonic()
    outcome = _run(tmp_path / "run", code, bubblewrap=bubblewrap, limit=3)
    assert outcome.status == "timeout"
    assert "3 s limit on CPU time" in outcome.message, outcome
    assert outcome.cpu_seconds >= 3
    # stopped at the limit, not later: what two processes burn between two polls (0.25 s
    # apart, however loaded the machine) is far below another 3 s (issue 21)
    assert outcome.cpu_seconds < 2 * 3, outcome
    assert "CPU time" in outcome.time_limit
    # the guard (3 × 3 + 60 s) did not act; a slower machine takes longer to burn 3 s
    assert time.monotonic() - started < 60
    if not bubblewrap:  # inside a PID namespace the pid means nothing out here
        child = int(pid_file.read_text())
        deadline = time.monotonic() + 30  # polled: the kill is sent, its effect awaited
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)


@pytest.mark.parametrize("bubblewrap", [True, False])
def test_a_run_that_only_waits_is_stopped_by_the_wall_clock_guard(
        tmp_path: Path, bubblewrap: bool) -> None:
    """Sleeping costs no CPU time: the outer wall-clock guard ends it, and says so."""
    outcome = _run(tmp_path / "run", "import time\ntime.sleep(1000)\n",
                   bubblewrap=bubblewrap, limit=30, guard=2)
    assert outcome.status == "timeout"
    assert "wall-clock time (the outer guard" in outcome.message, outcome
    assert outcome.cpu_seconds < 30


def test_output_is_kept_as_a_bounded_tail(tmp_path: Path) -> None:
    outcome = _run(tmp_path / "run", "print('x' * 100_000); print('\\x1b[1mEND\\x1b[0m')",
                   bubblewrap=False, tail=1000)
    assert outcome.output_bytes > 100_000
    assert outcome.stdout_tail.startswith("[… earlier output not kept]")
    assert outcome.stdout_tail.rstrip().endswith("END")
    assert len(outcome.stdout_tail) < 1100


def test_crash_is_reported(tmp_path: Path) -> None:
    outcome = _run(tmp_path / "run", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
                   bubblewrap=False)
    assert outcome.status == "crashed"
    assert "signal 9" in outcome.message


def test_progress_bars_collapse_to_their_last_state() -> None:
    bar = "1/8 [==>....]\b\b\b\b\b\b\b\b\b\b\b\b\b8/8 [=======]\r8/8 done - acc: 1.0\n"
    assert sandbox.render_terminal("\x1b[1mEpoch 1\x1b[0m\n" + bar) == \
        "Epoch 1\n8/8 done - acc: 1.0\n"


@pytest.mark.parametrize("bubblewrap", [True, False])
def test_memory_limit_stops_an_endless_allocation(tmp_path: Path, bubblewrap: bool) -> None:
    (tmp_path / "run" / "tmp").mkdir(parents=True)
    workdir = sandbox.RUN_ROOT_IN_SANDBOX if bubblewrap else str(tmp_path / "run")
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))\n"
    outcome = sandbox.run(tmp_path / "run", [sys.executable, "-c", code], {"PATH": "/usr/bin"},
                          workdir, sandbox.RunLimits(time_seconds=60, memory_mb=400),
                          bubblewrap)
    if outcome.memory_limit == "none":
        components.cgroup("memory")
    assert outcome.status == "out_of_memory"
    assert outcome.message.startswith("the run went over its 400 MB memory limit")


# --- Each isolation property, one test each (issue 3) ---------------------------------


def _run_limited(run_dir: Path, code: str, limits: sandbox.RunLimits, *,
                 bubblewrap: bool) -> sandbox.RunOutcome:
    """`limits` with the 30 s time limit of these tests unless it sets its own."""
    (run_dir / "tmp").mkdir(parents=True, exist_ok=True)
    workdir = sandbox.RUN_ROOT_IN_SANDBOX if bubblewrap else str(run_dir)
    if limits.time_seconds == sandbox.RunLimits().time_seconds:
        limits = dataclasses.replace(limits, time_seconds=30)
    return sandbox.run(run_dir, [sys.executable, "-c", code], {"PATH": "/usr/bin:/bin"},
                       workdir, limits, bubblewrap)


@needs_bubblewrap
def test_the_system_is_read_only_and_only_the_run_folder_is_writable(tmp_path: Path) -> None:
    import grader

    targets = ["/usr/x", "/etc/x", "/x", "/grader/x", sys.prefix + "/x",
               str(Path(grader.__file__).parent / "x")]
    code = ("import json\nout = {}\n"
            f"for t in {targets!r} + ['/grader/run/ok', '/tmp/ok']:\n"
            "    try:\n        open(t, 'w').write('x'); out[t] = 'written'\n"
            "    except OSError as e:\n        out[t] = type(e).__name__\n"
            "print(json.dumps(out))\n")
    outcome = _run(tmp_path / "run", code, bubblewrap=True)
    written = json.loads(outcome.stdout_tail)
    assert written.pop("/grader/run/ok") == "written"
    assert written.pop("/tmp/ok") == "written"
    assert all(v != "written" for v in written.values()), written
    assert not Path(grader.__file__).parent.joinpath("x").exists()


@needs_bubblewrap
def test_the_run_has_an_unprivileged_uid_and_its_own_session(tmp_path: Path) -> None:
    code = ("import os, signal\n"
            "print(os.getuid(), os.getgid())\n"
            "try:\n    open('/dev/tty'); print('has-a-terminal')\n"
            "except OSError as e:\n    print('tty', type(e).__name__)\n"
            "try:\n    open('/etc/shadow').read(1); print('shadow-read')\n"
            "except OSError as e:\n    print('shadow', type(e).__name__)\n"
            "try:\n    os.kill(1, signal.SIGKILL); print('killed-init')\n"
            "except OSError as e:\n    print('init', type(e).__name__)\n")
    outcome = _run(tmp_path / "run", code, bubblewrap=True)
    uid, gid, *rest = outcome.stdout_tail.split()
    assert int(uid) != 0 and int(gid) != 0
    assert rest[:2] == ["tty", "OSError"] or rest[0] == "tty", outcome  # a new session
    assert "has-a-terminal" not in rest
    assert "shadow-read" not in rest and "killed-init" not in rest, outcome
    if os.geteuid() == 0:  # the sandbox uid really is nobody on the host
        files = [p for p in (tmp_path / "run").rglob("*")]
        assert any(p.stat().st_uid == sandbox.SANDBOX_UID for p in files) or files == []


@needs_bubblewrap
def test_the_graders_environment_is_not_visible(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_TEST_SECRET_TOKEN", "s3cr3t-d4t4")
    code = ("import os\nseen = str(dict(os.environ))\n"
            "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
            "    try:\n        seen += open(f'/proc/{pid}/environ', 'rb').read().decode()\n"
            "    except OSError:\n        pass\n"
            "print('s3cr3t' in seen, 'GRADER_TEST_SECRET' in seen)\n")
    outcome = _run(tmp_path / "run", code, bubblewrap=True)
    assert outcome.stdout_tail.split() == ["False", "False"], outcome


@pytest.mark.parametrize("bubblewrap", [True, False])
def test_rlimits_are_set_in_the_run(tmp_path: Path, bubblewrap: bool) -> None:
    code = ("import resource as r\n"
            "print(r.getrlimit(r.RLIMIT_CORE)[0], r.getrlimit(r.RLIMIT_CPU)[0] > 0,"
            " r.getrlimit(r.RLIMIT_FSIZE)[0])\n")
    outcome = _run_limited(tmp_path / "run", code, sandbox.RunLimits(file_size_mb=3),
                           bubblewrap=bubblewrap)
    assert outcome.stdout_tail.split() == ["0", "True", str(3 * 2**20)], outcome


@pytest.mark.parametrize("bubblewrap", [True, False])
def test_a_file_over_the_size_limit_cannot_be_written(tmp_path: Path, bubblewrap: bool) -> None:
    code = ("try:\n    open('big.bin', 'wb').write(b'x' * 3 * 2**20); print('wrote')\n"
            "except OSError as e:\n    print('refused', e.errno)\n")
    outcome = _run_limited(tmp_path / "run", code, sandbox.RunLimits(file_size_mb=1),
                           bubblewrap=bubblewrap)
    assert outcome.stdout_tail.split() == ["refused", "27"], outcome  # EFBIG
    assert (tmp_path / "run" / "big.bin").stat().st_size <= 2**20


@pytest.mark.parametrize("bubblewrap", [True, False])
def test_filling_the_run_folder_is_stopped_at_the_disk_limit(tmp_path: Path,
                                                              bubblewrap: bool) -> None:
    tmp = "/tmp" if bubblewrap else str(tmp_path / "run" / "tmp")
    code = ("import itertools\nchunk = b'x' * 2**20\n"
            "for i in itertools.count():\n"
            f"    with open(f'{tmp}/f{{i}}', 'wb') as h:\n"
            "        for _ in range(4): h.write(chunk)\n")
    started = time.monotonic()
    outcome = _run_limited(tmp_path / "run", code,
                           sandbox.RunLimits(disk_mb=50, file_size_mb=8), bubblewrap=bubblewrap)
    assert outcome.status == "crashed", outcome
    assert "50 MB disk limit" in outcome.message
    assert time.monotonic() - started < 20
    used = diskwatch.folder_usage(tmp_path / "run")[0]
    # the overshoot is what the run writes between two polls: bounded, not exact
    assert used < 50 * 2**20 + 1024 * 2**20


@pytest.mark.parametrize("bubblewrap", [True, False])
def test_the_process_count_is_limited(tmp_path: Path, bubblewrap: bool) -> None:
    code = ("import threading, time\nstarted = 0\n"
            "try:\n    for _ in range(400):\n"
            "        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
            "        started += 1\n"
            "except RuntimeError:\n    pass\nprint(started, flush=True)\n"
            "import os; os._exit(3)\n")
    outcome = _run_limited(tmp_path / "run", code, sandbox.RunLimits(max_processes=40),
                           bubblewrap=bubblewrap)
    if not cgroups.availability()["pids"] and (os.geteuid() == 0 and not bubblewrap):
        components.require(False, "no pids cgroup, and RLIMIT_NPROC does not bind root")
    assert int(outcome.stdout_tail.split()[-1]) < 40, outcome
    assert "process/thread start(s) were refused at the limit of 40" in outcome.message


@needs_bubblewrap
def test_the_sandbox_dies_with_its_parent(tmp_path: Path) -> None:
    """SIGKILL the process that called sandbox.run: nothing of the run may survive."""
    marker = f"{os.getpid()}{int(time.time())}"
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys\nfrom pathlib import Path\nfrom grader.run import sandbox\n"
        f"run = Path({str(tmp_path / 'run')!r}); (run / 'tmp').mkdir(parents=True)\n"
        "sandbox.run(run, ['sh', '-c', 'sleep " + marker + " & sleep " + marker + "1'],"
        " {'PATH': '/usr/bin:/bin'}, sandbox.RUN_ROOT_IN_SANDBOX,"
        " sandbox.RunLimits(time_seconds=300), True)\n")
    parent = subprocess.Popen([sys.executable, str(script)])
    deadline = time.monotonic() + 30
    while not _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_with(marker), "the run never started"
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_with(marker)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _alive(int(entry.name)):
            try:
                if marker in (entry / "cmdline").read_bytes().decode("utf-8", "replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_the_fallback_is_recorded_and_require_sandbox_refuses(
        tmp_path: Path, spec: object, data: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader import grade

    broken = tmp_path / "broken.py"
    broken.write_text("def oops(:\n")  # fails before TensorFlow is imported: fast
    result = grade.grade_file(broken, spec, data, grade.GradeOptions(no_sandbox=True))
    assert result.sandbox == "none"
    assert any("WITHOUT a sandbox" in note for note in result.notes)
    monkeypatch.setattr(sandbox, "bubblewrap_works", lambda: False)
    with pytest.raises(grade.SandboxRequired):
        grade.grade_file(broken, spec, data, grade.GradeOptions(require_sandbox=True))
    with pytest.raises(grade.SandboxRequired):  # the default: sandboxed or refused
        grade.grade_file(broken, spec, data)
    own_work = grade.GradeOptions(require_sandbox=False)  # grader grade / check
    assert grade.grade_file(broken, spec, data, own_work).sandbox == "none"


def test_doctor_reports_one_line_per_area(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import doctor, main

    monkeypatch.setattr(doctor, "_tensorflow", lambda: ("tensorflow: stub", True))
    lines = doctor.lines()
    starts = [line.split(":")[0] for line in lines]
    for area in ("bubblewrap", "user namespaces", "cgroup memory", "cgroup pids",
                 "tensorflow", "browser"):
        assert area in starts, lines
    assert any(s.startswith("data happy-or-sad") for s in starts)
    bubblewrap_line = next(line for line in lines if line.startswith("bubblewrap:"))
    assert ("usable" in bubblewrap_line) == sandbox.bubblewrap_works()
    assert main(["doctor"]) == 0
    assert "cgroup memory:" in capsys.readouterr().out
    monkeypatch.setattr(doctor, "_tensorflow", lambda: ("tensorflow: NOT importable", False))
    assert doctor.main() == 1


def test_limit_keys_come_from_the_spec_with_defaults(tmp_path: Path) -> None:
    from grader import exercise

    source = exercise.available()["happy-or-sad"].read_text()
    assert exercise.load("happy-or-sad").max_processes == 256
    custom = tmp_path / "custom.toml"
    custom.write_text(source.replace("max_processes = 256", "max_processes = 64")
                      .replace("disk_mb = 2048", "disk_mb = 100"))
    loaded = exercise.load(custom)
    assert (loaded.max_processes, loaded.disk_mb) == (64, 100)
    without = tmp_path / "without.toml"
    without.write_text("\n".join(line for line in source.splitlines()
                                 if not line.startswith(("max_processes", "file_size_mb",
                                                         "disk_mb", "output_limit_bytes"))))
    defaults = exercise.load(without)
    assert (defaults.max_processes, defaults.file_size_mb, defaults.disk_mb,
            defaults.output_limit_bytes) == (256, 1024, 2048, 1024 * 1024)
    zero = tmp_path / "zero.toml"
    zero.write_text(source.replace("disk_mb = 2048", "disk_mb = 0"))
    with pytest.raises(SpecError, match="disk_mb"):
        exercise.load(zero)


# --- What the run sees of Python and of the grader (grader.run.mounts) -----------------

ROOT = Path(__file__).resolve().parent.parent  # the checkout
_MOUNT_TABLES = ("import json\ntables = {}\n"
                 "for pid in ('self', '1'):\n"
                 "    try:\n        tables[pid] = open(f'/proc/{pid}/mountinfo').read()\n"
                 "    except OSError as e:\n        tables[pid] = type(e).__name__\n"
                 "print(json.dumps(tables))\n")


@needs_bubblewrap
def test_the_mount_table_names_no_host_folder(tmp_path: Path) -> None:
    """Neither the checkout, the data folder, the user's home nor the Python installation
    (a pyenv under /root, a venv in the checkout) appears in either mount table; only a
    folder bound where it lives because no farm could be made would (docs/security.md)."""
    from grader.exercise.datasource import default_data_dir

    outcome = _run(tmp_path / "run", _MOUNT_TABLES, bubblewrap=True, tail=256_000)
    tables = json.loads(outcome.stdout_tail)
    assert "/grader/python" in tables["self"] and "/grader/lib" in tables["self"], tables
    in_place = [r.host for r in sandbox.sandbox_python_paths().roots if r.source == r.host]
    for table in tables.values():
        for folder in (ROOT, default_data_dir(), Path.home(), Path(sys.prefix).resolve(),
                       Path(sys.base_prefix).resolve()):
            if not any(Path(h).is_relative_to(folder) for h in in_place):
                assert str(folder) not in table, (folder, table)


@needs_bubblewrap
def test_the_run_imports_the_runner_and_nothing_else_of_the_grader(tmp_path: Path) -> None:
    import grader

    code = ("import importlib, json, os, grader\nout = {}\n"
            "for name in ['grader.runner', 'grader.runner.contract', 'grader.runner.fetch',"
            " 'grader.runner.recorder', 'grader.exercise', 'grader.exercise.datasets',"
            " 'grader.datasets', 'grader.exercise.specs', 'grader.checks', 'grader.scoring']:\n"
            "    try:\n        importlib.import_module(name); out[name] = 'imported'\n"
            "    except ImportError as e:\n        out[name] = type(e).__name__\n"
            "out['package'] = sorted(os.listdir(os.path.dirname(grader.__file__)))\n"
            f"out['checkout'] = os.path.exists({str(Path(grader.__file__).parent)!r})\n"
            "print(json.dumps(out))\n")
    outcome = _run(tmp_path / "run", code, bubblewrap=True)
    seen = json.loads(outcome.stdout_tail)
    assert all(seen.pop(name) == "imported" for name in
               ("grader.runner", "grader.runner.contract", "grader.runner.fetch",
                "grader.runner.recorder")), seen
    assert seen.pop("package") == ["__init__.py", "__pycache__", "runner"]
    assert seen.pop("checkout") is False
    assert set(seen.values()) == {"ModuleNotFoundError"}, seen


@needs_bubblewrap
def test_without_a_farm_python_is_bound_where_it_lives(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback (a cache on another file system, or overlayfs): the run still works
    and still sees only the runner; the installation's path is the documented residual."""
    from grader.run import mounts

    monkeypatch.setattr(mounts, "FARM_FILESYSTEMS", frozenset())
    assert all(r.source == r.host for r in sandbox.sandbox_python_paths().roots)
    code = _MOUNT_TABLES.replace("print(json.dumps(tables))", "import grader.runner.shell\n"
                                 "try:\n    import grader.exercise\n"
                                 "except ImportError:\n    tables['exercise'] = 'hidden'\n"
                                 "print(json.dumps(tables))")
    tables = json.loads(_run(tmp_path / "run", code, bubblewrap=True, tail=256_000)
                        .stdout_tail)
    assert tables["exercise"] == "hidden"
    assert str(Path(sys.prefix).resolve()) in tables["self"]


@needs_bubblewrap
def test_a_package_folder_in_a_bound_installation_is_empty_in_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wheel install bound where it lives (no farm): its grader folder is covered by an
    empty read-only tmpfs. Shown with a package that exists in this venv (numpy) standing
    in for site-packages/grader."""
    import numpy

    from grader.run import mounts

    runner = mounts.runner_copy()
    package = str(Path(numpy.__file__).parent)
    monkeypatch.setattr(mounts, "FARM_FILESYSTEMS", frozenset())
    monkeypatch.setattr(mounts, "_grader_dir", lambda: package)
    monkeypatch.setattr(mounts, "runner_copy", lambda: runner)
    code = (f"import os\nprint(os.listdir({package!r}))\n"
            f"try:\n    open({package!r} + '/x', 'w')\nexcept OSError as e:\n"
            "    print('refused')\n"
            "import numpy\nprint('code' if numpy.__file__ else 'empty')\n"
            "import grader.runner.contract\nprint('runner')\n")
    outcome = _run(tmp_path / "run", code, bubblewrap=True)
    assert outcome.stdout_tail.split() == ["[]", "refused", "empty", "runner"], outcome


def test_a_grader_package_inside_a_bound_installation_is_covered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A wheel install bound where it lives: an empty read-only tmpfs hides the package."""
    from grader.run import mounts

    package = str(Path(sys.prefix).resolve() / "lib" / "site-packages" / "grader")
    monkeypatch.setattr(mounts, "FARM_FILESYSTEMS", frozenset())
    monkeypatch.setattr(mounts, "_grader_dir", lambda: package)
    monkeypatch.setattr(mounts, "runner_copy", lambda: Path("/nonexistent"))
    python = sandbox.sandbox_python_paths()
    assert python.covered == (package,)
    args = python.bwrap_args()
    assert args[args.index("--tmpfs") + 1] == package
    assert args[args.index("--remount-ro") + 1] == package


def test_commands_and_paths_are_mapped_into_the_run() -> None:
    python = sandbox.sandbox_python_paths()
    argv = sandbox.bubblewrap_command(Path("/tmp/x"), [sys.executable, "-c", "pass"],
                                      {"PATH": f"{Path(sys.executable).parent}:/usr/bin"},
                                      "/grader/run")
    if any(r.source != r.host for r in python.roots):
        assert argv[-3] == python.inside(sys.executable) != sys.executable
        assert argv[argv.index("PATH") + 1].startswith(str(Path(python.inside(
            sys.executable)).parent))
        # only the compatibility link at the interpreter's host path (for the staged
        # download tools), and the folders it is made in
        named = {arg for arg in argv if arg.startswith(sys.prefix + "/")}
        assert named <= {sys.executable, *map(str, Path(sys.executable).parents)}, named
    assert argv[argv.index("PYTHONPATH") + 1] == "/grader/lib"


def _fake_installation(root: Path) -> Path:
    site = root / "lib" / "python3.11" / "site-packages"
    for folder in ("pkg", "grader/runner", "tf_image_grader-0.1.0.dist-info", "__pycache__",
                   "sealed"):
        (site / folder).mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_text("x = 1\n")
    (site / "grader" / "__init__.py").write_text("")
    (site / "__editable__.tf_image_grader-0.1.0.pth").write_text("import finder\n")
    (site / "__pycache__" / "__editable___tf_image_grader_finder.cpython-311.pyc").write_bytes(b"")
    (site / "extra.pth").write_text(f"{root}/other\n{root}2/unrelated\n")
    (site / "sealed" / "data.txt").write_text("sealed")
    (site / "sealed").chmod(0o555)
    (root / "bin").mkdir()
    (root / "bin" / "tool").write_text(f"#!{root}/bin/python3\nprint('tool')\n")
    (root / "bin" / "tool").chmod(0o755)
    (root / "bin" / "python3").symlink_to(f"{root}/bin/python3.11")
    (root / "bin" / "python").symlink_to("python3")
    (root / "pyvenv.cfg").write_text(f"home = {root}/bin\n")
    return site


def test_a_farm_links_files_and_rewrites_those_that_name_their_folder(tmp_path: Path) -> None:
    from grader.run import farm, mounts

    root, out = tmp_path / "venv", tmp_path / "farm"
    site = _fake_installation(root)
    mapping = [(str(root), "/grader/venv")]
    farm.link_tree(root, out, lambda text: mounts._map_text(text, mapping), mounts._excluded)
    linked = out / site.relative_to(root)
    assert (linked / "pkg" / "__init__.py").stat().st_ino == \
        (site / "pkg" / "__init__.py").stat().st_ino
    assert sorted(p.name for p in linked.iterdir()) == ["__pycache__", "extra.pth", "pkg",
                                                        "sealed"]
    assert list((linked / "__pycache__").iterdir()) == []
    assert (linked / "extra.pth").read_text() == f"/grader/venv/other\n{root}2/unrelated\n"
    assert (out / "pyvenv.cfg").read_text() == "home = /grader/venv/bin\n"
    assert (out / "bin" / "tool").read_text().startswith("#!/grader/venv/bin/python3\n")
    assert (out / "bin" / "tool").stat().st_mode & 0o777 == 0o755
    assert os.readlink(out / "bin" / "python3") == "/grader/venv/bin/python3.11"
    assert os.readlink(out / "bin" / "python") == "python3"
    assert (linked / "sealed").stat().st_mode & 0o777 == 0o555
    (site / "sealed").chmod(0o755)
    (linked / "sealed").chmod(0o755)


def test_a_changed_installation_gets_a_new_farm_and_the_old_one_goes_later(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.run import mounts

    monkeypatch.setenv(mounts.CACHE_ENV, str(tmp_path / "cache"))
    root = tmp_path / "venv"
    site = _fake_installation(root)
    (site / "sealed").chmod(0o755)
    mapping = [(str(root), "/grader/venv")]
    if mounts._filesystem(str(root))[0] not in mounts.FARM_FILESYSTEMS:
        components.require(False, "the temporary folder cannot hold a hardlink farm")
    first = mounts._farm(str(root), "/grader/venv", mapping)
    assert first and mounts._farm(str(root), "/grader/venv", mapping) == first
    (site / "newpkg").mkdir()  # pip install
    second = mounts._farm(str(root), "/grader/venv", mapping)
    assert second and second != first and Path(first).is_dir()
    mounts._sweep(tmp_path / "cache", now=time.time() + 2 * mounts.KEEP_SECONDS)
    assert not Path(first).exists() and Path(second, "lib/python3.11/site-packages/newpkg").is_dir()


def test_the_runner_copy_holds_the_runner_only_and_follows_its_content(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import grader
    from grader.run import mounts

    monkeypatch.setenv(mounts.CACHE_ENV, str(tmp_path / "cache"))
    package = tmp_path / "src" / "grader"
    shutil.copytree(Path(grader.__file__).parent / "runner", package / "runner",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (package / "__init__.py").write_text("")
    (package / "exercise").mkdir()
    (package / "exercise" / "secret.py").write_text("")
    monkeypatch.setattr(mounts, "_grader_dir", lambda: str(package))
    copy = mounts.runner_copy()
    assert mounts.runner_copy() == copy
    assert sorted(p.name for p in (copy / "grader").iterdir()) == ["__init__.py",
                                                                   "__pycache__", "runner"]
    assert list((copy / "grader" / "runner" / "__pycache__").glob("contract.*.pyc"))
    (package / "runner" / "contract.py").write_text("# edited\n", encoding="utf-8")
    assert mounts.runner_copy() != copy


def test_a_v2_memory_cgroup_leaves_no_swap_to_spill_into(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """memory.max alone lets a run page past its limit into swap (issue 21): the cage also
    writes memory.swap.max 0. A folder stands in for a cgroup v2 hierarchy whose own
    cgroup (/grader) delegates memory and pids."""
    (tmp_path / "cgroup.controllers").write_text("memory pids\n")
    (tmp_path / "grader").mkdir()
    (tmp_path / "grader" / "cgroup.subtree_control").write_text("memory pids\n")
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", tmp_path)
    monkeypatch.setattr(cgroups, "_own_cgroup",
                        lambda controller: "/grader" if controller is None else None)
    cage = cgroups.MemoryCage.create(3 << 30)
    assert cage is not None and cage.v2 and cage.path is not None
    assert cage.path.parent == tmp_path / "grader"
    assert (cage.path / "memory.max").read_text() == str(3 << 30)
    assert (cage.path / "memory.swap.max").read_text() == "0"


def test_the_memory_cgroup_here_limits_swap_too() -> None:
    """On this machine's own hierarchy: v2 gets memory.swap.max 0, v1 a memory+swap limit
    equal to the memory limit, wherever the kernel keeps swap accounting (the file)."""
    components.cgroup("memory")
    limit = 300 << 20
    cage = cgroups.MemoryCage.create(limit)
    assert cage is not None and cage.path is not None
    try:
        swap_file, expected = ("memory.swap.max", 0) if cage.v2 \
            else ("memory.memsw.limit_in_bytes", limit)
        # absent: the kernel keeps no swap accounting, there is nothing to limit
        if (cage.path / swap_file).exists():
            assert int((cage.path / swap_file).read_text()) == expected
    finally:
        cage.close()


_TRY_USER_NAMESPACE = """
import ctypes, json, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
made = libc.unshare(0x10000000)  # CLONE_NEWUSER (os.unshare is Python 3.12)
error = ctypes.get_errno()
thread = threading.Thread(target=lambda: None)
thread.start()
thread.join()
child = subprocess.run(["/bin/true"]).returncode  # clone3 refused: libc falls back
print("USERNS", json.dumps({"made": made, "errno": error, "child": child}))
"""


def _userns_attempt(text: str) -> dict[str, int]:
    line = next(line for line in text.splitlines() if line.startswith("USERNS "))
    return json.loads(line.split(" ", 1)[1])  # type: ignore[no-any-return]


@needs_bubblewrap
def test_a_run_cannot_create_a_user_namespace(tmp_path: Path) -> None:
    """Without the seccomp filter an unprivileged run made a user namespace of its own (it
    is then root in there: issue 21); now unshare(CLONE_NEWUSER) fails with EPERM, while
    threads and child processes still start."""
    outcome = _run(tmp_path / "run", _TRY_USER_NAMESPACE, bubblewrap=True)
    assert outcome.status == "finished", outcome
    assert _userns_attempt(outcome.stdout_tail) == {"made": -1, "errno": 1, "child": 0}


def test_an_unknown_machine_gets_no_seccomp_filter_rather_than_a_wrong_one() -> None:
    """System call numbers differ per architecture: a filter built with another machine's
    numbers would refuse the wrong calls and let CLONE_NEWUSER through."""
    from grader.run import seccomp

    assert seccomp.program("sparc64") is None
    assert seccomp.program("x86_64") != seccomp.program("aarch64")


class _WatchesRunOut:
    """libc as grader.run.reads uses it, but inotify_add_watch fails with `error` for the
    folders named `refused`, as the kernel does once max_user_watches is spent."""

    def __init__(self, refused: str, error: int) -> None:
        import ctypes

        from grader.run import reads

        self._real, self._refused, self._error = reads._load_libc(), refused, error
        self._ctypes = ctypes
        self.inotify_init1 = self._real.inotify_init1

    def inotify_add_watch(self, fd: int, path: bytes, mask: int) -> int:
        if os.path.basename(os.fsdecode(path)) == self._refused:
            self._ctypes.set_errno(self._error)
            return -1
        return int(self._real.inotify_add_watch(fd, path, mask))


@pytest.mark.parametrize(("error", "complete"), [(errno.ENOSPC, False), (errno.ENOMEM, False),
                                                 (errno.ENOENT, True)])
def test_a_folder_inotify_will_not_watch_makes_the_reads_incomplete(
        tmp_path: Path, error: int, complete: bool) -> None:
    """Before, a failed watch (ENOSPC: out of watches; ENOMEM) was ignored: reads in
    that folder went unseen while the watch said it was complete, and an honest training
    could be judged as epochs that read no image. Now the watch is incomplete, which the
    evidence turns into a review (tests/test_evidence_graded_fit.py). A folder that was
    gone before it could be watched (ENOENT) held nothing to read."""
    from grader.run.reads import ImageReads

    happy = tmp_path / "tmp" / "data" / "happy"
    happy.mkdir(parents=True)
    (happy / "a.png").write_bytes(b"\x89PNG fake")
    watcher = ImageReads(tmp_path, time.monotonic())
    watcher._libc = _WatchesRunOut("happy", error)  # type: ignore[assignment]
    watcher.start()
    (happy / "a.png").read_bytes()
    (tmp_path / "tmp" / "b.png").write_bytes(b"x")
    (tmp_path / "tmp" / "b.png").read_bytes()  # a watched folder: seen
    found = watcher.stop()
    assert [path for _, path in found.opens] == ["tmp/b.png"]
    assert found.available and found.complete is complete
    if not complete:
        assert len(found.problems) == 1 and "could not be watched" in found.problems[0]
        assert ("max_user_watches" in found.problems[0]) is (error == errno.ENOSPC)


def test_a_warm_run_cannot_create_a_user_namespace_either(
        tmp_path: Path, spec: object, data: object) -> None:
    """A warm run is a fork of the zygote, not a child of bwrap: the zygote is started
    under the filter, so its forks keep it."""
    from grader import grade
    from grader.run import warm

    components.bubblewrap()
    reason = warm.disabled_reason()
    components.require(not reason, f"warm runs are not available here: {reason}")
    submission = tmp_path / "userns.py"
    submission.write_text(_TRY_USER_NAMESPACE)
    result = grade.grade_file(submission, spec, data, grade.GradeOptions())
    assert result.details["run_start"] == "warm", result.details
    assert _userns_attempt(result.stdout_tail) == {"made": -1, "errno": 1, "child": 0}
