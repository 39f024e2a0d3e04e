"""Which callback classes can reach their model (grader.evidence.callback_reach).

A class judged to read only its logs is played on a small stand-in model instead of the
student's own, so the judgement must never pass a class that could look at the model, its
training or the grader: every way of reaching them below keeps the student's model. The
classes that pass are the course's own shapes (the 40 callback classes of the samples,
the references and ../shared/corpus all do; counted when this was written).
"""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.evidence.callback_reach import logs_only
from grader.evidence.callback_source import extract

HEADER = "import tensorflow as tf\nDESIRED_ACCURACY = 0.999\n\n"


def _class(body: str, extra: str = "", base: str = "tf.keras.callbacks.Callback") -> str:
    return (HEADER + f"class myCallback({base}):\n"
            + textwrap.indent(textwrap.dedent(extra).strip("\n"), "    ")
            + ("\n" if extra else "")
            + "    def on_epoch_end(self, epoch, logs={}):\n"
            + textwrap.indent(textwrap.dedent(body).strip("\n"), "        ") + "\n")


def _judged(code: str) -> bool:
    sources = extract([code])
    assert [s.name for s in sources][-1:] == ["myCallback"], sources
    return sources[-1].logs_only


COURSE_SHAPES = {
    "the course's callback, TF 1.x": _class("""
        if(logs.get('acc')>DESIRED_ACCURACY):
          print("\\nReached 99.9% accuracy so cancelling training!")
          self.model.stop_training = True"""),
    "the reference's": _class("""
        logs = logs or {}
        if logs.get("accuracy", 0) > DESIRED_ACCURACY:
            print(f"\\nReached {DESIRED_ACCURACY:.1%} accuracy so cancelling training!")
            self.model.stop_training = True"""),
    "a threshold given to the constructor": _class("""
        if logs['accuracy'] > self.target:
            self.model.stop_training = True""", extra="""
        def __init__(self, target=0.999):
            super().__init__()
            self.target = target""") + "callbacks = [myCallback(0.999)]\n",
    "the Python 2 super call": _class("""
        if float(logs.get('accuracy')) >= self.target:
            self.model.stop_training = True""", extra="""
        def __init__(self):
            super(myCallback, self).__init__()
            self.target = DESIRED_ACCURACY"""),
    "`(logs or {}).get`": _class("""
        accuracy = (logs or {}).get('accuracy')
        if accuracy is not None and accuracy > DESIRED_ACCURACY:
            print('epoch {}: stopping'.format(epoch + 1))
            self.model.stop_training = True"""),
    "the old key tried first": _class("""
        try:
            accuracy = logs['acc']
        except KeyError:
            accuracy = logs['accuracy']
        if accuracy > DESIRED_ACCURACY:
            self.model.stop_training = True"""),
    "the callbacks module imported": _class("""
        if logs.get('accuracy') > DESIRED_ACCURACY:
            self.model.stop_training = True""", base="callbacks.Callback").replace(
        HEADER, HEADER + "from tensorflow.keras import callbacks\n"),
    "Callback imported by name": _class("""
        if logs.get('accuracy') > DESIRED_ACCURACY:
            self.model.stop_training = True""", base="Callback").replace(
        HEADER, HEADER + "from tensorflow.keras.callbacks import Callback\n"),
    "a base class of the code's own": HEADER
    + "class Base(tf.keras.callbacks.Callback):\n    pass\n\n"
    + _class("""
        if logs.get('accuracy') > DESIRED_ACCURACY:
            self.model.stop_training = True""", base="Base").replace(HEADER, ""),
}


@pytest.mark.parametrize("name", COURSE_SHAPES)
def test_the_course_shapes_read_only_their_logs(name: str) -> None:
    assert _judged(COURSE_SHAPES[name]) is True


STOP = """
if logs.get('accuracy') > DESIRED_ACCURACY:
    self.model.stop_training = True
"""

# each reaches the model, its training, the grader or code of its own
REACHING_BODIES = {
    "counts the model's layers": "n = len(self.model.layers)",
    "calls the model": "self.model.count_params()",
    "reads the weights": "w = self.model.get_weights()",
    "reads the fit's parameters": "steps = self.params['steps']",
    "getattr": "m = getattr(self, 'model')",
    "vars": "state = vars(self)",
    "__dict__": "state = self.__dict__",
    "a private attribute": "m = self._model",
    "a module's attribute": "t = tf.keras",
    "a module's function": "tf.print(epoch)",
    "a comprehension": "keys = [k for k in logs]",
    "a lambda": "f = lambda: 1",
    "a loop": "for k in logs:\n    pass",
    "a while loop": "while False:\n    pass",
    "a walrus": "if (a := logs.get('accuracy')):\n    pass",
    "print rebound": "print = logs.get",
    "a call of a local": "f = logs.get\nf('accuracy')",
    "a global": "global DESIRED_ACCURACY",
    "an import": "import gc",
    "a hook replaced": "self.on_train_batch_end = print",
    ".get of the callback": "self.get('model')",
    ".get of a module-level name": "tf.get('x')",
    "a starred call": "print(*logs)",
    "a with block": "with open('x') as f:\n    pass",
    "a raise": "raise ValueError('x')",
    "del": "del logs",
    "eval": "eval('self.model')",
    "an exception bound over a builtin": "try:\n    pass\nexcept KeyError as print:\n    pass",
}


@pytest.mark.parametrize("name", REACHING_BODIES)
def test_a_body_that_reaches_further_keeps_the_students_model(name: str) -> None:
    code = _class(REACHING_BODIES[name] + "\n" + STOP)
    assert _judged(_class(STOP)) is True  # the same class without it passes
    assert _judged(code) is False


REACHING_CLASSES = {
    "a batch-level method (its logs carry the model's own loss)":
        ("def on_train_batch_end(self, batch, logs=None):\n    pass", "", ""),
    "a method of its own": ("def helper(self):\n    return 1", "", ""),
    "a decorated method": ("@staticmethod\ndef on_train_begin(logs=None):\n    pass", "", ""),
    "an annotation that runs code": ("def on_train_begin(self, logs: print() = None):\n"
                                     "    pass", "", ""),
    "a default that is not a literal": ("def on_train_begin(self, logs=print):\n    pass",
                                        "", ""),
    "a class attribute named for Keras's": ("model = 1", "", ""),
    "made with a module": ("", "", "myCallback(tf.keras)"),
    "a module-level function": ("", "def helper():\n    return 1\n", ""),
    "a module-level value computed by a call": ("", "LIMIT = float('0.999')\n", ""),
    "a module-level name over a builtin": ("", "from os import getcwd as print\n", ""),
    "another Keras callback as its base": ("", "", "EarlyStopping"),
    "a `Callback` that is not Keras's": ("", "from unittest.mock import Mock as Callback\n",
                                         "Callback"),
}


@pytest.mark.parametrize("name", REACHING_CLASSES)
def test_a_class_that_reaches_further_keeps_the_students_model(name: str) -> None:
    """Judged on the class and scope as given (callback_source would not carry some of
    these out at all)."""
    extra, before, constructor = REACHING_CLASSES[name]
    base = "tf.keras.callbacks.Callback"
    if constructor in ("EarlyStopping", "Callback"):
        base = {"EarlyStopping": "tf.keras.callbacks.EarlyStopping",
                "Callback": "Callback"}[constructor]
        constructor = ""
    assert logs_only(_class(STOP), "myCallback", "myCallback()") is True
    code = before + _class(STOP, extra=extra, base=base)
    assert logs_only(code, "myCallback", constructor or "myCallback()") is False


def test_a_base_class_that_reaches_further_keeps_the_students_model() -> None:
    code = (HEADER + "class Base(tf.keras.callbacks.Callback):\n"
            "    def on_train_batch_end(self, batch, logs=None):\n        print(logs)\n\n"
            + _class(STOP, base="Base").replace(HEADER, ""))
    assert _judged(code) is False


@given(st.text(max_size=400), st.text(max_size=40), st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_text_is_judged_without_an_error(source: str, name: str,
                                             constructor: str) -> None:
    assert logs_only(source, name, constructor) in (True, False)


ALLOWED_LINES = [
    "a = logs.get('accuracy', 0)",
    "b = (logs or {}).get('loss')",
    "print(f'epoch {epoch}: {logs}')",
    "self.seen = epoch + 1",
    "if epoch > 3 and self.model.stop_training:\n    pass",
    "c = round(abs(float(epoch) - 2.5), 2)",
    "d = {'e': epoch, 'k': [1, 2][0]}",
    "e = 'x{}'.format(epoch) if epoch else str(epoch)",
    "self.model.stop_training = epoch > 100",
]


@given(st.lists(st.sampled_from(ALLOWED_LINES), max_size=6),
       st.sampled_from(sorted(REACHING_BODIES)), st.integers(0, 6))
@settings(max_examples=60, deadline=None)
def test_one_reaching_line_anywhere_keeps_the_students_model(lines: list[str], reaching: str,
                                                            where: int) -> None:
    """Any body of allowed lines passes; the same body with one line that reaches further,
    wherever it stands, does not."""
    assert logs_only(_class("\n".join([*lines, STOP])), "myCallback", "myCallback()")
    mixed = [*lines[:where], REACHING_BODIES[reaching], *lines[where:]]
    assert not logs_only(_class("\n".join([*mixed, STOP])), "myCallback", "myCallback()")
