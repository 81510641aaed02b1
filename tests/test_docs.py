"""The README and docs/: links that resolve, every flag documented, every question in the table."""

import re

import pytest

from conftest import ALL_SCRIPTS, ROOT, run_main, script_module

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(page) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces to -."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", page.read_text(), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    links = [link for link in LINK.findall(page.read_text()) if "://" not in link]
    assert links or page.name != "README.md"
    for link in links:
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.name}: {link} points to nothing"
        if anchor:
            assert anchor in anchors(target), f"{page.name}: {link} names no heading"


def test_every_page_in_docs_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    for page in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{page.name})" in readme


@pytest.mark.parametrize("script", ALL_SCRIPTS.values())
def test_every_flag_in_help_is_on_the_command_line_page(script, capsys):
    module = script_module(script)
    code, out, _ = run_main(module, ["--help"], capsys)
    assert code == 0
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", out))
    assert {"--seed", "--json"} <= flags  # the help was read
    page = (ROOT / "docs" / "command-line.md").read_text()
    for flag in flags - {"--help"}:  # a row of the page's table of flags for each
        assert re.search(rf"^\| `{flag}[ `]", page, re.M), f"{script}: no row for {flag}"
    assert "`--help`" in page


def test_the_readers_questions_table_has_a_row_per_question_script():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Readers' questions")[1].split("\n## ")[0]
    for script in sorted((ROOT / "questions").glob("*.py")):
        assert f"`python questions/{script.name}" in table, script.name


# The article's lines, as its sections write them (shared/ARTICLE.md): the sequence, the framing
# of X and y, training and prediction with the section's settings
ARTICLE_LINES = {
    "one_to_one.py": ["X = seq.reshape(len(seq), 1, 1)", "y = seq.reshape(len(seq), 1)"],
    "many_to_one.py": ["X = seq.reshape(1, length, 1)", "y = seq.reshape(1, length)"],
    "many_to_many_td.py": ["X = seq.reshape(1, length, 1)", "y = seq.reshape(1, length, 1)"],
}


@pytest.mark.parametrize("script", ARTICLE_LINES)
def test_each_article_script_shows_the_articles_lines(script):
    lines = [line.strip() for line in (ROOT / script).read_text().splitlines()]
    for expected in [
        'seq = np.array([i / length for i in range(length)], "float32")',
        *ARTICLE_LINES[script],
        "run.fit(model, X, y, epochs=n_epoch, batch_size=n_batch, verbose=args.verbose)",
        "result = model.predict(X, batch_size=n_batch, verbose=0)",
    ]:
        assert any(line.startswith(expected) for line in lines), f"{script}: {expected}"
    assert len(lines) <= 90  # a section of the article, side by side with it


def test_the_readme_is_a_front_page():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250
