"""grader.evidence.source: what the submitted code says, read without running it."""

from __future__ import annotations

import pytest

from grader.evidence.source import UNKNOWN, read


def test_literals_names_and_arithmetic_are_read() -> None:
    facts = read(['SIZE = 150\nSCALE = 1./255.\n',
                  'gen = ImageDataGenerator(rescale=SCALE)\n'
                  'flow = gen.flow_from_directory("/tmp/h-or-s", (SIZE, SIZE), '
                  'class_mode="binary")\n'
                  'model.compile(optimizer="rmsprop", loss=LOSS)\nLOSS = "binary_crossentropy"'])
    assert facts.values("ImageDataGenerator", "rescale").admits(1 / 255) is True
    assert facts.values("flow_from_directory", "target_size").admits((150, 150)) is True
    assert facts.values("flow_from_directory", "class_mode").admits("binary") is True
    assert facts.values("compile", "loss").admits("binary_crossentropy") is True
    assert facts.values("ImageDataGenerator", "rescale").admits(0.5) is False


def test_what_is_not_given_is_keras_default_and_what_cannot_be_read_is_unknown() -> None:
    facts = read(["ImageDataGenerator()\ng.flow_from_directory(d)\n"
                  "ImageDataGenerator(**options)\n"])
    assert facts.values("ImageDataGenerator", "rescale").admits(None) is True
    assert facts.values("ImageDataGenerator", "rescale").admits(1 / 255) is None
    assert facts.values("flow_from_directory", "class_mode").admits("categorical") is True
    assert facts.values("compile", "loss").admits("mse") is None  # no compile in the code


def test_a_rescale_changed_after_the_generator_was_made_is_seen() -> None:
    facts = read(["g = ImageDataGenerator(rescale=1/255)\ng.rescale = None\n"])
    assert facts.reassigned == {"rescale"}
    assert facts.values("ImageDataGenerator", "rescale").admits(None) is True


def test_shell_and_magic_lines_with_continuations_do_not_hide_a_cell() -> None:
    facts = read(["!wget --no-check-certificate \\\n    https://x/happy-or-sad.zip \\\n"
                  "    -O /tmp/happy-or-sad.zip\n%matplotlib inline\n"
                  "class C(tf.keras.callbacks.Callback):\n"
                  "  def on_epoch_end(self, epoch, logs={}):\n"
                  "    self.model.stop_training = True\n", "%%javascript\nIPython.x()\n"])
    assert facts.parsed and facts.callback_classes == ("C",)


@pytest.mark.parametrize("code", [
    "from grader.runner import recorder\n",
    "import grader\n",
    "x = __grader_entry__\n",
    "open('/grader/run/artefacts/trace.json', 'w')\n",
    "fd = int(os.environ['GRADER_EVENTS_FD'])\n",
])
def test_code_naming_the_graders_machinery_is_tampering(code: str) -> None:
    assert read([code]).tampering


def test_a_comment_about_the_grader_is_not_tampering() -> None:
    assert read(["# the grader checks this function\nx = 1  # see the autograder\n"]
                ).tampering == ()


def test_code_the_reading_cannot_follow_is_named() -> None:
    facts = read(["exec(code)\nf = getattr(m, name)\nimport ctypes\nmodel.compile(loss='mse')"])
    assert facts.dynamic == ("exec()", "getattr()", "import ctypes")


def test_a_loss_object_is_read_by_its_class_name() -> None:
    facts = read(["model.compile(optimizer=o, loss=tf.keras.losses.BinaryCrossentropy())"])
    assert facts.values("compile", "loss").known == {"BinaryCrossentropy"}


def test_what_each_function_returns_is_kept() -> None:
    facts = read(["def train():\n    h = model.fit(x)\n    return h.history['accuracy'][-1]\n"])
    assert facts.returns["train"] == ("h.history['accuracy'][-1]",)


def test_unreadable_code_reads_as_nothing() -> None:
    facts = read(["def broken(:\n"])
    assert not facts.parsed and facts.values("compile", "loss").unknown
    assert UNKNOWN is not None


def test_importing_base64_is_not_code_the_reading_cannot_follow() -> None:
    """The 2022 and 2024 course templates import base64 to show images: no review for it.
    Decoded bytes run only through exec and its kin, which are flagged themselves."""
    assert read(["import base64\nimport codecs\nfrom base64 import b64decode\n"
                        "print(base64.b64encode(b'x'))"]).dynamic == ()
    hidden = read(["import base64\nexec(base64.b64decode('cHJpbnQoMSk='))"])
    assert hidden.dynamic == ("exec()",)
