"""The source reader sees every cell and sees code that looks for the grader (issue 19).

Principle: looking for the grader is visible. Honest course code never needs frame
introspection, `sys.modules` or `gc` lookups, dunder overrides on a callback, or cell magics
that run hidden code; the reader sees all cells (`%%capture`, `%%time`, `%run` included)
and sends such code to review. And the recorded accuracy is Keras's own: a metric of the
code's own under the name `accuracy` is review. Each positive control stands next to the
honest code it must leave alone; the Hypothesis tests check both over random course-like
programs.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_evidence import CODE, run

from grader.evidence import CALLBACK, CORROBORATED, NOT_TRUSTED, REVIEW, TRAINING, magics
from grader.evidence.gather import gather
from grader.evidence.source import python_of, read
from grader.submission import code_cells


def seen(finding: str, findings: tuple[str, ...]) -> bool:
    """Whether `finding` ("what (how)") is among `findings`, where the reader lists the
    hows of one what together: "what (how, other how)"."""
    kind, _, how = finding.partition(" (")
    return any(f.startswith(kind + " (") and how[:-1] in f[len(kind) + 2:-1].split(", ")
               for f in findings)


CALLBACK_CLASS = ("class myCallback(tf.keras.callbacks.Callback):\n"
                  "    def on_epoch_end(self, epoch, logs=None):\n"
                  "        if logs.get('accuracy') > 0.999:\n"
                  "            self.model.stop_training = True\n")


# --- every cell is read -----------------------------------------------------------------

@pytest.mark.parametrize("magic", ["%%capture", "%%capture out", "%%time", "%%timeit -n1 -r1",
                                   "%%prun -q", "\n%%capture --no-stderr"])
def test_a_cell_magic_that_runs_its_body_in_the_process_is_read(magic: str) -> None:
    facts = read([f"{magic}\nimport sys\n{CALLBACK_CLASS}f = sys._getframe()\n"])
    assert facts.callback_classes == ("myCallback",)
    assert facts.seeking == ("the code inspects the call stack (sys._getframe)",)
    assert facts.dynamic == ()


def test_nested_cell_magics_are_read_to_the_innermost_body() -> None:
    facts = read(["%%time\n%%capture\nimport sys\nsys.modules.get('x')\n"])
    assert facts.seeking == ("the code looks up loaded modules (sys.modules)",)


def test_a_line_magic_that_runs_a_statement_is_read() -> None:
    facts = read(["%time history = model.fit(flow, callbacks=[cb])\n",
                  "%timeit -n 1 -r 1 model.compile(loss='mse')\n",
                  "x = %time sys._getframe()\n"])
    assert facts.calls["compile"] == 1
    assert facts.values("compile", "loss").admits("mse") is True
    assert facts.seeking == ("the code inspects the call stack (sys._getframe)",)


def test_a_written_module_is_read_since_it_may_be_imported() -> None:
    facts = read(["%%writefile helper.py\nimport sys\ndef peek():\n    return sys._getframe(2)\n",
                  "from helper import peek\n"])
    assert facts.seeking == ("the code inspects the call stack (sys._getframe)",)
    assert read(["%%writefile notes.txt\nthis is not Python at all\n"]).dynamic == ()
    assert read(["%%writefile -a helper.py\n  def broken(:\n"]).dynamic == (
        "a %%writefile helper.py cell the grader cannot parse",)


@pytest.mark.parametrize("cell", [
    "x = (1\n% 2)\nimport sys\nf = sys._getframe()\n",  # modulo on a continuation line
    ">>> import sys\n>>> f = sys._getframe()\n",  # prompts IPython strips
    "In [1]: import sys\nIn [2]: f = sys._getframe()\n",
    "run_it = 1\n!wget -q https://x/y.zip \\\n   -O /tmp/y.zip\nimport sys\nsys._getframe()\n",
    "if True:\n    %time import sys\n    sys._getframe()\n",
])
def test_ipython_syntax_does_not_hide_the_rest_of_a_cell(cell: str) -> None:
    """The old reader blanked every line starting with `%` or `!`: a `%` continuing an
    expression made the cell unparseable and everything in it invisible."""
    facts = read([cell])
    assert facts.parsed
    assert seen("the code inspects the call stack (sys._getframe)", facts.seeking)


def test_a_module_is_read_as_python_runs_it() -> None:
    """A module runs as plain Python: a `%time` line is a syntax error there, not a magic."""
    assert not read(["%time f()\n"], notebook=False).parsed
    assert read(["%time f()\n"]).parsed
    assert read(["y = (4\n% 3)\nimport sys\nsys._getframe()\n"], notebook=False).seeking


@pytest.mark.parametrize(("cell", "note"), [
    ("%run helper.py\n", "%run"),
    ("run helper.py\n", "%run"),  # a one-line cell: IPython's automagic runs it
    ("%load helper.py\n", "%load"),
    ("%macro m 1-3\n", "%macro"),
    ("%config InteractiveShell.autocall = 2\n", "%config InteractiveShell.autocall = 2"),
    ("%store -r model\n", "%store"),
    ("%%bash\npython helper.py\n", "a %%bash cell"),
    ("%%script python3\nimport helper\n", "a %%script cell"),
    ("%%sh\nls\n", "a %%sh cell"),
    ("%%python\nprint(1)\n", "a %%python cell"),
    ("%%my_own_magic\nanything\n", "a %%my_own_magic cell"),
    ("code = 'x = 1'\nget_ipython().run_cell_magic('capture', '', code)\n",
     "get_ipython().run_cell_magic() with a computed argument"),
    ("%%capture\ndef broken(:\n", "%%capture with code the grader cannot parse"),
])
def test_magics_that_run_code_the_reading_cannot_see_are_noted(cell: str, note: str) -> None:
    assert note in read([cell]).dynamic


@pytest.mark.parametrize("cell", [
    "%matplotlib inline\n", "!wget -q https://x/happy-or-sad.zip -O /tmp/happy-or-sad.zip\n",
    "files = !ls /tmp/h-or-s\n", "%%javascript\nIPython.notebook.save_checkpoint();\n",
    "%%html\n<b>done</b>\n", "%config InlineBackend.figure_format = 'retina'\n",
    "%load_ext tensorboard\n", "%pip install -q pillow\n", "model.summary?\n",
])
def test_magics_that_run_no_hidden_python_are_left_alone(cell: str) -> None:
    facts = read([cell, CALLBACK_CLASS])
    assert (facts.dynamic, facts.seeking, facts.tampering) == ((), (), ())


def test_python_of_gives_the_body_of_a_capture_cell() -> None:
    """grader.evidence.callback_source cuts callback classes out of python_of's text."""
    assert "class myCallback" in python_of("%%capture\n" + CALLBACK_CLASS)
    assert python_of("x = 1  # kept as written\n") == "x = 1  # kept as written\n"


def test_the_reading_of_many_magics_is_bounded() -> None:
    cell = "x = 1\n" * 2_000 + "!ls\n" * 50
    bounded = magics.read_cell(cell, magics.Budget(chars=50_000))
    assert bounded.notes == ["a cell too large for the grader to read with its magics"]
    assert magics.read_cell(cell).notes == []


def test_code_nested_deeper_than_the_reading_can_walk_is_noted_not_a_crash() -> None:
    deep = "x = " + "+".join(["1"] * 1_000) + "\n"  # parses; visiting it overflows
    assert read([deep]).dynamic == ("code nested too deeply for the grader to read",)
    assert python_of(deep) == deep


def test_a_magic_that_runs_hidden_code_sends_the_grading_to_review() -> None:
    evidence = gather(replace(run(), facts=read([CODE, "%run helper.py\n"])))
    assert {t.level for t in evidence.claims.values()} == {REVIEW}
    assert any(r.startswith("the code uses %run, which the grader cannot follow")
               for r in evidence.review)


def test_the_grader_s_name_in_a_magic_body_is_still_tampering() -> None:
    assert read(["%%capture\nx = __grader_bootstrap__\n"]).tampering
    assert read(["%%bash\ncat /grader/run/artefacts/trace.json\n"]).tampering


# --- code that looks for the grader -------------------------------------------------------

SEEKING = {
    "import sys\nf = sys._getframe(1)\n": "the code inspects the call stack (sys._getframe)",
    "import sys as s\nf = s._getframe()\n": "the code inspects the call stack (sys._getframe)",
    "from sys import _getframe\n": "the code inspects the call stack (from sys import _getframe)",
    "caller = frame.f_back\n": "the code inspects the call stack (.f_back)",
    "v = frame.f_locals['logs']\n": "the code inspects the call stack (.f_locals)",
    "g = frame.f_globals\n": "the code inspects the call stack (.f_globals)",
    "f = tb.tb_frame\n": "the code inspects the call stack (.tb_frame)",
    "f = gen.gi_frame\n": "the code inspects the call stack (.gi_frame)",
    "f = coro.cr_frame\n": "the code inspects the call stack (.cr_frame)",
    "import inspect\nf = inspect.currentframe()\n":
        "the code inspects the call stack (inspect.currentframe)",
    "import inspect\ns = inspect.stack()\n": "the code inspects the call stack (inspect.stack)",
    "import inspect\ns = inspect.getouterframes(f)\n":
        "the code inspects the call stack (inspect.getouterframes)",
    "import inspect\ns = inspect.trace()\n": "the code inspects the call stack (inspect.trace)",
    "from inspect import stack\n": "the code inspects the call stack (from inspect import stack)",
    "import traceback\ns = traceback.extract_stack()\n":
        "the code inspects the call stack (traceback.extract_stack)",
    "import traceback\nfor f, n in traceback.walk_stack(None): pass\n":
        "the code inspects the call stack (traceback.walk_stack)",
    "import sys\nm = sys.modules['x']\n": "the code looks up loaded modules (sys.modules)",
    "import sys\nm = sys.modules.get('a' + 'b')\n":
        "the code looks up loaded modules (sys.modules)",
    "import sys\nfor m in sys.modules.values(): pass\n":
        "the code looks up loaded modules (sys.modules)",
    "import os\nm = os.sys.modules\n": "the code looks up loaded modules (sys.modules)",
    "from os import sys\nm = sys.modules\n": "the code looks up loaded modules (sys.modules)",
    "from sys import modules\n": "the code looks up loaded modules (from sys import modules)",
    "m = __import__('sys').modules\n": "the code looks up loaded modules (sys.modules)",
    "import sys\nm = getattr(sys, 'modules')\n": "the code looks up loaded modules (sys.modules)",
    "import sys\nd = sys.__dict__\n": "the code looks up loaded modules (sys.__dict__)",
    "import gc\no = gc.get_objects()\n":
        "the code searches the interpreter's objects (gc.get_objects)",
    "import gc\no = gc.get_referrers(x)\n":
        "the code searches the interpreter's objects (gc.get_referrers)",
    "import gc\no = gc.get_referents(x)\n":
        "the code searches the interpreter's objects (gc.get_referents)",
    "s = tf.keras.callbacks.Callback.__subclasses__()\n":
        "the code searches the interpreter's objects (.__subclasses__)",
    "import sys\nsys.settrace(t)\n": "the code installs a tracer or audit hook (sys.settrace)",
    "import sys\nsys.setprofile(t)\n": "the code installs a tracer or audit hook (sys.setprofile)",
    "import threading\nthreading.settrace(t)\n":
        "the code installs a tracer or audit hook (threading.settrace)",
    "import sys\nsys.addaudithook(h)\n":
        "the code installs a tracer or audit hook (sys.addaudithook)",
    "import sys\nsys.meta_path.insert(0, finder)\n":
        "the code changes how modules are imported (sys.meta_path)",
    "import sys\nsys.path_hooks.append(hook)\n":
        "the code changes how modules are imported (sys.path_hooks)",
    "import builtins\nbuiltins.print = quiet\n":
        "the code patches the builtins (builtins.print = …)",
    "__builtins__['open'] = my_open\n": "the code patches the builtins (__builtins__)",
    "f = tf.keras.Model.fit.__wrapped__\n":
        "the code reaches into functions' internals (.__wrapped__)",
    "g = model.fit.__globals__\n": "the code reaches into functions' internals (.__globals__)",
    "c = fn.__closure__[0].cell_contents\n":
        "the code reaches into functions' internals (.cell_contents)",
    "ns = get_ipython().user_ns\n":
        "the code reaches into the notebook shell (get_ipython().user_ns)",
    "cb.__class__ = Honest\n": "the code changes an object's class (__class__ = …)",
    "name = 'f_' + 'back'\nwhere = 'f_back'\n":
        "the code inspects the call stack ('f_back' in a string)",
    "myCallback.__deepcopy__ = lambda self, memo: self\n":
        "the code changes how an existing class is copied or read (__deepcopy__ = …)",
}


@pytest.mark.parametrize(("code", "reason"), SEEKING.items(), ids=range(len(SEEKING)))
def test_code_that_looks_for_the_grader_is_seen(code: str, reason: str) -> None:
    assert seen(reason, read([code]).seeking)


@pytest.mark.parametrize("dunder", ["__deepcopy__", "__copy__", "__reduce__", "__reduce_ex__",
                                    "__setattr__", "__getattribute__", "__getattr__",
                                    "__setstate__", "__getstate__", "__class_getitem__",
                                    "__init_subclass__"])
def test_a_callback_that_controls_how_it_is_copied_or_read_is_seen(dunder: str) -> None:
    direct = f"class C(tf.keras.callbacks.Callback):\n    def {dunder}(self, *a):\n        pass\n"
    indirect = ("class Base(keras.callbacks.Callback):\n    pass\n"
                f"class C(Base):\n    def {dunder}(self, *a):\n        pass\n")
    reason = f"the callback C changes how the grader copies it or reads its attributes ({dunder})"
    assert read([direct]).seeking == (reason,)
    assert read([indirect]).seeking == (reason,)


def test_the_same_dunders_on_a_class_that_is_not_a_callback_are_not_seeking() -> None:
    code = "class Point:\n    def __copy__(self):\n        return Point()\n"
    assert read([code]).seeking == ()


@pytest.mark.parametrize("code", [
    "import sys\nsys.path.append('..')\nsys.path.insert(0, '/tmp')\n",
    "import sys\nprint(sys.version, sys.argv, sys.platform, sys.executable)\n",
    "import sys\nsys.stdout.flush()\nsys.exit(0)\n",
    "import os\nos.path.join(os.getcwd(), 'h-or-s')\nos.listdir('/tmp')\n",
    "import numpy as np\nx = np.stack([a, b])\ny = tf.stack([a, b])\n",
    "import traceback\ntry:\n    f()\nexcept Exception:\n    traceback.print_exc()\n",
    "name = self.__class__.__name__\nprint(type(cb).__name__)\n",
    "import threading\nt = threading.Thread(target=f)\n",
    "def train():\n    '''Trains the model; the frame of the image is 150x150.'''\n    return 1\n",
    "model.summary()\nlayers = model.layers\nsub = model.submodules\n",
    CALLBACK_CLASS + "callbacks = myCallback()\n",
])
def test_honest_course_code_is_not_seeking(code: str) -> None:
    facts = read([code])
    assert (facts.seeking, facts.own_accuracy, facts.tampering) == ((), (), ())


# --- the recorded accuracy is Keras's own ------------------------------------------------

OWN_ACCURACY = {
    "model.compile(loss='binary_crossentropy', metrics=[tf.keras.metrics.Mean(name='accuracy')])":
        "the code compiles its own metric under the name 'accuracy' (Mean(name='accuracy'))",
    "model.compile(metrics=[tf.keras.metrics.AUC(name='acc')])":
        "the code compiles its own metric under the name 'acc' (AUC(name='acc'))",
    "m = keras.metrics.MeanMetricWrapper(always_one, name='acc' + 'uracy')":
        "the code compiles its own metric under the name 'accuracy' "
        "(MeanMetricWrapper(name='accuracy'))",
    "class Accuracy(tf.keras.metrics.Metric):\n    pass\n":
        "the code compiles its own metric under the name 'accuracy' (class Accuracy)",
    "class Acc(keras.metrics.Metric):\n    pass\n":
        "the code compiles its own metric under the name 'acc' (class Acc)",
    "class Right(tf.keras.metrics.Mean):\n    def __init__(self):\n"
    "        super().__init__(name='accuracy')\n":
        "the code compiles its own metric under the name 'accuracy' (class Right)",
    "class Right(tf.keras.metrics.Mean):\n    def __init__(self, name='acc', **kw):\n"
    "        super().__init__(name=name, **kw)\n":
        "the code compiles its own metric under the name 'acc' (class Right)",
    "class Exact(tf.keras.metrics.Accuracy):\n    def update_state(self, *a, **k):\n"
    "        pass\n":
        "the code compiles its own metric under the name 'accuracy' (class Exact)",
    "class Lenient(tf.keras.metrics.BinaryAccuracy):\n    pass\nm = Lenient(name='accuracy')\n":
        "the code compiles its own metric under the name 'accuracy' (Lenient(name='accuracy'))",
    "def accuracy(y_true, y_pred):\n    return 1.0\n"
    "model.compile(loss='mse', metrics=[accuracy])\n":
        "the code compiles its own metric under the name 'accuracy' (def accuracy)",
    "def acc(y_true, y_pred):\n    return 1.0\nmodel.compile('rmsprop', 'mse', [acc])\n":
        "the code compiles its own metric under the name 'acc' (def acc)",
    "always_one.__name__ = 'accuracy'\n":
        "the code compiles its own metric under the name 'accuracy' (__name__ = …)",
    "class M(tf.keras.Model):\n    def train_step(self, data):\n        return {'accuracy': 1.0}\n":
        "the code computes its own training logs (M.train_step), so their 'accuracy' need not "
        "be Keras's",
}


@pytest.mark.parametrize(("code", "reason"), OWN_ACCURACY.items(), ids=range(len(OWN_ACCURACY)))
def test_a_metric_of_the_code_s_own_named_accuracy_is_seen(code: str, reason: str) -> None:
    assert reason in read([code]).own_accuracy


@pytest.mark.parametrize("code", [
    "model.compile(loss='binary_crossentropy', optimizer='rmsprop', metrics=['accuracy'])",
    "model.compile(loss='binary_crossentropy', metrics=['acc'])",
    "model.compile(loss='binary_crossentropy', metrics=[tf.keras.metrics.BinaryAccuracy()])",
    "model.compile(metrics=[tf.keras.metrics.BinaryAccuracy(name='accuracy')])",
    "model.compile(metrics=[keras.metrics.Accuracy(name='acc')])",
    "model.compile(metrics=['accuracy', tf.keras.metrics.AUC(name='auc')])",
    "model.compile(metrics=[tf.keras.metrics.binary_accuracy])",
    "class Lenient(tf.keras.metrics.BinaryAccuracy):\n    pass\n",  # named binary_accuracy
    "class F1(tf.keras.metrics.Metric):\n    pass\n",
    "def accuracy(history):\n    return history.history['accuracy'][-1]\n"
    "model.compile(metrics=['accuracy'])\n",
    "plt.plot(history.history['acc'], label='acc')\nlayer = Dense(1, name='acc')\n",
])
def test_keras_s_own_accuracy_is_not_flagged(code: str) -> None:
    assert read([code]).own_accuracy == ()


# --- the evidence: review, with the reason ------------------------------------------------

def test_looking_for_the_grader_sends_every_claim_to_review_saying_what_was_seen() -> None:
    observed = replace(run(), facts=read([CODE + "\nimport sys\nf = sys._getframe(1)\n"]))
    evidence = gather(observed)
    assert {t.level for t in evidence.claims.values()} == {REVIEW}
    assert any(reason.startswith("the code inspects the call stack (sys._getframe): course "
                                 "code never needs this") for reason in evidence.review)
    assert evidence.facts["code_seeking"] == ["the code inspects the call stack (sys._getframe)"]


def test_an_own_accuracy_sends_only_the_claims_on_the_recorded_accuracy_to_review() -> None:
    code = CODE.replace("metrics=[\"accuracy\"]", "metrics=[tf.keras.metrics.Mean(name='acc')]")
    evidence = gather(replace(run(), facts=read([code])))
    assert evidence.claims[TRAINING].level == evidence.claims[CALLBACK].level == REVIEW
    assert evidence.claims[TRAINING].reason.startswith(
        "the code compiles its own metric under the name 'acc' (Mean(name='acc')): the "
        "recorded accuracy may not be Keras's")
    others = {c: t.level for c, t in evidence.claims.items() if c not in (TRAINING, CALLBACK)}
    assert set(others.values()) == {CORROBORATED}, others


def test_a_claim_already_for_review_keeps_its_reason_and_gains_the_finding() -> None:
    observed = replace(run(measured=0.787), facts=read([CODE + "\nimport sys\nsys.modules\n"]))
    reason = gather(observed).claims[TRAINING].reason
    assert "the code looks up loaded modules (sys.modules)" in reason
    assert reason != gather(replace(observed, facts=read([CODE]))).claims[TRAINING].reason


def test_naming_the_grader_is_still_not_trusted_beside_seeking() -> None:
    code = CODE + "\nimport sys\nsys._getframe()\nfrom grader.runner import recorder\n"
    evidence = gather(replace(run(), facts=read([code])))
    assert {t.level for t in evidence.claims.values()} == {NOT_TRUSTED}


def test_honest_code_stays_corroborated() -> None:
    evidence = gather(run())
    assert evidence.review == [] and evidence.facts["code_seeking"] == []


# --- the honest files: samples, references and (acceptance) the course notebooks ------------

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"  # beside the checkout, never in it
HONEST = sorted(p for p in [*(ROOT / "submissions").rglob("*"), *(ROOT / "reference").rglob("*")]
                if p.suffix in (".py", ".ipynb"))


def _looks_for_the_grader(path: Path) -> tuple[str, ...]:
    notebook = path.suffix == ".ipynb"
    facts = read(code_cells(path.read_bytes(), "notebook" if notebook else "module"),
                 notebook=notebook)
    magic_notes = tuple(n for n in facts.dynamic if n.startswith(("%", "a %%", "a cell")))
    return facts.seeking + facts.own_accuracy + facts.tampering + magic_notes


@pytest.mark.parametrize("path", HONEST, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_sample_or_reference_looks_for_the_grader(path: Path) -> None:
    assert _looks_for_the_grader(path) == ()


@pytest.mark.acceptance
def test_no_course_notebook_looks_for_the_grader() -> None:
    notebooks = sorted(CORPUS.glob("*.ipynb"))
    if not notebooks:
        pytest.fail(f"the course notebooks are not here ({CORPUS})")
    assert {p.name: found for p in notebooks if (found := _looks_for_the_grader(p))} == {}


# --- property: random course programs, with and without one grader-seeking statement -------

STATEMENTS = [
    "import os", "import zipfile", "import sys", "import numpy as np",
    "import tensorflow as tf", "from tensorflow import keras",
    "from tensorflow.keras.preprocessing.image import ImageDataGenerator",
    "from tensorflow.keras.optimizers import RMSprop", "import matplotlib.pyplot as plt",
    "sys.path.append('..')", "print(sys.version)", "DESIRED_ACCURACY = 0.999",
    "path = os.path.join('/tmp', 'happy-or-sad.zip')",
    "zip_ref = zipfile.ZipFile('/tmp/happy-or-sad.zip', 'r')\nzip_ref.extractall('/tmp/h-or-s')"
    "\nzip_ref.close()",
    "train_datagen = ImageDataGenerator(rescale=1 / 255)",
    "train_generator = train_datagen.flow_from_directory('/tmp/h-or-s', target_size=(150, "
    "150), batch_size=10, class_mode='binary')",
    "model = tf.keras.models.Sequential([\n    tf.keras.layers.Conv2D(16, (3, 3), "
    "activation='relu', input_shape=(150, 150, 3)),\n    tf.keras.layers.MaxPooling2D(2, 2),"
    "\n    tf.keras.layers.Flatten(),\n    tf.keras.layers.Dense(1, activation='sigmoid'),\n])",
    "model.compile(loss='binary_crossentropy', optimizer=RMSprop(learning_rate=0.001), "
    "metrics=['accuracy'])",
    "model.compile(loss='binary_crossentropy', optimizer='rmsprop', metrics=['acc'])",
    "model.compile(loss='binary_crossentropy', metrics=[tf.keras.metrics.BinaryAccuracy("
    "name='accuracy')])",
    CALLBACK_CLASS.rstrip("\n"),
    "callbacks = myCallback()",
    "history = model.fit(train_generator, steps_per_epoch=8, epochs=15, verbose=1, "
    "callbacks=[callbacks])",
    "plt.plot(history.history['accuracy'], label='accuracy')\nplt.legend()",
    "def train_happy_sad_model():\n    history = model.fit(train_generator, epochs=15)\n"
    "    return history.history['acc'][-1]",
    "%matplotlib inline", "!wget --no-check-certificate https://x/happy-or-sad.zip \\\n"
    "    -O /tmp/happy-or-sad.zip", "files = !ls /tmp/h-or-s",
    "import traceback\ntry:\n    train_happy_sad_model()\nexcept Exception:\n"
    "    traceback.print_exc()",
]
WRAPPERS = ["", "%%capture\n", "%%time\n", "%%capture out\n", "%%timeit -n1 -r1\n"]
SEEKERS = [code for code in SEEKING if "'f_back'" not in code]  # one statement each
OWN = list(OWN_ACCURACY)


@st.composite
def programs(draw: st.DrawFn) -> list[list[str]]:
    """A notebook as cells of course statements (each cell a list of statements)."""
    return draw(st.lists(st.lists(st.sampled_from(STATEMENTS), min_size=1, max_size=5),
                         min_size=1, max_size=6))


def _cells(program: list[list[str]], wrappers: list[str]) -> list[str]:
    return [wrapper + "\n".join(cell) + "\n" for cell, wrapper in zip(program, wrappers,
                                                                       strict=True)]


_SETTINGS = settings(max_examples=60, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(program=programs(), data=st.data())
def test_random_course_programs_never_look_for_the_grader(program: list[list[str]],
                                                          data: st.DataObject) -> None:
    wrappers = data.draw(st.lists(st.sampled_from(WRAPPERS), min_size=len(program),
                                  max_size=len(program)))
    facts = read(_cells(program, wrappers))
    assert (facts.seeking, facts.own_accuracy, facts.tampering, facts.dynamic) == \
        ((), (), (), ())


@_SETTINGS
@given(program=programs(), data=st.data())
def test_one_grader_seeking_statement_anywhere_is_always_seen(program: list[list[str]],
                                                              data: st.DataObject) -> None:
    seeker = data.draw(st.sampled_from(SEEKERS))
    cell = data.draw(st.integers(0, len(program) - 1))
    inside_callback = data.draw(st.booleans())
    if inside_callback:  # in the callback's on_epoch_end, where a probe would be met
        statement = CALLBACK_CLASS + "".join(f"        {line}\n"
                                             for line in seeker.splitlines())
    else:
        statement = seeker.rstrip("\n")
    position = data.draw(st.integers(0, len(program[cell])))
    program[cell].insert(position, statement.rstrip("\n"))
    wrappers = data.draw(st.lists(st.sampled_from(WRAPPERS), min_size=len(program),
                                  max_size=len(program)))
    facts = read(_cells(program, wrappers))
    assert seen(SEEKING[seeker], facts.seeking), (seeker, facts.seeking)


@_SETTINGS
@given(program=programs(), data=st.data())
def test_one_own_accuracy_anywhere_is_always_seen(program: list[list[str]],
                                                  data: st.DataObject) -> None:
    own = data.draw(st.sampled_from(OWN))
    cell = data.draw(st.integers(0, len(program) - 1))
    program[cell].insert(data.draw(st.integers(0, len(program[cell]))), own.rstrip("\n"))
    wrappers = data.draw(st.lists(st.sampled_from(WRAPPERS), min_size=len(program),
                                  max_size=len(program)))
    assert OWN_ACCURACY[own] in read(_cells(program, wrappers)).own_accuracy
