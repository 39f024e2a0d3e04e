"""Run one submission inside the sandbox: notebook cells in an IPython kernel, or a module.

Writes artefacts/execution.json (which cells ran, the first error, whether the run reached
its end); the probe in the same run writes trace.json and model.keras. Cell outputs are
echoed to stdout so the trusted side captures one stream for notebooks and modules alike.
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


def _write_execution(config: dict[str, Any], execution: dict[str, Any]) -> None:
    path = Path(config["artefacts"]) / "execution.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(execution, default=repr))
    os.replace(tmp, path)


def _error_summary(ename: str, evalue: str, cell_index: int | None) -> dict[str, Any]:
    return {"cell_index": cell_index, "ename": ename[:200], "evalue": evalue[:1000]}


def run_module(config_path: str) -> dict[str, Any]:
    from grader.runner import bootstrap
    from grader.runner.rewrite import transform

    config = bootstrap.load_config(config_path)
    execution: dict[str, Any] = {"kind": "module", "ran_to_end": False, "error": None,
                                 "kernel_died": False, "code_cells": 1, "cells_run": 0}
    _write_execution(config, execution)
    path = config["submission"]
    source = Path(path).read_bytes()
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": path,
                                 "__builtins__": __builtins__}
    try:
        tree = transform(ast.parse(source, filename=path), config.get("entry_function"),
                         config.get("tmp_remap"))
        code = compile(tree, path, "exec")
    except (SyntaxError, ValueError) as exc:
        traceback.print_exc(limit=0)
        execution["error"] = _error_summary(type(exc).__name__, str(exc),
                                            getattr(exc, "lineno", None))
        _write_execution(config, execution)
        return execution
    bootstrap.install(config_path)
    sys.argv = [path]
    sys.path.insert(0, str(Path(path).parent))
    try:
        execution["cells_run"] = 1
        exec(code, namespace)  # noqa: S102 - running the submission is this module's job
        execution["ran_to_end"] = True
    except SystemExit as exc:
        execution["ran_to_end"] = exc.code in (None, 0)
        if not execution["ran_to_end"]:
            execution["error"] = _error_summary("SystemExit", str(exc.code), None)
    except BaseException as exc:  # noqa: BLE001 - the student's error is graded, not fatal
        traceback.print_exc()
        execution["error"] = _error_summary(type(exc).__name__, str(exc), None)
    _write_execution(config, execution)
    if execution["ran_to_end"]:
        bootstrap.finalize(namespace, config_path)
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


def run_notebook(config_path: str) -> dict[str, Any]:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    # The driver never imports TensorFlow (bootstrap does): only the kernel needs it.
    config = json.loads(Path(config_path).read_text())
    notebook = nbformat.read(config["submission"], as_version=4)
    code_cells = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"
                  and c.source.strip()]
    execution: dict[str, Any] = {"kind": "notebook", "ran_to_end": False, "error": None,
                                 "kernel_died": False, "code_cells": len(code_cells),
                                 "cells_run": 0}
    _write_execution(config, execution)
    client = NotebookClient(notebook, timeout=None, startup_timeout=120,
                            kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": config["workdir"]}})
    quoted = json.dumps(config_path)
    setup = nbformat.v4.new_code_cell(
        f"import grader.runner.bootstrap as __grader_bootstrap__\n"
        f"__grader_bootstrap__.install_in_kernel({quoted})")
    finish = nbformat.v4.new_code_cell(
        f"__grader_bootstrap__.finalize(get_ipython().user_ns, {quoted})")
    # nbclient stores each executed cell back at its index: give ours their own slots.
    notebook.cells += [setup, finish]
    setup_index, finish_index = len(notebook.cells) - 2, len(notebook.cells) - 1
    with client.setup_kernel(cwd=config["workdir"]):
        try:
            client.execute_cell(setup, setup_index)
        except CellExecutionError as exc:
            raise RuntimeError(f"grader bootstrap failed in the kernel: {exc}") from None
        for position, index in enumerate(code_cells):
            cell = notebook.cells[index]
            started = time.monotonic()
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as exc:
                _echo_outputs(cell)
                execution["cells_run"] += 1
                # numbered as the student counts: code cells, from 1
                execution["error"] = _error_summary(exc.ename or "Error", exc.evalue or "",
                                                    position + 1)
                break
            except DeadKernelError:
                _echo_outputs(cell)
                execution["cells_run"] += 1
                execution["kernel_died"] = True
                execution["kernel_died_in_cell"] = position + 1
                # The lessons end with a cell that SIGKILLs its own kernel: that is the end.
                execution["ran_to_end"] = position == len(code_cells) - 1
                if not execution["ran_to_end"]:
                    execution["error"] = _error_summary(
                        "DeadKernelError", "the kernel died while running this cell",
                        position + 1)
                break
            execution["cells_run"] += 1
            execution.setdefault("cell_seconds", []).append(round(time.monotonic()
                                                                   - started, 3))
            _echo_outputs(cell)
            _write_execution(config, execution)
        else:
            execution["ran_to_end"] = True
        _write_execution(config, execution)
        if execution["ran_to_end"] and not execution["kernel_died"]:
            try:
                client.execute_cell(finish, finish_index)
            except (CellExecutionError, DeadKernelError) as exc:
                print(f"grader: finishing step failed: {exc}", file=sys.stderr)
            _echo_outputs(finish)
    return execution
