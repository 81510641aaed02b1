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

    @property
    def argv(self) -> list[str]:
        """The command as run here: this Python, the script and its flags, and the outputs."""
        words = shlex.split(self.command)[1:]
        if self.refused or words[0] == "common.py":
            return [sys.executable, *words]
        out = FOLDER / self.name
        return [sys.executable, *words, "--check", "--json", f"{out}.json", "--plot", f"{out}.png"]


PAGES = [
    Page("one_to_one", "python one_to_one.py", "The article's one-to-one LSTM", r"^  \d+ mismatch"),
    Page(
        "many_to_one", "python many_to_one.py", "The article's many-to-one LSTM", r"^  \d+ mismatch"
    ),
    Page(
        "many_to_many_td",
        "python many_to_many_td.py",
        "The article's many-to-many LSTM, with TimeDistributed",
        r"^  \d+ mismatch",
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


def page_text(page: Page, proc: subprocess.CompletedProcess, data: dict | None) -> str:
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
        if (FOLDER / f"{page.name}.png").exists():
            lines += ["", "## The picture", "", f"![{page.asks}]({page.name}.png)"]
        lines += ["", f"The run's [JSON file]({page.name}.json), less its timings."]
    return "\n".join(lines) + "\n"


def render(page: Page) -> str:
    """Run the page's command and write its page and JSON (its --plot wrote the picture); return
    the page's text."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL")
    }
    env["PYTHONHASHSEED"] = "0"
    proc = subprocess.run(page.argv, cwd=ROOT, capture_output=True, text=True, env=env)
    path = FOLDER / f"{page.name}.json"
    data = json.loads(path.read_text()) if path.exists() and not page.refused else None
    if data is not None:
        text = json.dumps(slim(data), indent=2) + "\n"
        write_output(str(path), lambda f: f.write(text.encode()))
    page_md = page_text(page, proc, data)
    write_output(str(FOLDER / f"{page.name}.md"), lambda f: f.write(page_md.encode()))
    return page_md


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
    FOLDER.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=2) as pool:  # one command per core
        for page, _ in zip(chosen, pool.map(render, chosen), strict=True):
            print(f"rendered docs/runs/{page.name}.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
