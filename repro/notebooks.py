"""The notebooks: each article script and each question as a Jupyter notebook made from the
script itself, with the outputs of its page's run in a real kernel.

    python -m repro.notebooks            # make and run every notebook into notebooks/
    python -m repro.notebooks NAME ...   # only these (one_to_one, state, ...)
    python -m repro.notebooks --stale    # list the notebooks whose cells differ from their script

A notebook's cells are its script's lines: the docstring as Markdown; a first cell that makes the
suite importable and chooses the backend, once, before Keras is imported; the imports and
constants; the functions the lesson calls; then main()'s body, a cell per `## ` section, where
`with X as run:` becomes `run = begin(X)` (the cells below are its block) and `return X` becomes
`status = X`; then the report's functions and the cell that reports, the picture inline. The
run is its page's (repro/pages.py): the page's backend in the first cell, its other flags in
`argv`. Stored are what the cells print, their pictures and any error; what goes to stderr
(progress, timings) is left out, as the pages leave it out.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import re
import shlex
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "notebooks"
ARTICLE = ["one_to_one.py", "many_to_one.py", "many_to_many_td.py"]
GENERATOR = "repro.notebooks"  # in each notebook's metadata: what made it
SETUP = """\
# Where the suite is, and the backend: chosen here, before Keras is imported (to change it
# later, restart the kernel: a process keeps the backend it imported Keras with)
import os
import sys

os.environ["KERAS_BACKEND"] = {backend}  # one of "tensorflow", "jax", "torch"
# the script's flags, as on its command line (its page's run)
argv = {argv}
try:
    import repro  # the suite, installed by pip install -e ".[notebook]"
except ImportError:  # a kernel without it (Colab after cloning): install it from this clone
    %pip install -q -e ..
    sys.path.insert(0, os.path.abspath(".."))
    import repro  # an error here: the install above failed (it says why)"""

_entered: list = []  # the contexts begin() entered: kept open for the kernel's life


def begin(context):
    """Enter a `with` statement's context and return what `as` would name: in a notebook the
    cells after it are the block. A context that takes standard output for itself (`--json -`)
    cannot span cells: refused in one line, as a bad flag is."""
    stdout = sys.stdout
    entered = context.__enter__()
    if sys.stdout is not stdout:
        context.__exit__(None, None, None)
        print(
            "error: --json - cannot be used in a notebook's cells; give --json a file",
            file=sys.stderr,
        )
        raise SystemExit(2)
    _entered.append(context)
    return entered


def scripts() -> list[str]:
    """Every script with a notebook, as paths from the project folder."""
    return ARTICLE + sorted(f"questions/{p.name}" for p in (ROOT / "questions").glob("[!_]*.py"))


def name_of(script: str) -> str:
    return Path(script).stem


def page_of(script: str):
    """The page whose run the notebook records: the first whose command runs the script."""
    from repro import pages

    return pages.first_page(script)


def run_of(script: str) -> tuple[str, list[str]]:
    """(backend, the other flags) of the script's page's command."""
    words = shlex.split(page_of(script).command)[2:]
    backend = "tensorflow"
    if "--backend" in words:
        at = words.index("--backend")
        backend = words[at + 1]
        del words[at : at + 2]
    return backend, words


def _span(lines: list[str], node) -> tuple[int, int]:
    """(first, last) 0-based line of a top-level node, with the comment lines right above it."""
    first = (node.decorator_list[0] if getattr(node, "decorator_list", None) else node).lineno - 1
    while first > 0 and lines[first - 1].lstrip().startswith("#"):
        first -= 1
    return first, node.end_lineno - 1


def _text(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n")


def _sections(body: list[str], indent: int) -> list[tuple[str | None, list[str]]]:
    """main()'s block cut at its `## ` comments: (heading with what follows it on its comment
    lines, the code under it); the code before the first heading has None."""
    out: list[tuple[str | None, list[str]]] = [(None, [])]
    heading = None
    for line in body:
        if line[:indent].strip() == "" and line[indent:].startswith("## "):
            heading = line[indent + 3 :]
            out.append((heading, []))
            continue
        if heading is not None and not out[-1][1] and line[indent:].startswith("# "):
            out[-1] = (out[-1][0] + " " + line[indent + 2 :], [])  # the heading's next line
            continue
        heading = None if line.strip() else heading
        out[-1][1].append(line)
    return out


def _markdown(heading: str) -> str:
    title, _, rest = heading.partition(": ")
    return f"## {title}" + (f"\n\n{rest}" if rest else "")


def cells(script: str, source: str | None = None) -> list:
    """The notebook's cells (without outputs), made from the script's own lines (or `source`,
    another text of it)."""
    import nbformat.v4 as nbf

    source = (ROOT / script).read_text() if source is None else source
    lines = source.splitlines()
    tree = ast.parse(source)
    doc = ast.get_docstring(tree, clean=True)
    title, _, rest = doc.partition("\n")
    out = [nbf.new_markdown_cell(f"# {title}\n{rest}".rstrip())]
    backend, argv = run_of(script)
    setup = SETUP.format(backend=json.dumps(backend), argv=json.dumps(argv))
    out.append(nbf.new_code_cell(setup))
    nodes = tree.body[1:]  # after the docstring
    defs = [n for n in nodes if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    main = next(n for n in defs if n.name == "main")
    report_at = next((i for i, line in enumerate(lines) if line == "## Report"), len(lines))
    prelude = [n for n in nodes if n.lineno < defs[0].lineno]
    code = _text(lines[_span(lines, prelude[0])[0] : _span(lines, defs[0])[0]])
    block = main.body[-1]
    if not isinstance(block, ast.With) or any(isinstance(n, ast.With) for n in main.body[:-1]):
        raise ValueError(f"{script}: main() must end in its one with statement")
    if "__doc__" in ast.unparse(block.items[0].context_expr):
        code += f"\nfrom {script[:-3].replace('/', '.')} import __doc__  # the question, above"
    code += "\nfrom repro.notebooks import begin  # enters a with-statement: its block is below"
    out.append(nbf.new_code_cell(code))
    guard = [n for n in nodes if isinstance(n, ast.If) and "__name__" in ast.unparse(n.test)]
    before = [n for n in nodes if defs[0].lineno <= n.lineno < main.lineno]
    helpers = [n for n in nodes if main.lineno < n.lineno < report_at and n not in guard]
    reporting = [n for n in nodes if n.lineno > report_at and n not in guard]
    if helpers:
        out.append(nbf.new_markdown_cell("The lesson's functions (after `main()` in the script):"))
    out += [nbf.new_code_cell(text) for text in _chunks(lines, before + helpers)]
    # main(): what comes before the with statement, then its contexts entered by begin()
    first = main.body[1] if ast.get_docstring(main) else main.body[0]
    indent = first.col_offset
    head = [line[indent:] for line in lines[_span(lines, first)[0] : block.lineno - 1]]
    for item in block.items:
        entered = f"begin({ast.get_source_segment(source, item.context_expr)})"
        target = item.optional_vars
        head.append(f"{ast.unparse(target)} = {entered}" if target else entered)
    inner = block.body[0].col_offset
    body_first = _span(lines, block.body[0])[0]
    returned = block.body[-1] if isinstance(block.body[-1], ast.Return) else None
    body_last = (returned.lineno - 1 if returned else block.end_lineno) - 1
    sections = _sections(lines[body_first : body_last + 1], inner)
    out.append(nbf.new_code_cell(_text(head)))
    for heading, body in sections:
        if heading is not None:
            out.append(nbf.new_markdown_cell(_markdown(heading)))
        text = _text([line[inner:] for line in body])
        if text:
            out.append(nbf.new_code_cell(text))
    if reporting:
        out.append(nbf.new_markdown_cell("## Report"))
        out += [nbf.new_code_cell(text) for text in _chunks(lines, reporting)]
    if returned:
        last = lines[returned.lineno - 1 : returned.end_lineno]
        out.append(
            nbf.new_code_cell(textwrap.dedent("\n".join(last)).replace("return ", "status = ", 1))
        )
    return out


def _quiet(text: str) -> str:
    """The cell's text with `;` after a last expression, as notebooks write it: Jupyter would
    show what the call returns (fit's History, at another address every run)."""
    tree = ast.parse(text)
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr) or ast.unparse(last.value).startswith("print("):
        return text
    lines = text.splitlines()
    end = lines[last.end_lineno - 1]
    lines[last.end_lineno - 1] = end[: last.end_col_offset] + ";" + end[last.end_col_offset :]
    return "\n".join(lines)


def _chunks(lines: list[str], nodes: list) -> list[str]:
    """A cell's text per function or class, and one for each run of other statements."""
    out, loose = [], False
    for node in nodes:
        first, last = _span(lines, node)
        text = _text(lines[first : last + 1])
        if loose and not isinstance(node, ast.FunctionDef | ast.ClassDef):
            out[-1] += "\n" + text
        else:
            out.append(text)
        loose = not isinstance(node, ast.FunctionDef | ast.ClassDef)
    return out


def make(script: str, source: str | None = None):
    """The notebook of `script` (or of `source`, another text of it), without outputs."""
    import nbformat.v4 as nbf

    made = cells(script, source)
    for k, cell in enumerate(made):
        cell.id = f"cell-{k + 1}"  # not random: made twice, the same bytes
        if cell.cell_type == "code" and k > 1:  # the script's cells (after the first)
            cell.source = _quiet(cell.source)
    nb = nbf.new_notebook(cells=made)
    nb.metadata.update(
        kernelspec={"name": "python3", "display_name": "Python 3", "language": "python"},
        repro={
            "script": script,
            "made_by": GENERATOR,
            "page": f"docs/runs/{page_of(script).name}.md",
        },
    )
    return nb


def versions() -> dict:
    """The versions a kernel of this Python computes with: what a notebook records of its run."""
    import importlib.metadata as meta
    import platform

    names = ("keras", "numpy", "tensorflow", "jax", "torch", "matplotlib", "ipykernel")
    found = {"python": platform.python_version()}
    for name in names:
        with contextlib.suppress(meta.PackageNotFoundError):
            found[name] = meta.version(name)
    return found


def execute(nb, timeout: int = 900, kernel_log: str | None = None):
    """Run the notebook's cells in a new Jupyter kernel started in notebooks/ (they stop at the
    first error) and record the versions; what the kernel process writes to its stderr
    (TensorFlow's C++ log) goes to `kernel_log`, or nowhere. Returns the notebook."""
    import os

    from nbclient import NotebookClient

    FOLDER.mkdir(exist_ok=True)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(FOLDER)}},
        record_timing=False,
    )
    drop = ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL")  # a reader's defaults, as the pages run
    env = {k: v for k, v in os.environ.items() if k not in drop} | {"PYTHONHASHSEED": "0"}
    with open(kernel_log or os.devnull, "w") as log:
        client.execute(stderr=log, env=env)
    nb.metadata.repro["versions"] = versions()
    return nb


def tidy(nb):
    """A copy of the notebook without what its cells wrote to stderr (progress lines, timings),
    each run of stdout in one output (the kernel sends it in pieces as it comes)."""
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for o in cell.outputs:
            if o.get("name") == "stderr":
                continue
            if o.get("name") == "stdout" and kept and kept[-1].get("name") == "stdout":
                kept[-1].text += o.text
            else:
                kept.append(o)
        cell.outputs = kept
    return nb


def plain(text: str) -> str:
    """`text` without its terminal colours (rich's in Keras' summary, IPython's tracebacks)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def text_of(nb) -> str:
    """What the notebook's cells printed, in order: their stdout and the text of their displays
    (Keras' summary is a display in a kernel), as a terminal shows them, without colours."""
    said = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "stream" and o.name == "stdout":
                said.append(o.text)
            elif "text/plain" in o.get("data", {}) and "image/png" not in o.data:
                said.append(o.data["text/plain"])  # rich's lines end in a newline
    return plain("".join(said))


def path_of(script: str) -> Path:
    return FOLDER / f"{name_of(script)}.ipynb"


def write(nb, path: Path) -> None:
    import nbformat

    from repro.files import write_output

    text = nbformat.writes(nb) + "\n"
    write_output(str(path), lambda f: f.write(text.encode()))


def stale(script: str, source: str | None = None) -> str | None:
    """Why the stored notebook of `script` is not what the script (or `source`, another text of
    it) makes now, or None."""
    import nbformat

    path = path_of(script)
    if not path.exists():
        return f"{path.relative_to(ROOT)} is missing"
    stored = nbformat.read(path, as_version=4)
    made = make(script, source)
    pairs = list(zip(stored.cells, made.cells, strict=False))  # then the counts
    for k, (a, b) in enumerate(pairs):
        if (a.cell_type, a.source) != (b.cell_type, b.source):
            return f"{path.relative_to(ROOT)}: cell {k + 1} differs from {script}"
    if len(stored.cells) != len(made.cells):
        counts = f"{len(stored.cells)} cells, {script} makes {len(made.cells)}"
        return f"{path.relative_to(ROOT)}: {counts}"
    if any(c.cell_type == "code" and c.execution_count is None for c in stored.cells):
        return f"{path.relative_to(ROOT)}: a cell was never run"
    return None


def rerun(script: str, flags: list[str], kernel_log: str) -> str:
    """The stored notebook of `script` run again in a new kernel with `flags` added to its
    argv, and a last cell that prints its exit status; as text (for the tests)."""
    import nbformat
    import nbformat.v4 as nbf

    nb = nbformat.read(path_of(script), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.cells[1].source += f"\nargv += {json.dumps(flags)}"
    nb.cells.append(nbf.new_code_cell('print(f"exit status {status}")'))
    return nbformat.writes(execute(nb, kernel_log=kernel_log))


def _ignore_ctrl_c() -> None:
    """A worker's: Ctrl-C is the parent's to handle (its kernel is interrupted all the same)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def remake(script: str) -> str:
    """Make the notebook of `script`, run it and write it; one line saying so."""
    write(tidy(execute(make(script))), path_of(script))
    return f"{path_of(script).relative_to(ROOT)}: written"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m repro.notebooks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("names", nargs="*", help="the notebooks to make (default: all)")
    parser.add_argument(
        "--stale", action="store_true", help="list the stale notebooks (exit 1 if any) and stop"
    )
    args = parser.parse_args(argv)
    by_name = {name_of(s): s for s in scripts()}
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        parser.error(f"no script called {', '.join(unknown)}; the names: {', '.join(by_name)}")
    chosen = [by_name[n] for n in args.names] if args.names else list(by_name.values())
    import importlib.util

    missing = [m for m in ("nbformat", "nbclient", "ipykernel") if not importlib.util.find_spec(m)]
    if missing:
        print(
            f'error: {", ".join(missing)} not installed: pip install -e ".[notebook]"',
            file=sys.stderr,
        )
        return 2
    if args.stale:
        said = [why for why in map(stale, chosen) if why]
        print("\n".join(said) if said else f"{len(chosen)} notebooks up to date")
        return 1 if said else 0
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    failed = []
    spawn = multiprocessing.get_context("spawn")  # a kernel client each, nothing shared
    pool = ProcessPoolExecutor(max_workers=2, mp_context=spawn, initializer=_ignore_ctrl_c)
    try:  # a kernel per core
        futures = {pool.submit(remake, s): s for s in chosen}
        for future, script in futures.items():
            try:
                print(future.result(), file=sys.stderr, flush=True)
            except Exception as e:  # a cell failed: nbclient names it and its error
                failed.append(name_of(script))
                last = plain(str(e)).strip().splitlines()[-1:] or [type(e).__name__]
                print(f"failed: {name_of(script)}: {last[0]}", file=sys.stderr, flush=True)
    finally:  # on Ctrl-C: what has not started is cancelled, nothing half-written is left
        pool.shutdown(cancel_futures=True)
    if failed:
        names = ", ".join(failed)
        print(f"error: {len(failed)} of {len(chosen)} notebooks failed ({names})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)
