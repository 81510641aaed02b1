"""The rendered runs (docs/runs/, repro/pages.py) and the README's answers: every row's command has
its page, every page is quoted, each answer cell quotes its page, every picture is there; the
pages that take no training are rendered again here and must be the same bytes. The slow tier
renders the rest that take under about 30 s (tests/test_default_runs.py)."""

import re

import pytest

from conftest import ROOT
from repro import pages

RUNS = ROOT / "docs" / "runs"
BY_COMMAND = {p.command: p for p in pages.PAGES}
QUOTE = re.compile(r'"([^"]+)"')


def readers_rows() -> list[list[str]]:
    """The README's Readers' questions table: question, command, answer cells per row."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Readers' questions")[1].split("\n## ")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[1:]]


def commands_in(text: str) -> set[str]:
    """Every `python ...` command written in backticks in a Markdown table's cells."""
    found = set()
    for line in text.splitlines():
        if line.startswith("|"):
            found.update(re.findall(r"`(python [^`]+)`", line))
    return found


def page_answer(page) -> str:
    text = (RUNS / f"{page.name}.md").read_text()
    return re.search(r"^\*\*Answer:\*\* (.*)$", text, re.M).group(1)


def page_output(page) -> str:
    text = (RUNS / f"{page.name}.md").read_text()
    return text.split("```text\n", 1)[1].split("\n```", 1)[0]


def test_every_readme_row_has_a_page_and_every_page_is_quoted():
    rows = readers_rows()
    assert len(rows) >= 15
    for question, command, answer in rows:
        commands = re.findall(r"`(python [^`]+)`", command)
        assert commands, f"no command in the row {question!r}"
        for c in commands:
            assert c in BY_COMMAND, f"no page renders {c!r}"
            assert f"(docs/runs/{BY_COMMAND[c].name}.md)" in answer, f"{c}: its page is not linked"
    quoted = commands_in((ROOT / "README.md").read_text())
    for doc in (ROOT / "docs").glob("*.md"):
        quoted |= commands_in(doc.read_text())
    assert set(BY_COMMAND) <= quoted, set(BY_COMMAND) - quoted


def test_each_answer_cell_quotes_its_pages_answer():
    """What the cell says in quotation marks is what the run printed: its Answer: line for a
    question, any line of its output for an article script (the derivation, say)."""
    for question, command, answer in readers_rows():
        rows_pages = [BY_COMMAND[c] for c in re.findall(r"`(python [^`]+)`", command)]
        quotes = [q.replace("\\|", "|") for q in QUOTE.findall(answer)]
        assert quotes, f"{question!r}: the answer quotes nothing from its run"
        said = "\n".join(page_answer(p) + "\n" + page_output(p) for p in rows_pages)
        for q in quotes:
            assert q in said, f"{question!r}: {q!r} is not what its commands printed"


def test_each_answer_cell_is_a_short_read_and_each_answer_line_at_most_60_words():
    """Answers a learner takes away: a README cell at most 50 words (its links aside), a
    question's Answer line at most 60."""
    for question, _, answer in readers_rows():
        text = re.sub(r"\[[^\]]*\]\([^)]*\)", "", answer)
        assert len(text.split()) <= 50, question
    for page in pages.PAGES:
        if page.answer == pages.ANSWER:
            assert len(page_answer(page).split()) <= 60, page.name


@pytest.mark.parametrize("page", pages.PAGES, ids=lambda p: p.name)
def test_every_page_is_there_with_its_picture_and_json(page):
    text = (RUNS / f"{page.name}.md").read_text()
    assert text.startswith(f"# {page.asks}\n") and f"```bash\n{page.command}\n```" in text
    for target in re.findall(r"\]\(([^)]+)\)", text):
        assert (RUNS / target).exists(), f"{page.name}: {target} is missing"
    if not page.refused and page.name not in ("framings", "td_or_dense"):  # td_or_dense: tables
        assert f"![{page.asks}]({page.name}.png)" in text  # every run draws its picture
    assert not re.search(r"seconds|\d\d:\d\d:\d\d", text)  # no timing, no clock on a page


def test_no_page_is_left_over():
    names = {p.name for p in pages.PAGES}
    stored = {f.stem for f in RUNS.iterdir() if f.name != "README.md"}
    assert stored == names


@pytest.mark.parametrize("name", ["framings", "units_82600"])
def test_the_pages_that_train_nothing_are_what_their_commands_print_now(name, tmp_path):
    """Cheap enough for the quick tier: a changed table or refusal shows here at once."""
    page = next(p for p in pages.PAGES if p.name == name)
    _, _, text = pages.render(page, tmp_path)
    assert text == (RUNS / f"{name}.md").read_text()


def test_a_studys_json_keeps_its_seeds_but_not_their_histories():
    data = {"seconds": {"fit": 1.0}, "study": {"seeds": [{"seed": 1, "history": [0.5]}]}}
    assert pages.slim(data) == {"study": {"seeds": [{"seed": 1}]}}


def test_a_failing_page_is_named_with_its_status_and_the_others_are_written(tmp_path):
    """A command that failed ended the render in a 44-line ValueError traceback that hid the
    cause, after every other page, with no summary and no index."""
    broken = pages.Page("broken", "python one_to_one.py --epochs 0", "A broken page", pages.ANSWER)
    framings = next(p for p in pages.PAGES if p.name == "framings")
    done = pages.render_all([broken, framings], tmp_path)
    failed = done["broken"]
    assert isinstance(failed, pages.PageFailed)
    assert str(failed).startswith("broken: exit status 2: one_to_one.py: error: argument --epochs")
    assert (tmp_path / "framings.md").exists() and not (tmp_path / "broken.md").exists()
    assert pages.summary(done) == (
        "error: 1 of 2 pages failed (broken); the others and the index were written"
    )
    assert pages.summary({"framings": done["framings"]}) is None


def _pages_cli(*args, **kw):
    import subprocess
    import sys

    kw.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, "-m", "repro.pages", *args],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        **kw,
    )


def test_the_renderers_list_into_a_full_or_closed_output_ends_in_one_line():
    """`--list > /dev/full` and `--list | head -2` ended in OSError / BrokenPipeError tracebacks."""
    with open("/dev/full", "w") as full:
        done = _pages_cli("--list", stdout=full)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    import subprocess
    import sys

    head = subprocess.run(
        f"{sys.executable} -m repro.pages --list | head -2",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert len(head.stdout.splitlines()) == 2 and head.stderr == ""


@pytest.mark.slow  # starts a render, then stops it
def test_ctrl_c_mid_render_is_one_line_and_writes_no_page(tmp_path):
    """It was a 60-line double traceback."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "repro.pages", "--folder", str(tmp_path), "one_to_one"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(600):  # until the page's command has started (a child of the renderer)
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
        if children.stdout.strip():
            break
        time.sleep(0.1)
    time.sleep(1)  # and is training: one_to_one.py takes several seconds
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert (proc.returncode, out, err) == (130, "", "interrupted\n")
    assert not (tmp_path / "one_to_one.md").exists()
