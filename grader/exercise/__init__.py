"""Exercises: their specs (spec.py, specs/*.toml), how a notebook is recognised as one
(detect.py, choose.py), and the data they are graded on (datasource.py, datasets/)."""

from grader.exercise.spec import (
    EXERCISES_DIR,
    DetectRules,
    Download,
    ExerciseSpec,
    ReferenceLayer,
    RubricItem,
    available,
    load,
)

__all__ = ["EXERCISES_DIR", "DetectRules", "Download", "ExerciseSpec", "ReferenceLayer",
           "RubricItem", "available", "load"]
