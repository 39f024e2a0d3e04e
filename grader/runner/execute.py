"""Run one submission inside the sandbox: notebook cells in an IPython shell, or a module.

Records which cells ran, the first error and whether the run reached its end — sent on
the event stream as it happens (runner/events.py, root "execution") and written to
artefacts/execution.json; the probe in the same run records the trace and saves
model.keras. Cell outputs are echoed to stdout so the trusted side captures one stream for
notebooks and modules alike.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from grader.runner import events
from grader.runner.contract import EVENTS_FD_ENV, EXECUTION_FILE, EXECUTION_ROOT, RunConfig
from grader.runner.shell import TRUNCATION_MARKER, DeadShell, ShellClient


def _new_execution(kind: str, code_cells: int, executor: str | None = None) -> Any:
    return events.root(EXECUTION_ROOT, {
        "kind": kind, "ran_to_end": False, "error": None, "kernel_died": False,
        "kernel_died_in_cell": None, "code_cells": code_cells, "executor": executor,
        "cells": [],  # one record per code cell run: {"cell": n, "ok": …, "seconds": …}
    })


def _write_execution(config: RunConfig, execution: dict[str, Any]) -> None:
    path = config.artefacts_dir / EXECUTION_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(execution, default=repr))
    os.replace(tmp, path)


def _error_summary(ename: str, evalue: str, cell_index: int | None) -> dict[str, Any]:
    return {"cell_index": cell_index, "ename": ename[:200], "evalue": evalue[:1000]}


def run_module(config: RunConfig, config_path: str) -> dict[str, Any]:
    from grader.runner import bootstrap
    from grader.runner.rewrite import transform

    execution = _new_execution("module", 1)
    _write_execution(config, execution)
    path = config.submission
    source = Path(path).read_bytes()
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": path,
                                 "__builtins__": __builtins__}
    try:
        tree = transform(ast.parse(source, filename=path), config.entry_function,
                         config.tmp_remap)
        code = compile(tree, path, "exec")
    except (SyntaxError, ValueError) as exc:
        traceback.print_exc(limit=0)
        execution["error"] = _error_summary(type(exc).__name__, str(exc),
                                            getattr(exc, "lineno", None))
        _write_execution(config, execution)
        return execution
    bootstrap.install(config)
    sys.argv = [path]
    sys.path.insert(0, str(Path(path).parent))
    cell = execution["cells"].add({"cell": 1, "ok": None, "seconds": None})
    started = time.monotonic()
    try:
        exec(code, namespace)  # noqa: S102 - running the submission is this module's job
        execution["ran_to_end"] = True
    except SystemExit as exc:
        execution["ran_to_end"] = exc.code in (None, 0)
        if not execution["ran_to_end"]:
            execution["error"] = _error_summary("SystemExit", str(exc.code), None)
    except BaseException as exc:  # noqa: BLE001 - the student's error is graded, not fatal
        traceback.print_exc()
        execution["error"] = _error_summary(type(exc).__name__, str(exc), None)
    cell["ok"], cell["seconds"] = execution["ran_to_end"], round(time.monotonic() - started, 3)
    _write_execution(config, execution)
    if execution["ran_to_end"]:
        bootstrap.finalize(namespace)
    sys.stdout.flush()
    return execution


def _echo_outputs(cell: Any) -> None:
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            stream = sys.stderr if output.get("name") == "stderr" else sys.stdout
            stream.write(output.get("text", ""))
        elif kind == "error":
            sys.stdout.write("\n".join(output.get("traceback", [])) + "\n")
        elif kind in ("execute_result", "display_data"):
            text = output.get("data", {}).get("text/plain")
            if text:
                sys.stdout.write(str(text) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()


def _capped_client_class() -> Any:
    """NotebookClient that stops storing cell outputs past a byte budget for the whole run.

    nbclient keeps every output message in memory; a cell printing without end would
    grow the driver until the memory limit killed it, and the echoed stream would carry
    megabytes. Past the budget one visible marker is stored and the rest is dropped.
    """
    from nbclient import NotebookClient
    from nbformat.v4 import new_output

    class CappedClient(NotebookClient):  # type: ignore[misc]
        output_limit_bytes = 1024 * 1024
        output_bytes = 0
        truncated = False

        def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None,
                   cell_index: int) -> Any:
            if msg.get("msg_type") in ("stream", "display_data", "execute_result", "error"):
                self.output_bytes += len(json.dumps(msg.get("content", {}), default=repr))
                if self.output_bytes > self.output_limit_bytes:
                    if not self.truncated:
                        self.truncated = True
                        marker = TRUNCATION_MARKER.format(limit=self.output_limit_bytes)
                        outs.append(new_output("stream", name="stdout", text=marker))
                    return None
            return super().output(outs, msg, display_id, cell_index)

    return CappedClient


class _KernelCells:
    """Cells in a Jupyter kernel through nbclient (the `executor = "kernel"` path)."""

    def __init__(self, notebook: Any, config: RunConfig, config_path: str) -> None:
        import nbformat

        self.notebook = notebook
        self.client = _capped_client_class()(
            notebook, timeout=None, startup_timeout=120, kernel_name="python3",
            allow_errors=False, resources={"metadata": {"path": config.workdir}})
        self.client.output_limit_bytes = config.output_limit_bytes
        quoted = json.dumps(config_path)
        setup = nbformat.v4.new_code_cell(
            f"import grader.runner.bootstrap as __grader_bootstrap__\n"
            f"__grader_bootstrap__.install_in_kernel({quoted})")
        self.finish_cell = nbformat.v4.new_code_cell(
            "__grader_bootstrap__.finalize(get_ipython().user_ns)")
        # nbclient stores each executed cell back at its index: give ours their own slots.
        notebook.cells += [setup, self.finish_cell]
        self.setup_index, self.finish_index = len(notebook.cells) - 2, len(notebook.cells) - 1
        self.workdir = config.workdir

    def __enter__(self) -> _KernelCells:
        from nbclient.exceptions import CellExecutionError

        events_fd = os.environ.get(EVENTS_FD_ENV, "")  # the kernel records the trace
        self._context = self.client.setup_kernel(
            cwd=self.workdir, pass_fds=(int(events_fd),) if events_fd.isdigit() else ())
        self._context.__enter__()
        try:
            self.client.execute_cell(self.notebook.cells[self.setup_index], self.setup_index)
        except CellExecutionError as exc:
            raise RuntimeError(f"grader bootstrap failed in the kernel: {exc}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._context.__exit__(*exc)

    def run(self, index: int) -> dict[str, Any]:
        from nbclient.exceptions import CellExecutionError, DeadKernelError

        cell = self.notebook.cells[index]
        try:
            self.client.execute_cell(cell, index)
            return {"ok": True}
        except CellExecutionError as exc:
            return {"ok": False, "ename": exc.ename or "Error", "evalue": exc.evalue or ""}
        except DeadKernelError:
            raise DeadShell("the kernel died") from None
        finally:
            _echo_outputs(cell)

    def finish(self) -> None:
        from nbclient.exceptions import CellExecutionError, DeadKernelError

        try:
            self.client.execute_cell(self.finish_cell, self.finish_index)
        except (CellExecutionError, DeadKernelError) as exc:
            print(f"grader: finishing step failed: {exc}", file=sys.stderr)
        _echo_outputs(self.finish_cell)


class _ShellCells:
    """Cells in an IPython shell in a child process (the default: no kernel start-up)."""

    def __init__(self, notebook: Any, config: RunConfig, config_path: str) -> None:
        self.notebook, self.config_path, self.workdir = notebook, config_path, config.workdir

    def __enter__(self) -> _ShellCells:
        self.shell = ShellClient(self.config_path, self.workdir)
        quoted = json.dumps(self.config_path)
        reply = self.shell.run(f"import grader.runner.bootstrap as __grader_bootstrap__\n"
                               f"__grader_bootstrap__.install_in_kernel({quoted})")
        if not reply["ok"]:
            raise RuntimeError(f"grader bootstrap failed in the shell: {reply}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.shell.close()

    def run(self, index: int) -> dict[str, Any]:
        return self.shell.run(self.notebook.cells[index].source)

    def finish(self) -> None:
        try:
            reply = self.shell.run("__grader_bootstrap__.finalize(get_ipython().user_ns)")
        except DeadShell as exc:
            reply = {"ok": False, "evalue": str(exc)}
        if not reply["ok"]:
            print(f"grader: finishing step failed: {reply.get('evalue')}", file=sys.stderr)


def run_notebook(config: RunConfig, config_path: str) -> dict[str, Any]:
    import nbformat

    # The driver never imports TensorFlow (bootstrap does): only the kernel needs it.
    notebook = nbformat.read(config.submission, as_version=4)
    code_cells = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"
                  and c.source.strip()]
    execution = _new_execution("notebook", len(code_cells), config.executor)
    _write_execution(config, execution)
    cells_class = _KernelCells if execution["executor"] == "kernel" else _ShellCells
    with cells_class(notebook, config, config_path) as cells:
        for position, index in enumerate(code_cells):
            started = time.monotonic()
            try:
                reply = cells.run(index)
            except DeadShell:
                execution["cells"].add({"cell": position + 1, "ok": False, "seconds": None})
                execution["kernel_died"] = True
                execution["kernel_died_in_cell"] = position + 1
                # The lessons end with a cell that SIGKILLs its own kernel: that is the end.
                execution["ran_to_end"] = position == len(code_cells) - 1
                if not execution["ran_to_end"]:
                    execution["error"] = _error_summary(
                        "DeadKernelError", "the kernel died while running this cell",
                        position + 1)
                break
            execution["cells"].add({"cell": position + 1, "ok": bool(reply["ok"]),
                                    "seconds": round(time.monotonic() - started, 3)})
            if not reply["ok"]:
                # numbered as the student counts: code cells, from 1
                execution["error"] = _error_summary(reply.get("ename", "Error"),
                                                    reply.get("evalue", ""), position + 1)
                break
            _write_execution(config, execution)
        else:
            execution["ran_to_end"] = True
        _write_execution(config, execution)
        if execution["ran_to_end"] and not execution["kernel_died"]:
            cells.finish()
    return execution
