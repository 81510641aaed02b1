"""The scripts in a real Jupyter kernel, as a notebook user calls them: import and main(),
main([...]), and %run with arguments; a run with --json - that fails halfway, and one that
writes its JSON to the kernel's text-only stdout."""

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

pytestmark = pytest.mark.slow  # a real Jupyter kernel, at the article's settings

CELLS = [
    f"import os\nos.chdir({str(ROOT)!r})  # %run takes the scripts' paths from the project root",
    "import one_to_one\nstatus = one_to_one.main()  # no arguments: the article's settings\n"
    "print('status', status)",
    "status = one_to_one.main(['--epochs', '1200', '--verbose', '0'])\nprint('status', status)",
    "%run many_to_many_td.py --epochs 1500 --verbose 0",
    "from questions import td_or_dense\nstatus = td_or_dense.main(['--verbose', '0'])\n"
    "print('status', status)",
    "%run questions/td_or_dense.py --verbose 0",
    # --json - sends what the script prints to stderr until the JSON is written; this run
    # diverges (SystemExit(1)) before that
    "import many_to_one\nmany_to_one.main(['--epochs', '50', '--lr', '1e30', '--json', '-'])",
    "print('standard output again')",
    # a kernel's stdout takes text only (no .buffer): the JSON alone on it, the rest on stderr
    "status = many_to_one.main(['--epochs', '5', '--verbose', '0', '--json', '-'])",
    # a notebook's `with` entered by begin(): --json - would keep stdout for the kernel's life
    "from repro.notebooks import begin\nfrom repro.run import start\n"
    "args = begin(start('many_to_one', ['--json', '-']))",
    "print('standard output still')",
]
FAILS = {6, 9}  # the cells expected to end in an error


def stdout_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def predictions_in(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("Predictions:") + 1
    return lines[start : lines.index("", start)]


@pytest.fixture(scope="module")
def notebook():
    cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    for k in FAILS:
        cells[k].metadata["tags"] = ["raises-exception"]  # nbclient goes on after it
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False).execute()
    return nb


@pytest.mark.parametrize("cell", [1, 2, 3])
def test_a_notebook_prints_the_articles_predictions(notebook, cell):
    out = stdout_of(notebook.cells[cell])
    assert predictions_in(out) == ["0.0", "0.2", "0.4", "0.6", "0.8"]
    if cell in (1, 2):
        assert out.rstrip().endswith("status 0")
    errors = [o for o in notebook.cells[cell].outputs if o.get("output_type") == "error"]
    assert errors == []


@pytest.mark.parametrize("cell", [4, 5])
def test_a_question_runs_in_a_notebook_through_main_and_run(notebook, cell):
    out = stdout_of(notebook.cells[cell])
    assert "The article's model both ways" in out and "\nAnswer: after LSTM(" in out
    if cell == 4:
        assert out.rstrip().endswith("status 0")


def test_a_run_that_fails_halfway_gives_standard_output_back(notebook):
    failed, after = notebook.cells[6], notebook.cells[7]
    errors = [o for o in failed.outputs if o.get("output_type") == "error"]
    assert [e["ename"] for e in errors] == ["SystemExit"]
    assert "the loss became inf" in "".join(o.get("text", "") for o in failed.outputs)
    assert [(o.get("name"), o.get("text")) for o in after.outputs] == [
        ("stdout", "standard output again\n")
    ]


def test_json_dash_writes_the_json_alone_to_a_kernels_stdout(notebook):
    import json

    cell = notebook.cells[8]
    assert [o for o in cell.outputs if o.get("output_type") == "error"] == []
    result = json.loads(stdout_of(cell))  # nothing else on stdout
    assert result["script"] == "many_to_one.py" and len(result["loss_history"]) == 5
    stderr = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")
    assert "Predictions:" in stderr


def summaries(cell) -> str:
    """Keras' summary, as a kernel shows it: displays."""
    from repro.notebooks import plain

    return plain("".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs))


def test_a_second_run_in_one_kernel_names_its_layers_as_the_first(notebook):
    """Keras numbers a layer's name from its second of a kind in a process (lstm_1): a run again
    in one kernel (Run All twice) named them so and its side-by-side turned the article's `lstm_1`
    from a known difference into `same`. Each run now starts from a clear Keras session."""
    first, again = notebook.cells[1], notebook.cells[2]
    for cell in (first, again):
        assert "lstm (LSTM)" in summaries(cell) and "lstm_1" not in summaries(cell)
        assert "Keras 2 numbered names from _1" in stdout_of(cell)


def test_json_dash_is_refused_where_a_notebook_cell_begins_a_run(notebook):
    refused, after = notebook.cells[9], notebook.cells[10]
    assert [e["ename"] for e in refused.outputs if e.get("output_type") == "error"] == [
        "SystemExit"
    ]
    said = "".join(o.get("text", "") for o in refused.outputs if o.get("name") == "stderr")
    assert said == "error: --json - cannot be used in a notebook's cells; give --json a file\n"
    assert [(o.get("name"), o.get("text")) for o in after.outputs] == [
        ("stdout", "standard output still\n")
    ]
