"""The normalised token stream: what a copier changes cheaply does not change it, what
the code does does."""

from __future__ import annotations

from pathlib import Path

from similarity_disguise import write_notebook

from grader.similarity.normalize import normalize
from grader.similarity.sources import code_cells

CALLBACK = '''
class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={}):
        if logs.get("accuracy") > DESIRED_ACCURACY:
            print("\\nReached 99.9% accuracy so cancelling training!")
            self.model.stop_training = True

model.compile(loss="binary_crossentropy", optimizer=RMSprop(learning_rate=0.001),
              metrics=["accuracy"])
'''

RENAMED = '''
# a comment the original did not have
class StopEarly(tf.keras.callbacks.Callback):
    """A docstring."""
    def on_epoch_end(self, ep, history_logs={}):
        if(history_logs.get('acc') > LIMIT):   # different string, parentheses
            print('stopping')
            self.model.stop_training = True

net.compile(loss='mse', optimizer=RMSprop(learning_rate=0.5),
            metrics=['acc'],)
'''


def tokens(*cells: str) -> list[str]:
    return normalize(list(cells)).tokens


def test_renamed_names_and_changed_literals_give_the_same_stream() -> None:
    assert tokens(CALLBACK) == tokens(RENAMED)


def test_a_different_api_call_is_a_difference() -> None:
    changed = CALLBACK.replace("RMSprop(learning_rate=", "RMSprop(lr=")
    assert tokens(changed) != tokens(CALLBACK)
    assert tokens(CALLBACK.replace(".stop_training", ".stop")) != tokens(CALLBACK)


def test_comments_docstrings_imports_and_shell_lines_are_dropped() -> None:
    cell = ('"""Module docstring."""\nimport os\nfrom tensorflow import keras as k\n'
            '%matplotlib inline\n!wget --no-check-certificate \\\n    "http://x/y.zip" \\\n'
            '    -O /tmp/y.zip\nfiles = !ls\nget_ipython().system("ls")\nmodel?\n'
            'x = 1  # one\n')
    assert tokens(cell) == ["V", "=", "N", ";"]


def test_non_python_cell_magics_are_dropped_whole() -> None:
    assert tokens("%%bash\nfor f in *; do echo $f; done\n") == []
    assert tokens("%%capture\nx = 1\n") == ["V", "=", "N", ";"]


def test_keyword_names_of_the_codes_own_parameters_are_abstracted() -> None:
    mine = "def train(epochs_wanted):\n    return epochs_wanted\ntrain(epochs_wanted=3)\n"
    renamed = "def go(n):\n    return n\ngo(n=3)\n"
    assert tokens(mine) == tokens(renamed)
    assert "epochs" in tokens("model.fit(x, epochs=3)")


def test_notebook_and_module_of_the_same_code_compare_equal(tmp_path: Path) -> None:
    cells = ["import tensorflow as tf\nDESIRED_ACCURACY = 0.999",
             "!wget -q http://x/happy-or-sad.zip -O /tmp/happy-or-sad.zip",
             CALLBACK, "def train():\n    return 1\n\ntrain()"]
    notebook = write_notebook(tmp_path / "a.ipynb", cells)
    module = tmp_path / "a.py"
    # what `jupyter nbconvert --to script` writes: cell markers and get_ipython() calls
    module.write_text("#!/usr/bin/env python\n# coding: utf-8\n\n# In[1]:\n\n\n" + cells[0]
                      + "\n\n\n# In[2]:\n\n\nget_ipython().system('wget -q http://x/h.zip')\n"
                      + "\n\n# In[3]:\n\n\n" + "\n\n\n# In[4]:\n\n\n".join(cells[2:]) + "\n",
                      encoding="utf-8")
    from_notebook = normalize(code_cells(notebook)[0])
    from_module = normalize(code_cells(module)[0])
    assert from_notebook.tokens == from_module.tokens
    assert len(from_notebook.cell_starts) == 4 and len(from_module.cell_starts) == 1


def test_outputs_and_markdown_are_not_compared(tmp_path: Path) -> None:
    plain = write_notebook(tmp_path / "plain.ipynb", ["x = compute(1)"])
    import json
    data = json.loads(plain.read_text())
    data["cells"].insert(0, {"cell_type": "markdown", "id": "m", "metadata": {},
                             "source": "def hidden():\n    return 1"})
    data["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout",
                                    "text": "y = other(2)\n"}]
    rich = tmp_path / "rich.ipynb"
    rich.write_text(json.dumps(data), encoding="utf-8")
    assert normalize(code_cells(rich)[0]).tokens == normalize(code_cells(plain)[0]).tokens


def test_a_template_cell_that_is_not_python_still_gives_its_statements() -> None:
    cell = ("class myCallback(# Your Code):\n  # Your Code\n\ncallbacks = myCallback()\n"
            "model.compile(# Your Code Here #)\n")
    result = normalize([cell])
    assert result.notes == ["cell 1 is not valid Python; compared line by line"]
    assert result.tokens == ["class", "V", "(", ";", "V", "=", "V", "(", ")", ";",
                             "V", ".", "compile", "(", ";"]


def test_redundant_parentheses_and_trailing_commas_do_not_count() -> None:
    assert tokens("if(a > b):\n    f(x, y,)\n") == tokens("if a > b:\n    f(x, y)\n")
    assert tokens("return (a)") == tokens("return a")
    assert tokens("if (a) and (b):\n    pass") != tokens("if a and b:\n    pass")


def test_tokens_know_their_lines_for_the_side_by_side_view() -> None:
    result = normalize(["x = 1\n# note\n", "s = '''a\nb'''\ny = s"])
    assert result.lines == ["x = 1", "# note", "s = '''a", "b'''", "y = s"]
    assert result.cell_starts == [0, 2]
    lines = [tuple(span) for span in result.token_lines.tolist()]
    assert len(lines) == len(result.tokens)
    assert lines[0] == (0, 0)                      # x
    assert (2, 3) in lines                         # the string spans two lines
    assert lines[-2] == (4, 4)                     # s in `y = s`
