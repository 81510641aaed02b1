"""The notebooks (notebooks/NAME.ipynb, repro/notebooks.py): one per article script and per
question, made from the script itself. Quick tier: each is what its script makes now (a script
changed without `python -m repro.notebooks` fails here), its code is the script's own lines, and
what it printed is what its page shows. Slow tier: each runs again in a real Jupyter kernel and
prints and draws the same bytes, when the versions are the ones it records."""

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
import test_default_runs
import test_pages

from conftest import ROOT, differing
from repro import notebooks, pages

SCRIPTS = notebooks.scripts()


def stored(script: str):
    return nbformat.read(notebooks.path_of(script), as_version=4)


def page_output(page) -> str:
    return test_pages.page_output(page) + "\n"  # the page's block drops the last newline


def test_every_script_has_a_notebook_and_none_is_left_over():
    made = {notebooks.path_of(s).name for s in SCRIPTS}
    assert len(made) == 3 + len(list((ROOT / "questions").glob("[!_]*.py")))
    assert {p.name for p in notebooks.FOLDER.glob("*.ipynb")} == made


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_notebook_is_what_its_script_makes_now(script):
    assert notebooks.stale(script) is None, "run: python -m repro.notebooks " + script


def test_a_changed_script_makes_its_notebook_stale():
    source = (ROOT / "questions/state.py").read_text()
    changed = source.replace("epochs=1000, units=5", "epochs=999, units=5")
    assert changed != source
    said = notebooks.stale("questions/state.py", changed)
    assert said and said.startswith("notebooks/state.ipynb: cell ") and "differs" in said
    fewer = source.replace("        ## Train: ", "        # Train: ")  # a section less
    assert "differs from questions/state.py" in notebooks.stale("questions/state.py", fewer)


GENERATED = (  # the lines of a notebook that are not the script's: the first cell aside
    re.compile(r"^\w+ = begin\(.*\)$|^begin\(.*\)$"),  # `with X as run:` entered for the cells
    re.compile(r"^from questions\.\w+ import __doc__  # the question, above$"),
    re.compile(r"^from repro\.notebooks import begin  # "),
)


def notebook_lines(nb) -> set[str]:
    """The code lines of a notebook (its first cell aside), stripped, as the script writes them:
    `status = X` as `return X`, without the `;` that keeps a last call's value from showing."""
    found = set()
    for cell in [c for c in nb.cells if c.cell_type == "code"][1:]:
        for line in cell.source.splitlines():
            text = re.sub(r"^status = ", "return ", line.strip())
            found.add(re.sub(r";(?=$|  #)", "", text, count=1))
    return found


def standing_in(source: str) -> set[int]:
    """The script's lines a notebook has no line for: the docstring, `def main`, main's
    docstring and its `with` statement's first line, and the `if __name__` guard."""
    import ast

    tree = ast.parse(source)
    main = next(n for n in tree.body if getattr(n, "name", None) == "main")
    block = main.body[-1]
    spans = [(tree.body[0].lineno, tree.body[0].end_lineno), (main.lineno, main.lineno)]
    if ast.get_docstring(main):
        spans.append((main.body[0].lineno, main.body[0].end_lineno))
    spans.append((block.lineno, block.body[0].lineno - 1))
    spans += [(n.lineno, n.end_lineno) for n in tree.body if isinstance(n, ast.If)]
    return {k for a, b in spans for k in range(a, b + 1)}


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_code_cell_is_the_scripts_own_lines(script):
    """Nothing in a notebook's code but the script's lines (dedented), and the three kinds of
    line that stand for `with`, `return` and the docstring; and every line of code the script
    runs is in the notebook (only the lines those stand for are not)."""
    source = (ROOT / script).read_text()
    own = {line.strip() for line in source.splitlines()}
    ours = notebook_lines(stored(script))
    for text in ours:
        assert text in own or any(g.match(text) for g in GENERATED), f"{script}: {text!r}"
    assert sum(text.count("begin") for text in ours) >= 2  # imported, and the run begun
    assert 'if __name__ == "__main__":' not in ours  # a cell never runs the terminal's entry
    skipped = standing_in(source)
    for k, line in enumerate(source.splitlines(), 1):
        code = line.strip()
        if code and not code.startswith("#") and k not in skipped:
            assert code in ours, f"{script}, line {k}: {line!r} is not in its notebook"


def test_a_line_the_converter_would_leave_out_is_found():
    """The check above fails for a script line its notebook lacks (a notebook made from the
    script with a constant added between two functions, checked against the script as it is
    not: here the other way round, the stored notebook against the script with the line)."""
    source = (ROOT / "questions/state.py").read_text()
    added = source.replace("\ndef unchanged(", "\nLIMIT = 3\n\n\ndef unchanged(", 1)
    missing = [
        line
        for k, line in enumerate(added.splitlines(), 1)
        if line.strip()
        and not line.strip().startswith("#")
        and k not in standing_in(added)
        and line.strip() not in notebook_lines(stored("questions/state.py"))
    ]
    assert missing == ["LIMIT = 3"]
    assert any(
        c.source.startswith("LIMIT = 3") for c in notebooks.cells("questions/state.py", added)
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_notebook_prints_what_its_page_shows(script):
    """The notebook records its page's run: what its cells printed (stdout, and Keras' summary,
    which a kernel shows as a display) is the page's whole output, and it draws the picture."""
    nb, page = stored(script), notebooks.page_of(script)
    assert notebooks.text_of(nb) == page_output(page)
    pictures = [
        o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(pictures) == (0 if page.name == "td_or_dense" else 1)  # td_or_dense: tables only
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_first_cell_chooses_the_pages_backend_and_flags(script):
    backend, argv = notebooks.run_of(script)
    setup = stored(script).cells[1].source
    assert f'os.environ["KERAS_BACKEND"] = {json.dumps(backend)}' in setup
    assert f"argv = {json.dumps(argv)}" in setup
    assert setup.index("KERAS_BACKEND") < setup.index("import repro")  # before Keras
    assert json.loads(json.dumps(stored(script).metadata.repro))["script"] == script


def flags_for(script: str, folder) -> list[str]:
    """--check, and --json and --plot into `folder`, as the page renderer adds them (they change
    nothing the cells print)."""
    out = folder / notebooks.page_of(script).name
    return ["--check", "--json", f"{out}.json", "--plot", f"{out}.png"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Script -> (the notebook, its exit status, its JSON, the kernel's own stderr) of each
    stored notebook run again in a new kernel with flags_for(), two at a time; and the folder."""
    import multiprocessing

    folder = tmp_path_factory.mktemp("notebooks")
    logs = [str(folder / f"{notebooks.name_of(s)}.kernel.log") for s in SCRIPTS]
    jobs = [(s, flags_for(s, folder), log) for s, log in zip(SCRIPTS, logs, strict=True)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:  # a kernel client each
        texts = pool.starmap(notebooks.rerun, jobs)
    found = {}
    for (script, _, log), text in zip(jobs, texts, strict=True):
        nb = nbformat.reads(text, as_version=4)
        status = int(nb.cells.pop().outputs[0]["text"].split()[-1])  # the copy's last cell
        data = json.loads((folder / f"{notebooks.page_of(script).name}.json").read_text())
        found[script] = nb, status, data, Path(log).read_text()
    return found, folder


@pytest.mark.slow  # every notebook's run, in real kernels
@pytest.mark.parametrize("script", SCRIPTS)
def test_each_notebook_runs_in_a_kernel_to_the_same_outputs(script, runs):
    """Run top to bottom in a new kernel, the stored notebook prints and draws the same bytes
    (skipped, naming them, where the versions are not the ones it records)."""
    nb, (again, status, data, _) = stored(script), runs[0][script]
    assert status == 0 and data["check_passed"] is True
    errors = [o for c in again.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    differ = differing(nb.metadata.repro["versions"], again.metadata.repro["versions"])
    if differ:
        pytest.skip("run with other versions: " + "; ".join(differ))
    again = notebooks.tidy(again)
    for k, (a, b) in enumerate(zip(nb.cells, again.cells, strict=True)):
        assert a.get("outputs") == b.get("outputs"), f"cell {k + 1}"


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_each_notebooks_page_is_what_its_run_prints_now(script, runs):
    """A notebook and its page are one run: the page (its text and its JSON) made from the
    notebook's run again is the stored page, byte for byte, with the versions it records. The
    questions' pages are checked here only; the article scripts' are also rendered in processes
    of their own (tests/test_default_runs.py)."""
    import subprocess

    page = notebooks.page_of(script)
    again, status, data, _ = runs[0][script]
    differ = test_default_runs.differing_versions(page, data)
    if differ:
        pytest.skip("run with other versions: " + "; ".join(differ))
    stored_json = (pages.FOLDER / f"{page.name}.json").read_text()
    assert json.dumps(pages.slim(data), indent=2) + "\n" == stored_json
    proc = subprocess.CompletedProcess(page.command, status, notebooks.text_of(again), "")
    text = pages.page_text(page, proc, data, runs[1])
    assert text == (pages.FOLDER / f"{page.name}.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_a_notebook_run_says_nothing_out_of_turn(script, runs):
    """On the kernel's own stderr (TensorFlow's C++ log goes there) and in the cells' stderr,
    only progress lines and the timing: nothing TensorFlow or Python said out of turn."""
    from conftest import said_out_of_turn

    again, _, _, kernel = runs[0][script]
    ours = "Kernel is running over TCP without encryption"  # ipykernel's own, about its transport
    kernel = "\n".join(line for line in kernel.splitlines() if ours not in line)
    cells = "".join(
        o["text"] for c in again.cells for o in c.get("outputs", []) if o.get("name") == "stderr"
    )
    assert said_out_of_turn(kernel) == [] and said_out_of_turn(cells) == []
    assert re.search(r"^seconds: ", cells, re.M)


@pytest.mark.slow  # starts JupyterLab's server
def test_jupyterlab_opens_a_notebook(tmp_path):
    """The extra "notebook" is what `jupyter lab notebooks/` needs: its server starts in the
    project and hands out a stored notebook, whole, as a reader's browser would ask for it."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}"]
    argv += ["--IdentityProvider.token=test", f"--ServerApp.root_dir={ROOT}", "--ip=127.0.0.1"]
    argv += ["--allow-root"]  # CI runs as root here
    env = {"JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path)}
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115  (closed when the server ends)
    server = subprocess.Popen(argv, env={**os.environ, **env}, stderr=log, stdout=log)
    url = f"http://127.0.0.1:{port}/api/contents/notebooks/state.ipynb?token=test"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(url, timeout=5) as answer:
                    got = json.loads(answer.read())
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab's server did not answer in 60 s")
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token=test", timeout=5)
        assert page.status == 200 and b"JupyterLab" in page.read()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert got["type"] == "notebook" and got["content"]["cells"][0]["source"].startswith("# Do ")
    nb, cells = stored("questions/state.py"), got["content"]["cells"]
    assert [c["source"] for c in cells] == [c.source for c in nb.cells]
    assert [c.get("outputs") for c in cells] == [c.get("outputs") for c in nb.cells]


def test_a_report_cell_run_again_starts_afresh(capsys):
    """In a notebook the report cell may run twice on one run: the second report is made of its
    own tables and claims, not the first's and its own (a claim failed once failed for good)."""
    from test_heads import BUDGETS, MEASURED, PARAMS, fake_run

    from questions import heads

    run = fake_run(100)
    never = {**MEASURED, "shared": [0] * 5}  # the article's head never reproduces: a claim fails
    assert heads.report(run, BUDGETS, PARAMS, never) == 1
    first = len(run.claims)
    assert heads.report(run, BUDGETS, PARAMS, MEASURED) == 0
    assert len(run.claims) == first and all(c["holds"] for c in run.claims)
    capsys.readouterr()
