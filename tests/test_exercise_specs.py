"""Every installed exercise spec loads, and the keys added for the other exercises of the
week (validation zips, stub modules, long epochs, detection) are validated in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import exercise
from grader.errors import SpecError

HOS = (exercise.EXERCISES_DIR / "happy_or_sad.toml").read_text()
HOH = (exercise.EXERCISES_DIR / "horse_or_human.toml").read_text()


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
     "[training] long_epochs: input should be 'repeat' or 'one_pass' (got 'forever')"),
    (HOH, lambda s: s.replace('validation_zip_name = "validation-horse-or-human.zip"\n', ""),
     "validation paths need [data] 'validation_zip_name'"),
    (HOS, lambda s: s.replace('required = false ', 'returns = "loss"\nrequired = false '),
     "[entry_point] returns: unknown key"),
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
    with pytest.raises(SpecError, match=None) as caught:
        exercise.load(path)
    assert message in str(caught.value)


# --- extends: a course version states only what differs ------------------------------------


def test_the_2022_spec_is_the_base_with_returns_history_in_place_of_returns_accuracy() -> None:
    base, v2022 = exercise.load("happy-or-sad"), exercise.load("happy-or-sad-2022")
    assert [i.id for i in v2022.rubric] == [
        "returns_history" if i.id == "returns_accuracy" else i.id for i in base.rubric]
    assert (v2022.entry_function, v2022.entry_required) == ("train_happy_sad_model", True)
    assert v2022.zip_paths == base.zip_paths and v2022.downloads == base.downloads
    assert v2022.reference_layers == base.reference_layers
    assert v2022.detect.requires != base.detect.requires and not v2022.detect.excludes


def test_the_2024_spec_drops_what_its_notebook_does_not_have() -> None:
    v2024 = exercise.load("happy-or-sad-2024")
    assert [i.id for i in v2024.rubric] == [
        "runs", "input_shape", "output_layer", "conv_layers", "loss", "dataset_directory",
        "dataset_image_size", "dataset_label_mode", "dataset_rescaling", "callback_stop",
        "hidden_accuracy"]
    assert v2024.entry_function is None


def test_lesson_4_inherits_lesson_3s_validation_checks() -> None:
    lesson3, lesson4 = (exercise.load("horse-or-human-validation"),
                        exercise.load("horse-or-human-150"))
    assert [i.id for i in lesson4.rubric] == [i.id for i in lesson3.rubric]
    assert lesson4.rubric_item("input_shape").params == {"expected": [150, 150, 3]}
    assert lesson4.rubric_item("validation_accuracy") == lesson3.rubric_item(
        "validation_accuracy")
    assert (lesson3.time_seconds, lesson4.time_seconds) == (900, 600)


def _child(tmp_path: Path, text: str, parent: str = HOS) -> Path:
    (tmp_path / "parent.toml").write_text(parent)
    path = tmp_path / "child.toml"
    path.write_text('extends = "parent.toml"\n' + text)
    return path


NAMED = '[exercise]\nname = "child"\ntitle = "Child"\n'


@pytest.mark.parametrize(("text", "message"), [
    ('[exercise]\nname = "child"\n', "gives its own \\[exercise\\] name and title"),
    (NAMED + '[[rubric]]\nid = "x"\nreplaces = "no_such"\npoints = 1\n',
     "'no_such' cannot be replaced"),
    (NAMED + '[rubric_changes]\nremove = ["no_such"]\n', "cannot remove 'no_such'"),
])
def test_bad_extensions_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        exercise.load(_child(tmp_path, text))


def test_a_circle_of_extends_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n' + NAMED)
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n' + NAMED)
    with pytest.raises(SpecError, match="circle"):
        exercise.load(tmp_path / "a.toml")


def test_a_missing_parent_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "child.toml"
    path.write_text('extends = "nowhere.toml"\n' + NAMED)
    with pytest.raises(SpecError, match="cannot read exercise spec .*nowhere.toml"):
        exercise.load(path)


def test_the_spec_hash_covers_the_parent(tmp_path: Path) -> None:
    child = _child(tmp_path, NAMED)
    before = exercise.load(child).spec_hash
    (tmp_path / "parent.toml").write_text(HOS.replace("epoch_limit = 15", "epoch_limit = 20"))
    after = exercise.load(child)
    assert after.epoch_limit == 20 and after.spec_hash != before
