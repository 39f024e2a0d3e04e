"""Every installed exercise spec loads, and the keys added for the other exercises of the
week (validation zips, stub modules, long epochs, detection) are validated in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import exercise

HOS = (exercise.EXERCISES_DIR / "happy_or_sad.toml").read_text()
HOH = (exercise.EXERCISES_DIR / "horse_or_human_validation.toml").read_text()


@pytest.mark.parametrize("name", sorted(exercise.available()))
def test_installed_spec_loads_with_100_points(name: str) -> None:
    spec = exercise.load(name)
    assert spec.name == name and spec.max_score == 100
    assert spec.detect.requires, "every installed exercise can be detected"


def test_horse_or_human_stages_both_course_zips() -> None:
    spec = exercise.load("horse-or-human-validation")
    assert spec.classes == ("horses", "humans")
    assert "/tmp/horse-or-human.zip" in spec.zip_paths
    assert spec.validation_zip_paths == ("/tmp/validation-horse-or-human.zip",)
    assert spec.validation_extracted_paths == ("/tmp/validation-horse-or-human",)
    files = {d.url.rsplit("/", 1)[1]: d.file for d in spec.downloads if d.url}
    assert files == {"horse-or-human.zip": "horse-or-human.zip",
                     "validation-horse-or-human.zip": "validation-horse-or-human.zip"}
    assert spec.long_epochs == "one_pass"


def test_the_2024_spec_stubs_the_course_unittests_module() -> None:
    assert exercise.load("happy-or-sad-2024").stub_modules == ("unittests",)


@pytest.mark.parametrize(("text", "edit", "message"), [
    (HOH, lambda s: s.replace('long_epochs = "one_pass"', 'long_epochs = "forever"'),
     "'long_epochs' must be"),
    (HOH, lambda s: s.replace('validation_zip_name = "validation-horse-or-human.zip"\n', ""),
     "validation paths need [data] 'validation_zip_name'"),
    (HOS, lambda s: s.replace('returns = "final_training_accuracy"', 'returns = "loss"'),
     "'returns' must be"),
    (HOS, lambda s: s.replace('requires = ["\\\\bhappy', 'requires = ["(happy'),
     "bad regular expression"),
    (HOS, lambda s: s.replace('[exercise]', '[exercise]', 1).replace(
        'extracted_paths = ["/tmp/h-or-s", "./h-or-s", "./data"]',
        'extracted_paths = ["/tmp/h-or-s"]\nstub_modules = ["../evil"]'),
     "'stub_modules' must be a list of module names"),
])
def test_bad_new_keys_are_refused(tmp_path: Path, text: str, edit, message: str  # noqa: ANN001
                                  ) -> None:
    path = tmp_path / "bad.toml"
    edited = edit(text)
    assert edited != text
    path.write_text(edited)
    with pytest.raises(exercise.SpecError, match=None) as caught:
        exercise.load(path)
    assert message in str(caught.value)
