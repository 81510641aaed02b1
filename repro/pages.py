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
import json
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
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

    def argv(self, folder: Path = FOLDER) -> list[str]:
        """The command as run here: this Python, the script and its flags, and the outputs."""
        words = shlex.split(self.command)[1:]
        if self.refused or words[0] == "common.py":
            return [sys.executable, *words]
        out = folder / self.name
        return [sys.executable, *words, "--check", "--json", f"{out}.json", "--plot", f"{out}.png"]


MISMATCHES = r"^  \d+ mismatch"  # an article script's verdict: its side-by-side block's last line
ANSWER = r"^Answer: "  # a question's
STUDY = r"^reproduced in \d+/\d+ seeds"  # a reproduction study's
RAW = '--values "0 1 2 3 4" --seeds 20 --seed 0 --backend jax --verbose 0'
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
        "state",
        "python questions/state.py",
        "Do the samples in a batch share state? Is the many-to-one LSTM crippled?",
        ANSWER,
    ),
    Page(
        "heads",
        "python questions/td_or_dense.py --train --backend jax",
        "Many-to-one or many-to-many: which learns the echo?",
        ANSWER,
        quick=False,
    ),
    Page(
        "heads_1500",
        "python questions/td_or_dense.py --train --backend jax --epochs 1500",
        "Which head learns the echo, given 1500 epochs?",
        ANSWER,
        quick=False,
    ),
    Page(
        "heads_units_20",
        "python questions/td_or_dense.py --train --backend jax --units 20",
        "Which head learns the echo with 20 units?",
        ANSWER,
        quick=False,
    ),
    Page(
        "echo_or_memorise",
        "python questions/echo_or_memorise.py",
        "Does the trained model learn the echo, or memorise its one sequence?",
        ANSWER,
    ),
    Page(
        "forecast",
        "python questions/forecast.py",
        "Can the trained model predict the next value?",
        ANSWER,
    ),
    Page(
        "forecast_seeds",
        "python questions/forecast.py --seeds 5 --backend jax",
        "Option A or option B, over seeds",
        ANSWER,
        quick=False,
    ),
    Page(
        "forecast_8_5",
        "python questions/forecast.py --window 8 --horizon 5",
        "Several steps in, several out: a vector, an encoder-decoder, or predictions fed back?",
        ANSWER,
    ),
    Page(
        "forecast_features",
        "python questions/forecast.py --features 2",
        "Several values a step, and the shape error of 2D targets",
        ANSWER,
    ),
    Page(
        "label_steps",
        "python questions/label_steps.py",
        "A class at every step; padded steps; sample and class weights",
        ANSWER,
    ),
    Page(
        "label_steps_40",
        "python questions/label_steps.py --epochs 40",
        "A class at every step, trained 40 epochs",
        ANSWER,
        quick=False,
    ),
    Page(
        "sequence_label",
        "python questions/sequence_label.py",
        "One label per sequence, or the label at every step?",
        ANSWER,
        quick=False,
    ),
    Page(
        "no_dense",
        "python questions/no_dense.py --backend jax",
        "Why a Dense after the LSTM: can the LSTM's own output be the prediction?",
        ANSWER,
        quick=False,
    ),
    Page(
        "bidirectional",
        "python questions/bidirectional.py --backend jax --seeds 100",
        "Bidirectional with TimeDistributed?",
        ANSWER,
        quick=False,
    ),
    Page(
        "cells",
        "python questions/cells.py --backend jax",
        "Is it the same with a GRU or a SimpleRNN?",
        ANSWER,
        quick=False,
    ),
    Page(
        "reproduce",
        "python many_to_many_td.py --backend jax --seeds 1000 --seed 88 --verbose 0",
        "Does the article's printout reproduce? 1000 seeds",
        STUDY,
        quick=False,
    ),
    Page(
        "reproduce_1500",
        "python many_to_many_td.py --backend jax --seeds 1000 --seed 88 --verbose 0 --epochs 1500",
        "Does it reproduce with 1500 epochs?",
        STUDY,
        quick=False,
    ),
    Page(
        "reproduce_one_to_one",
        "python one_to_one.py --backend jax --seeds 1000 --seed 88 --verbose 0",
        "Does the one-to-one printout reproduce? 1000 seeds",
        STUDY,
        quick=False,
    ),
    Page(
        "reproduce_many_to_one",
        "python many_to_one.py --backend jax --seeds 1000 --seed 88 --verbose 0",
        "Does the many-to-one printout reproduce? 1000 seeds",
        STUDY,
        quick=False,
    ),
    Page(
        "units_2",
        "python many_to_many_td.py --backend jax --units 2 --seeds 100 --seed 0 --verbose 0",
        "Units tied to the length: 2 units",
        STUDY,
        quick=False,
    ),
    Page(
        "units_20",
        "python many_to_many_td.py --backend jax --units 20 --seeds 100 --seed 0 --verbose 0",
        "Units tied to the length: 20 units",
        STUDY,
        quick=False,
    ),
    Page(
        "raw_500",
        f"python many_to_one.py {RAW} --scale none",
        "Raw integers 0 1 2 3 4, at the article's 500 epochs",
        STUDY,
        quick=False,
    ),
    Page(
        "raw_1000",
        f"python many_to_one.py {RAW} --scale none --epochs 1000",
        "Raw integers, 1000 epochs",
        STUDY,
        quick=False,
    ),
    Page(
        "raw_2000",
        f"python many_to_one.py {RAW} --scale none --epochs 2000",
        "Raw integers, 2000 epochs",
        STUDY,
        quick=False,
    ),
    Page(
        "scaled_500",
        f"python many_to_one.py {RAW} --scale minmax",
        "The same integers scaled to 0-1, 500 epochs",
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


def run(page: Page, folder: Path = FOLDER) -> tuple[subprocess.CompletedProcess, dict | None]:
    """Run the page's command as a reader would, its --json and --plot into `folder`: the
    process, and the JSON as the run wrote it (None if it wrote none)."""
    drop = ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL")  # a reader's defaults: TensorFlow, as set
    env = {k: v for k, v in os.environ.items() if k not in drop} | {"PYTHONHASHSEED": "0"}
    proc = subprocess.run(page.argv(folder), cwd=ROOT, capture_output=True, text=True, env=env)
    path = folder / f"{page.name}.json"
    return proc, (json.loads(path.read_text()) if path.exists() and not page.refused else None)


def write(page: Page, proc, data: dict | None, folder: Path = FOLDER) -> str:
    """Write the page and its slimmed JSON into `folder`; return the page's text."""
    if data is not None:
        text = json.dumps(slim(data), indent=2) + "\n"
        write_output(str(folder / f"{page.name}.json"), lambda f: f.write(text.encode()))
    markdown = page_text(page, proc, data, folder)
    write_output(str(folder / f"{page.name}.md"), lambda f: f.write(markdown.encode()))
    return markdown


def render(page: Page, folder: Path = FOLDER) -> tuple:
    """Run the page's command and write its page: (the process, its JSON as written, the page)."""
    proc, data = run(page, folder)
    return proc, data, write(page, proc, data, folder)


def render_all(pages: list[Page], folder: Path = FOLDER) -> dict:
    """Every page in `pages`, two at a time (one command per core): name -> render()'s tuple."""
    folder.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = pool.map(lambda p: render(p, folder), pages)
        return {p.name: d for p, d in zip(pages, done, strict=True)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m repro.pages", description=__doc__.splitlines()[0]
    )
    parser.add_argument("names", nargs="*", help="the pages to render (default: all)")
    parser.add_argument("--list", action="store_true", help="list the pages and stop")
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
    for name, (proc, _, _) in render_all(chosen).items():
        print(f"docs/runs/{name}.md: exit status {proc.returncode}", file=sys.stderr)
    index(PAGES)
    return 0


def index(pages: list[Page]) -> None:
    """docs/runs/README.md: every page, its command and its answer."""
    lines = [
        "# Rendered runs",
        "",
        "Every command the [README](../../README.md) and the docs quote, run as a reader runs",
        "it, by `python -m repro.pages` (see [testing.md](../testing.md#rendered-runs) for how",
        "long that takes and how the tests keep these pages honest). Each page has the command,",
        "the versions it ran on, its answer, all it printed, its picture and its JSON file.",
        "",
        "| page | command |",
        "|---|---|",
    ]
    lines += [f"| [{p.asks}]({p.name}.md) | `{p.command}` |" for p in pages]
    text = "\n".join(lines) + "\n"
    write_output(str(FOLDER / "README.md"), lambda f: f.write(text.encode()))


if __name__ == "__main__":
    sys.exit(main())
