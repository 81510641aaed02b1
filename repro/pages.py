"""The rendered runs: every command the README and docs quote, run as a reader runs it, on a page
of its own under docs/runs/ with its whole standard output, its picture and its JSON file.

    python -m repro.pages              # render every page (see docs/runs/README.md for how long)
    python -m repro.pages NAME ...     # render only these pages
    python -m repro.pages --list       # each page: name, command, whether tests render it again

Each command runs in a process of its own from the project folder, as typed, with `--check`,
`--json` and `--plot` added (a script that draws nothing for a command draws its run anyway). A
page holds no timing and no date, and its JSON is the run's less its timings and the loss history
of each further seed of a study, so rendering twice with the same versions gives the same bytes.
The README quotes each page's answer: the line of the output that `answer` names.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from repro.files import write_output

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "docs" / "runs"


@dataclass(frozen=True)
class Page:
    """One command and the page it renders to."""

    name: str  # docs/runs/NAME.md, .json, .png
    command: str  # as a reader types it in the project folder
    asks: str  # the question (or the article's section) it answers
    answer: str  # a regular expression for the line of the output that is its answer
    quick: bool = True  # under about 30 s on TensorFlow: the slow tier renders it again
    refused: bool = False  # refused before training: its page shows what it says on stderr

    @property
    def writes_json(self) -> bool:
        """Whether the command trains and writes its JSON (all but a refusal and common.py)."""
        return not self.refused and shlex.split(self.command)[1] != "common.py"

    def argv(self, folder: Path = FOLDER) -> list[str]:
        """The command as run here: this Python, the script and its flags, and the outputs."""
        words = shlex.split(self.command)[1:]
        if not self.writes_json:
            return [sys.executable, *words]
        out = folder / self.name
        return [sys.executable, *words, "--check", "--json", f"{out}.json", "--plot", f"{out}.png"]


MISMATCHES = r"^  \d+ mismatch"  # an article script's verdict: its side-by-side block's last line
ANSWER = r"^Answer: "  # a question's
STUDY = r"^Seeds reproduced: "  # a reproduction study's: its rate at every budget
RAW = '--values "0 1 2 3 4" --seeds 100 --seed 0 --backend jax --verbose 0 --epochs 1500'
UNITS = "--backend jax --seeds 100 --seed 0 --verbose 0 --epochs 3000"
PAGES = [
    # the article's three sections, at its settings
    Page("one_to_one", "python one_to_one.py", "The article's one-to-one LSTM", MISMATCHES),
    Page("many_to_one", "python many_to_one.py", "The article's many-to-one LSTM", MISMATCHES),
    Page(
        "many_to_many_td",
        "python many_to_many_td.py",
        "The article's many-to-many LSTM, with TimeDistributed",
        MISMATCHES,
    ),
    # the readers' questions (README.md)
    Page(
        "td_or_dense",
        "python questions/td_or_dense.py",
        "TimeDistributed(Dense) or plain Dense: what is the difference?",
        ANSWER,
    ),
    Page(
        "heads",
        "python questions/heads.py --backend jax --seeds 100",
        "Many-to-one or many-to-many: which head learns the echo, and how soon?",
        ANSWER,
        quick=False,
    ),
    Page(
        "state",
        "python questions/state.py",
        "Do the samples in a batch share state? Is the many-to-one LSTM crippled?",
        ANSWER,
    ),
    Page(
        "echo_or_memorise",
        "python questions/echo_or_memorise.py --backend jax --seeds 20 --epochs 1000",
        "Does the trained model learn the echo, or memorise its one training sequence?",
        ANSWER,
        quick=False,
    ),
    Page(
        "forecast",
        "python questions/forecast.py",
        "Can the trained model predict the next value? Option A or option B?",
        ANSWER,
    ),
    Page(
        "forecast_seeds",
        "python questions/forecast.py --backend jax --seeds 5 --epochs 1500",
        "Option B over the training budget, 5 seeds",
        ANSWER,
        quick=False,
    ),
    Page(
        "outputs_length",
        "python questions/outputs_length.py",
        "Outputs of another length: many steps in, several out",
        ANSWER,
    ),
    Page(
        "outputs_length_seeds",
        "python questions/outputs_length.py --backend jax --seeds 5 --epochs 300",
        "Outputs of another length, trained twice as long, 5 seeds",
        ANSWER,
        quick=False,
    ),
    Page(
        "label_steps",
        "python questions/label_steps.py",
        "A class at every step: do the padded steps count?",
        ANSWER,
    ),
    Page(
        "label_steps_seeds",
        "python questions/label_steps.py --backend jax --seeds 20",
        "A class at every step, padding over 20 seeds",
        ANSWER,
        quick=False,
    ),
    Page(
        "class_weights",
        "python questions/class_weights.py",
        "Sample or class weights with 3D targets?",
        ANSWER,
    ),
    Page(
        "class_weights_seeds",
        "python questions/class_weights.py --backend jax --seeds 20",
        "Class weights with 3D targets, over 20 seeds",
        ANSWER,
        quick=False,
    ),
    Page(
        "sequence_label",
        "python questions/sequence_label.py --backend jax --seeds 10",
        "One label per sequence, or the label at every step?",
        ANSWER,
        quick=False,
    ),
    Page(
        "sequence_label_2048",
        "python questions/sequence_label.py --backend jax --seeds 10 --samples 2048",
        "One label per sequence, or at every step, with 8x the training sequences",
        ANSWER,
        quick=False,
    ),
    Page(
        "no_dense",
        "python questions/no_dense.py --backend jax --seeds 100 --epochs 3000",
        "Why a Dense after the LSTM: can the LSTM's own output be the prediction?",
        ANSWER,
        quick=False,
    ),
    Page(
        "bidirectional",
        "python questions/bidirectional.py --backend jax --seeds 100 --epochs 3000",
        "Bidirectional with TimeDistributed?",
        ANSWER,
        quick=False,
    ),
    Page(
        "cells",
        "python questions/cells.py --backend jax --seeds 100",
        "Is it the same with a GRU or a SimpleRNN?",
        ANSWER,
        quick=False,
    ),
    Page(
        "reproduce",
        "python many_to_many_td.py --backend jax --seeds 1000 --seed 88 --verbose 0 --epochs 3000",
        "Does the article's printout reproduce? 1000 seeds, read at 500 to 3000 epochs",
        STUDY,
        quick=False,
    ),
    Page(
        "reproduce_one_to_one",
        "python one_to_one.py --backend jax --seeds 1000 --seed 88 --verbose 0 --epochs 3000",
        "Does the one-to-one printout reproduce? 1000 seeds, read at 500 to 3000 epochs",
        STUDY,
        quick=False,
    ),
    Page(
        "reproduce_many_to_one",
        "python many_to_one.py --backend jax --seeds 1000 --seed 88 --verbose 0 --epochs 1500",
        "Does the many-to-one printout reproduce? 1000 seeds, read at 250 to 1500 epochs",
        STUDY,
        quick=False,
    ),
    Page(
        "units_2",
        f"python many_to_many_td.py {UNITS} --units 2",
        "Units tied to the length: 2 units, read at 500 to 3000 epochs",
        STUDY,
        quick=False,
    ),
    Page(
        "units_20",
        f"python many_to_many_td.py {UNITS} --units 20",
        "Units tied to the length: 20 units, read at 500 to 3000 epochs",
        STUDY,
        quick=False,
    ),
    Page(
        "raw",
        f"python many_to_one.py {RAW} --scale none",
        "Raw integers 0 1 2 3 4, read at 250 to 1500 epochs",
        STUDY,
        quick=False,
    ),
    Page(
        "scaled",
        f"python many_to_one.py {RAW} --scale minmax",
        "The same integers scaled to 0-1, read at 250 to 1500 epochs",
        STUDY,
        quick=False,
    ),
    Page(
        "framings",
        "python common.py",
        "Samples, time steps, features: which shape?",
        r"one_step_n_features",
    ),
    Page(
        "units_82600",
        "python one_to_one.py --length 82600",
        "I tied the units to a length of 82,600 and ran out of memory",
        r"error: ",
        refused=True,
    ),
]


def answer_of(page: Page, text: str) -> str:
    """The page's answer: the first line of `text` (what the run printed) that page.answer finds."""
    for line in text.splitlines():
        if re.search(page.answer, line):
            return line.strip()
    raise ValueError(f"{page.name}: no line of its output matches {page.answer!r}")


def slim(data):
    """The run's JSON without what differs from run to run (timings) or only makes it long (each
    further seed's loss history): what the page links to."""
    if isinstance(data, dict):
        return {k: slim(v) for k, v in data.items() if k != "seconds"}
    if isinstance(data, list):
        return [
            slim({k: v for k, v in d.items() if k != "history"} if isinstance(d, dict) else d)
            for d in data
        ]
    return data


def versions_line(data: dict | None) -> str:
    """The libraries, backend and precision the run computed with, as its JSON records them."""
    if data is None:
        return "Nothing was trained: no Keras, no backend."
    names = {
        "python": "Python",
        "keras": "Keras",
        "numpy": "NumPy",
        "tensorflow": "TensorFlow",
        "jax": "JAX",
        "torch": "PyTorch",
    }
    libraries = ", ".join(f"{names.get(k, k)} {v}" for k, v in data["versions"].items())
    return f"Backend {data['backend']} ({data.get('floatx', 'float32')}); {libraries}."


def page_text(
    page: Page, proc: subprocess.CompletedProcess, data: dict | None, folder: Path
) -> str:
    """The page in Markdown."""
    shown = proc.stderr if page.refused else proc.stdout
    added = "" if page.refused or data is None else " (rendered with `--check --json --plot` added)"
    lines = [
        f"# {page.asks}",
        "",
        "[All rendered runs](README.md) · [the README](../../README.md)",
        "",
        f"```bash\n{page.command}\n```",
        "",
        f"{versions_line(data)} Exit status {proc.returncode}{added}.",
        "",
        f"**Answer:** {answer_of(page, shown).removeprefix('Answer: ')}",
        "",
        "## What it printed"
        + (" (on standard error: refused before training)" if page.refused else ""),
        "",
        "```text",
        shown.rstrip("\n"),
        "```",
    ]
    if data is not None:
        if (folder / f"{page.name}.png").exists():
            lines += ["", "## The picture", "", f"![{page.asks}]({page.name}.png)"]
        lines += ["", f"The run's [JSON file]({page.name}.json), less its timings."]
    return "\n".join(lines) + "\n"


class PageFailed(Exception):
    """A page's command failed, or printed no answer: one line naming the page, its exit status
    and the last lines of what it said on stderr."""


_running: set = set()  # the commands running now: ended with the renderer
_stopping = threading.Event()  # set on Ctrl-C: a command that ends after it writes no page


def run(page: Page, folder: Path = FOLDER) -> tuple[subprocess.CompletedProcess, dict | None]:
    """Run the page's command as a reader would, its --json and --plot into `folder`: the
    process, and the JSON as the run wrote it (None if it wrote none)."""
    drop = ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL")  # a reader's defaults: TensorFlow, as set
    env = {k: v for k, v in os.environ.items() if k not in drop} | {"PYTHONHASHSEED": "0"}
    proc = subprocess.Popen(
        page.argv(folder),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own group: the renderer decides when it ends
    )
    _running.add(proc)
    try:
        out, err = proc.communicate()
    finally:
        _running.discard(proc)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    path = folder / f"{page.name}.json"
    return done, (json.loads(path.read_text()) if path.exists() and not page.refused else None)


def write(page: Page, proc, data: dict | None, folder: Path = FOLDER) -> str:
    """Write the page and its slimmed JSON into `folder`; return the page's text."""
    markdown = page_text(page, proc, data, folder)  # first: a page without its answer fails
    if data is not None:
        text = json.dumps(slim(data), indent=2) + "\n"
        write_output(str(folder / f"{page.name}.json"), lambda f: f.write(text.encode()))
    write_output(str(folder / f"{page.name}.md"), lambda f: f.write(markdown.encode()))
    return markdown


def render(page: Page, folder: Path = FOLDER) -> tuple:
    """Run the page's command and write its page: (the process, its JSON as written, the page).
    Raises PageFailed (and writes nothing) when the command failed or printed no answer."""
    proc, data = run(page, folder)
    if _stopping.is_set():  # interrupted as its command ended: nothing of it is written
        raise PageFailed(f"{page.name}: interrupted")
    expected = 2 if page.refused else 0
    if proc.returncode != expected or (data is None and page.writes_json):
        last = " | ".join(proc.stderr.strip().splitlines()[-3:]) or "nothing on stderr"
        raise PageFailed(f"{page.name}: exit status {proc.returncode}: {last}")
    try:
        return proc, data, write(page, proc, data, folder)
    except ValueError as e:  # no line of its output is the answer
        raise PageFailed(str(e)) from None


def render_all(pages: list[Page], folder: Path = FOLDER, said=None) -> dict:
    """Every page in `pages`, two at a time (one command per core): name -> render()'s tuple,
    or the PageFailed of a page that failed (the others carry on). `said(line)` hears of each
    page as it ends. Ctrl-C (or SIGTERM) ends the commands running and raises
    KeyboardInterrupt."""
    _stopping.clear()
    folder.mkdir(parents=True, exist_ok=True)
    results = {}
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        futures = {pool.submit(render, p, folder): p for p in pages}
        for future in as_completed(futures):
            page = futures[future]
            try:
                results[page.name] = future.result()
                line = f"docs/runs/{page.name}.md: written"
            except PageFailed as e:
                results[page.name] = e
                line = f"failed: {e}"
            if said:
                said(line)
    except KeyboardInterrupt:
        _stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list(_running):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        raise
    pool.shutdown()
    return {p.name: results[p.name] for p in pages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m repro.pages", description=__doc__.splitlines()[0]
    )
    parser.add_argument("names", nargs="*", help="the pages to render (default: all)")
    parser.add_argument("--list", action="store_true", help="list the pages and stop")
    parser.add_argument(
        "--folder", type=Path, default=FOLDER, help="where to write them (default: docs/runs)"
    )
    args = parser.parse_args(argv)
    by_name = {p.name: p for p in PAGES}
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        parser.error(f"no page called {', '.join(unknown)}; --list lists them")
    if args.list:
        for p in PAGES:
            print(f"{p.name:24} {'quick' if p.quick else 'slow ':5}  {p.command}")
        return 0
    chosen = [by_name[n] for n in args.names] if args.names else PAGES
    done = render_all(chosen, args.folder, lambda line: print(line, file=sys.stderr, flush=True))
    index(PAGES, args.folder)
    said = summary(done)
    if said:
        print(said, file=sys.stderr)
    return 1 if said else 0


def summary(done: dict) -> str | None:
    """One line for the pages that failed in render_all's `done`, or None if none did."""
    failed = [name for name, d in done.items() if isinstance(d, PageFailed)]
    if not failed:
        return None
    return (
        f"error: {len(failed)} of {len(done)} pages failed ({', '.join(failed)}); the others "
        "and the index were written"
    )


def first_page(script: str) -> Page:
    """The first page whose command runs `script`: the run its notebook records."""
    return next(p for p in PAGES if shlex.split(p.command)[1] == script)


def notebook_of(page: Page) -> str:
    """A link to the notebook that records this page's run, or nothing."""
    script = shlex.split(page.command)[1]
    path = ROOT / "notebooks" / f"{Path(script).stem}.ipynb"
    mine = first_page(script) is page and path.exists()
    return f"[{path.name}](../../notebooks/{path.name})" if mine else ""


def index(pages: list[Page], folder: Path = FOLDER) -> None:
    """docs/runs/README.md: every page, its command and its answer."""
    lines = [
        "# Rendered runs",
        "",
        "Every command the [README](../../README.md) and the docs quote, run as a reader runs",
        "it, by `python -m repro.pages` (see [testing.md](../testing.md#rendered-runs) for how",
        "long that takes and how the tests keep these pages honest). Each page has the command,",
        "the versions it ran on, its answer, all it printed, its picture and its JSON file.",
        "",
        "Each article script and question is also a notebook holding its first page's run (the",
        "last column), made from the script by `python -m repro.notebooks`.",
        "",
        "| page | command | notebook |",
        "|---|---|---|",
    ]
    lines += [f"| [{p.asks}]({p.name}.md) | `{p.command}` | {notebook_of(p)} |" for p in pages]
    text = "\n".join(lines) + "\n"
    write_output(str(folder / "README.md"), lambda f: f.write(text.encode()))


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)  # Ctrl-C, SIGTERM, a closed or full output: one line, as the scripts
