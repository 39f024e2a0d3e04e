"""compare_class and compare_source: a class compared, with templates and collections."""


from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from grader.similarity.compare import Pair
from grader.similarity.compare import compare as _compare
from grader.similarity.material import find_course_material
from grader.similarity.result import SimilarityResult
from grader.similarity.settings import Settings
from grader.similarity.sources import (
    Loaded,
    SourceError,
    exercise_title,
    load_class,
    load_collection,
    load_entries,
    load_templates,
)

__all__ = ["Pair", "Settings", "SimilarityResult", "SourceError", "compare_class",
           "compare_source"]


def compare_class(entries: list[tuple[str, Path]], *, templates: list[Path],
                  against: list[Path], threshold: float | None = None,
                  settings: Settings | None = None, exercise: str | None = None,
                  course_material: Path | None = None,
                  material_names: tuple[str, ...] = ()) -> SimilarityResult:
    """Compare a class given as (student id, file) pairs, as the batch has found them.

    templates: starter notebooks handed out (removed as boilerplate); against: reference
    collections (folders or files; matched, never graded); threshold: flag at this score
    (default Settings().threshold); course_material: a folder whose every .ipynb and .py
    is removed like a template, material_names the files the exercise spec says it
    should hold (those it lacks are a warning). A file that cannot be read is in
    `.problems`; a template, collection or material folder that cannot be read raises
    SourceError."""
    return _run(load_entries(entries), templates, against, threshold, settings, exercise,
                course_material, material_names)


def compare_source(source: Path, *, roster: Path | None = None,
                   templates: list[Path] | None = None, against: list[Path] | None = None,
                   threshold: float | None = None, settings: Settings | None = None,
                   exercise: str | None = None, course_material: Path | None = None,
                   material_names: tuple[str, ...] = ()) -> SimilarityResult:
    """Compare a class given as any layout `grader batch` takes (folder, student folders,
    zip, LMS download with a roster). SourceError when the source cannot be read."""
    return _run(load_class(source, roster), list(templates or []), list(against or []),
                threshold, settings, exercise, course_material, material_names)


def _run(loaded: Loaded, templates: list[Path], against: list[Path],
         threshold: float | None, settings: Settings | None, exercise: str | None,
         course_material: Path | None, material_names: tuple[str, ...]) -> SimilarityResult:
    settings = settings or Settings()
    if threshold is not None:
        settings = replace(settings, threshold=threshold)
    title = exercise_title(exercise) if exercise else None
    material_warnings: list[str] = []
    material_files: list[str] = []
    if course_material is not None:
        material = find_course_material(course_material, material_names)
        templates = [*templates, *material.files]
        material_files = [p.relative_to(course_material).as_posix() for p in material.files]
        material_warnings = [w for w in [material.warning()] if w]
        if not material.files:
            material_warnings.append(f"course material {course_material.name}: no .ipynb "
                                     "or .py file in the folder")
    template_sources = load_templates(templates)
    references = Loaded()
    collections: list[tuple[str, int]] = []
    for folder in against:
        collection = load_collection(folder)
        collections.append((folder.name, len(collection.sources)))
        references.extend(collection)
    warnings = material_warnings + loaded.warnings + references.warnings
    if not loaded.sources:
        warnings.append("no readable submission: nothing to compare")
    elif len(loaded.sources) == 1 and not references.sources:
        warnings.append("a single submission and no reference collection: nothing to "
                        "compare it with")
    comparison = _compare(loaded.sources, references.sources, template_sources, settings,
                          material_given=course_material is not None)
    return SimilarityResult(comparison, exercise, title, collections,
                            loaded.problems + references.problems, warnings, material_files)
