"""The contract between the trusted side and the runner: the run config, and the names of
what a run leaves behind.

Why here, in the untrusted package: the runner may import nothing from the trusted side,
while the trusted side may import this module. So the one definition both sides read
lives on the runner's side of the line; `grader.run.stage` writes a RunConfig, the
runner parses it exactly once (`RunConfig.load`), and `grader.run.trace` reads the
artefacts by the names below.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

CONFIG_ENV = "GRADER_RUN_CONFIG"  # the in-run path of config.json
EVENTS_FD_ENV = "GRADER_EVENTS_FD"  # the descriptor of the event pipe (runner/events.py)
CONFIG_FILE = "config.json"
TRACE_FILE = "trace.json"  # what the probe recorded (trace sections below)
EXECUTION_FILE = "execution.json"  # what the driver recorded (cells run, first error)
MODEL_FILE = "model.keras"  # the trained model, saved at the end of every fit

# The sections of trace.json, each a list of records appended as the run goes (or, for
# the scalars, a value set once); grader.run.trace reads each by this name.
GENERATORS, FLOWS, DATASETS, RESCALINGS = "generators", "flows", "datasets", "rescalings"
COMPILES, FITS = "compiles", "fits"
INFERENCES = "inferences"  # each evaluate/predict call: its reads are not training
# training outside any fit's own loop: train_on_batch, a fit started inside another fit's
# callback; one record per kind and place ({"call", "after_fit", "inside_fit"})
OUTSIDE_FIT = "outside_fit"
ENTRY_POINTS, COMPAT_NOTES = "entry_points", "compat_notes"
MODEL_SAVED, MODEL_ERROR = "model_saved", "model_error"
# The roots of the event stream (runner/events.py): the probe's trace and the driver's
# account of the cells (execution.json).
TRACE_ROOT, EXECUTION_ROOT = "trace", "execution"

LONG_EPOCHS = ("repeat", "one_pass")  # steps_per_epoch beyond one pass over the data


@dataclass(frozen=True)
class Downloads:
    """Known course download addresses, each served from a local copy (in-run paths)."""

    urls: dict[str, str] = field(default_factory=dict)
    gdown_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunConfig:
    submission: str  # in-run path of the submitted file
    kind: str  # "notebook" | "module"
    workdir: str
    artefacts: str  # in-run folder of trace.json, execution.json, model.keras
    seed: int
    intra_op_threads: int
    inter_op_threads: int
    entry_function: str | None
    downloads: Downloads
    tmp_remap: str | None  # without a sandbox: where '/tmp/…' literals are pointed
    output_limit_bytes: int
    long_epochs: str = "repeat"
    executor: str = "shell"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        raw: dict[str, Any] = json.loads(text)
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in raw.items() if key in known}
        values["downloads"] = Downloads(**raw.get("downloads", {}))
        return cls(**values)

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        return cls.from_json(Path(path).read_text())

    @property
    def artefacts_dir(self) -> Path:
        return Path(self.artefacts)
