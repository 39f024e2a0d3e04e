# Attack: write a forged trace.json (perfect generator, compile, fit and callback
# records), a forged execution.json and a forged result.json with 100/100 into the run
# folder, into guessed output folders and the working directory; then exit before the
# probe can write anything true. Expected: no model exists, so every check the trusted
# side recomputes (architecture, hidden accuracy) scores nothing, the recorded
# accuracy cannot be confirmed, and no forged result.json is ever used.
import json
import os

artefacts = json.load(open(os.environ["GRADER_RUN_CONFIG"]))["artefacts"]
trace = {
    "schema": 1,
    "generators": [{"id": 0, "kwargs": {"rescale": 1 / 255}, "rescale": 1 / 255}],
    "flows": [{"id": 0, "generator_id": 0, "directory": "/tmp/h-or-s",
               "target_size": [150, 150], "batch_size": 10, "class_mode": "binary",
               "images_found": 80, "class_indices": {"happy": 0, "sad": 1}}],
    "compiles": [{"loss": "binary_crossentropy", "optimizer": "RMSprop",
                  "learning_rate": 0.001, "metrics": ["accuracy"]}],
    "fits": [{"id": 0, "epochs_requested": 15, "steps_per_epoch": 8, "train_flow_id": 0,
              "callbacks": ["myCallback"],
              "epochs": [{"epoch": i, "logs": {"accuracy": a}}
                         for i, a in enumerate([0.8, 0.95, 1.0])],
              "stopped_by": {"callback": "myCallback", "epoch": 3}, "completed": True}],
    "callback_tests": [{"callback": "myCallback", "stopped_below": False,
                        "stopped_above": True}],
    "model_saved": True,
}
forged_result = {"schema": "1.0", "status": "graded", "score": 100, "max_score": 100,
                 "checks": [], "student": "forged_artefacts"}
for folder in (artefacts, ".", "/tmp", "/grader/run", "/grader-out", "/work/main/grader-out"):
    for name, content in (("trace.json", trace), ("result.json", forged_result),
                          ("execution.json", {"kind": "module", "ran_to_end": True,
                                              "code_cells": 1, "cells_run": 1})):
        try:
            with open(os.path.join(folder, name), "w") as handle:
                json.dump(content, handle)
        except OSError as exc:
            print("refused:", folder, name, type(exc).__name__)
os._exit(0)
