"""Issue 19: each check judges what produced the graded model, and "corroborated" only
where the evidence could have seen a lie. Graded for real, in the sandbox, two at a time:

- decoy_flow_arrays: a flow_from_directory with the rubric's arguments, never iterated,
  while the fit trains on arrays — the generator checks must not be corroborated by the
  decoy, and epochs on an array cannot be corroborated by reads;
- decoy_train_on_batch: training by train_on_batch after the graded fit, on batches
  drawn before it — the training and callback claims go to review;
- blind_dataset_cache: a cached tf.data pipeline reads the images in epoch 1 only — the
  later epochs could not be seen: review, not "corroborated";
- decoy_compile: the graded model compiled with 'mse', then a throw-away model compiled
  with the rubric's loss — the loss judged is the saved model's, read from its file;
- honest: the control, corroborated and never sent to review.

Points are kept where the evidence is only blind (review), so each attack's score is
asserted unchanged and its review list is what is new.
"""

from __future__ import annotations

from pathlib import Path

import components
import pytest

from grader.results.result import GradeResult

pytestmark = pytest.mark.slow

SUBMISSIONS = Path(__file__).parent / "submissions"
GRADED = ("honest", "decoy_flow_arrays", "decoy_train_on_batch", "blind_dataset_cache",
          "decoy_compile")
GENERATOR_CHECKS = ("generator_rescale", "generator_target_size", "generator_class_mode",
                    "generator_directory")


@pytest.fixture(scope="module")
def results(issue_19_batch: dict[str, GradeResult]) -> dict[str, GradeResult]:
    """Graded with the other attacks of issue 19 (tests/security/conftest.py)."""
    return issue_19_batch


def _check(result: GradeResult, check_id: str) -> object:
    return next(c for c in result.checks if c.id == check_id)


def test_the_honest_control_is_corroborated(results: dict[str, GradeResult]) -> None:
    honest = results["honest"]
    assert honest.review == [] and honest.score == honest.max_score


def test_a_decoy_flow_does_not_corroborate_the_generator_checks(
        results: dict[str, GradeResult]) -> None:
    result = results["decoy_flow_arrays"]
    for check_id in GENERATOR_CHECKS:
        check = _check(result, check_id)
        assert check.trust == "review", (check_id, check.trust, check.message)
    assert any("trained on an array, not on the flow_from_directory" in reason
               for reason in result.review), result.review
    assert any("decoded before training (x was an array)" in reason
               for reason in result.review), result.review
    assert _check(result, "callback_stop").trust == "review"


def test_train_on_batch_after_the_fit_is_for_review(results: dict[str, GradeResult]) -> None:
    result = results["decoy_train_on_batch"]
    assert any("train_on_batch after fit 0" in reason for reason in result.review), \
        result.review
    for check_id in ("callback_stop", "callback_behaviour", "returns_accuracy"):
        assert _check(result, check_id).trust in ("review", "not_trusted"), check_id
    assert _check(result, "callback_behaviour").trust == "review"


def test_epochs_a_cache_hid_from_the_reads_are_for_review(
        results: dict[str, GradeResult]) -> None:
    result = results["blind_dataset_cache"]
    training = result.details["evidence"]["claims"]["training"]
    assert training["level"] == "review", training
    assert "read no training image (cached or preloaded)" in training["reason"]
    # the 2024 pipeline is judged by the dataset checks, the generator ones are not judged
    for check_id in GENERATOR_CHECKS:
        assert _check(result, check_id).status == "not_judged"


SHM_PROBE = """
import os
for folder in ("/dev/shm", "/run"):
    try:
        with open(os.path.join(folder, "happy-01.png"), "wb") as out:
            out.write(b"copied")
        print("wrote", folder)
    except OSError as exc:
        print("refused", folder, exc.errno)
"""


def test_no_unwatched_tmpfs_is_writable_in_the_sandbox(tmp_path: Path) -> None:
    """Images copied to /dev/shm or /run were read where inotify does not look: /run is
    read-only, and /dev/shm (which Python's locks need) is a folder of the run folder."""
    import subprocess

    from grader.run import sandbox

    components.bubblewrap()
    (tmp_path / "tmp").mkdir()
    (tmp_path / "probe.py").write_text(SHM_PROBE)
    argv = sandbox.bubblewrap_command(tmp_path, ["python3", "/grader/run/probe.py"],
                                      {"PATH": "/usr/bin:/bin"}, "/grader/run")
    if sandbox._is_root():
        sandbox.hand_over(tmp_path)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert "wrote /dev/shm" in done.stdout and "refused /run 30" in done.stdout, done
    assert (tmp_path / "tmp" / ".shm" / "happy-01.png").read_bytes() == b"copied"


def test_the_loss_judged_is_the_one_the_saved_model_was_compiled_with(
        results: dict[str, GradeResult]) -> None:
    """The last compile call says 'binary_crossentropy'; the model that trained and was
    saved was compiled with 'mse'. Before, the last call was judged and the check passed."""
    loss = _check(results["decoy_compile"], "loss")
    assert loss.status == "failed", loss.message  # type: ignore[attr-defined]
    assert loss.found == "mse"  # type: ignore[attr-defined]
    assert "the saved model was compiled with this loss" in loss.evidence  # type: ignore[attr-defined]
