"""Prepare a Python process to run student code: determinism, compat shims, probe hooks.

Runs before any student code, in the process that will run it (the IPython kernel for a
notebook, the runner itself for a module). Threads are fixed before TensorFlow starts its
runtime, which is why TensorFlow is imported here and not lazily.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import types
from pathlib import Path
from typing import Any

from grader.runner import compat, entry, probe
from grader.runner.contract import TRACE_FILE, RunConfig
from grader.runner.recorder import Recorder, current
from grader.runner.recorder import install as install_recorder
from grader.runner.rewrite import transform

CONFIG: RunConfig | None = None  # this process's run config, parsed once by install()


def install(config: RunConfig) -> RunConfig:
    global CONFIG
    CONFIG = config
    recorder = Recorder(config.artefacts_dir / TRACE_FILE, config.tmp_remap)
    install_recorder(recorder)
    recorder.flush()

    import keras
    import tensorflow as tf  # noqa: F401 - must happen before threads are configured

    tf.config.threading.set_intra_op_parallelism_threads(config.intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(config.inter_op_threads)
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()

    for module in ("keras._tf_keras.keras.preprocessing.image", "keras.preprocessing.image"):
        with contextlib.suppress(ImportError):
            __import__(module)
    compat.install()
    probe.install(config.long_epochs)
    entry.install()
    _serve_downloads(config)
    _google_colab_stand_in()
    return config


def _serve_downloads(config: RunConfig) -> None:
    """urllib.request.urlretrieve of a known course address copies the local file."""
    import urllib.error
    import urllib.request

    from grader.runner.fetch import resolve

    original = urllib.request.urlretrieve

    def urlretrieve(url: str, filename: Any = None, reporthook: Any = None,
                    data: Any = None) -> Any:
        local = resolve(str(url), config.downloads)
        if local is None:
            raise urllib.error.URLError(f"the grader runs without network; {url} is not a "
                                        "known course data address")
        if filename is None:
            return original(Path(local).as_uri(), None, reporthook, data)
        shutil.copyfile(local, filename)
        current().note(f"urlretrieve({url}) served from the grader's local copy")
        return str(filename), {}

    urllib.request.urlretrieve = urlretrieve
    try:
        from keras.src.utils import file_utils

        if hasattr(file_utils, "urlretrieve"):
            file_utils.urlretrieve = urlretrieve
    except ImportError:
        pass


def _google_colab_stand_in() -> None:
    """`from google.colab import files; files.upload()` uploads nothing, as in a batch run."""

    def upload(*args: Any, **kwargs: Any) -> dict[str, bytes]:
        current().note("google.colab files.upload() → nothing uploaded (batch grading)")
        return {}

    def download(*args: Any, **kwargs: Any) -> None:
        current().note("google.colab files.download() ignored (batch grading)")

    colab = types.ModuleType("google.colab")
    files = types.ModuleType("google.colab.files")
    files.upload = upload  # type: ignore[attr-defined]
    files.download = download  # type: ignore[attr-defined]
    colab.files = files  # type: ignore[attr-defined]
    drive = types.ModuleType("google.colab.drive")
    drive.mount = lambda *a, **k: current().note("google.colab drive.mount() ignored")  # type: ignore[attr-defined]
    colab.drive = drive  # type: ignore[attr-defined]
    sys.modules["google.colab"] = colab
    sys.modules["google.colab.files"] = files
    sys.modules["google.colab.drive"] = drive
    try:
        import google

        google.colab = colab  # type: ignore[attr-defined]
    except ImportError:
        pass


class IPythonRewriter:
    """IPython AST transformer hook: the same source rewrites for every notebook cell."""

    def __init__(self, entry_function: str | None, tmp_remap: str | None) -> None:
        self.entry_function = entry_function
        self.tmp_remap = tmp_remap

    def visit(self, tree: Any) -> Any:
        return transform(tree, self.entry_function, self.tmp_remap)


def install_in_kernel(config_path: str) -> None:
    """Called in the notebook's kernel by the runner's first, hidden cell."""
    config = install(RunConfig.load(config_path))
    from IPython import get_ipython

    shell = get_ipython()
    shell.ast_transformers.append(IPythonRewriter(config.entry_function, config.tmp_remap))


def finalize(namespace: dict[str, Any]) -> None:
    """After the last cell: call the entry point if it was never called, flush the trace."""
    entry.call_if_uncalled(namespace, CONFIG.entry_function if CONFIG else None)
    current().flush()
