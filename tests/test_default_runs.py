"""The slow tier's default runs on TensorFlow, as the README runs them: every rendered page
(repro/pages.py) that takes under about 30 s, each in a process of its own with --check, --json
and --plot, compared byte for byte with its stored page when the installed versions are the ones
it records; and the article's scripts a second time, for the same bytes. A question's page is
the run its notebook records: tests/test_notebooks.py checks it from the notebook's run in a
kernel of its own, and it is not rendered again here. Other files read these runs through
conftest.rendered, so each runs once."""

import json
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from test_scripts import EXPECTED_COUNTS, parameter_check_rows

import common
from conftest import SCRIPTS, differing, printed_predictions, rendered
from repro import notebooks, pages

pytestmark = pytest.mark.slow  # the article's settings: seconds of training each

PAGE_OF = {
    "one_to_one": "one_to_one",
    "many_to_one": "many_to_one",
    "many_to_many": "many_to_many_td",
}
NOTEBOOK_RUNS = {notebooks.page_of(s).name for s in notebooks.scripts() if "/" in s}  # questions'
QUICK = [p for p in pages.PAGES if p.quick and p.name not in NOTEBOOK_RUNS]
STORED = pages.FOLDER


@pytest.fixture(scope="module")
def default_runs(tmp_path_factory):
    """Script name -> (its process, its JSON as written) for the article's scripts, and "again
    NAME" for their second runs; first every quick page, two at a time (one command per core)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda p: rendered(p.name, tmp_path_factory), QUICK))
    runs = {name: rendered(page, tmp_path_factory)[:2] for name, page in PAGE_OF.items()}
    articles = [p for p in QUICK if p.name in ("one_to_one", "many_to_one", "many_to_many_td")]
    again = pages.render_all(articles, tmp_path_factory.mktemp("again"))
    for name in SCRIPTS:
        runs[f"again {name}"] = again[PAGE_OF[name]][:2]
    return runs


def differing_versions(page, data) -> list[str]:
    """The libraries whose version differs from the one the stored page was rendered with."""
    stored = json.loads((STORED / f"{page.name}.json").read_text())
    return differing(stored["versions"], data["versions"])


@pytest.mark.parametrize("page", QUICK, ids=lambda p: p.name)
def test_each_page_is_what_its_command_prints_now(page, default_runs, tmp_path_factory):
    """The stored page and JSON are the bytes a run gives today: a figure changed in a script
    without rendering its page again fails here. With other versions than the page records,
    the comparison is skipped, and the reason names them."""
    proc, data, text = rendered(page.name, tmp_path_factory)
    if data is not None:
        differ = differing_versions(page, data)
        if differ:
            pytest.skip("rendered with other versions: " + "; ".join(differ))
        slim = json.dumps(pages.slim(data), indent=2) + "\n"
        assert slim == (STORED / f"{page.name}.json").read_text()
    assert text == (STORED / f"{page.name}.md").read_text()


@pytest.mark.parametrize("name", SCRIPTS)
def test_default_run_echoes_the_sequence(default_runs, name):
    proc, result = default_runs[name]
    assert proc.returncode == 0, proc.stderr[-2000:]
    targets = [common.fmt(v) for v in common.echo_sequence(5)]
    assert printed_predictions(proc.stdout) == targets
    assert np.max(np.abs(np.array(result["predictions"]) - result["targets"])) <= 0.03
    assert result["targets"] == [float(v) for v in common.echo_sequence(5)]
    assert "Traceback" not in proc.stderr and "input_shape" not in proc.stderr


@pytest.mark.parametrize("name", SCRIPTS)
def test_default_run_prints_the_counts(default_runs, name):
    proc, result = default_runs[name]
    counts = EXPECTED_COUNTS[name]
    assert [layer["params"] for layer in result["layers"]] == counts
    assert result["total_params"] == sum(counts)
    assert f"Total params: {sum(counts)} (" in proc.stdout  # Keras' own summary, before training
    assert proc.stdout.index("Total params") < proc.stdout.index("Predictions:")
    rows = parameter_check_rows(proc.stdout)
    layers = [r for label, r in rows.items() if label != "total"]
    assert [keras_count for keras_count, _, _ in layers] == counts
    assert [formula.split(" = ")[-1] for _, formula, _ in layers] == [str(c) for c in counts]
    assert layers[0][1] == f"{common.lstm_formula(1, 5)} = {counts[0]}"
    assert rows["total"] == (sum(counts), str(sum(counts)), "ok")
    assert all(verdict == "ok" for _, _, verdict in rows.values())


@pytest.mark.parametrize("name", SCRIPTS)
def test_side_by_side_block(default_runs, name):
    proc, result = default_runs[name]
    block = proc.stdout.split("Side by side with the article")[1]
    assert "0 mismatch(es)" in block and "MISMATCH" not in block
    assert "differs: Keras 2.0 printed counts as floats" in block
    verdicts = {c["quantity"]: c["verdict"] for c in result["comparison"]}
    assert all(verdicts[f"prediction {i}"] == "same" for i in range(1, 6))
    assert result["check_passed"] is True


@pytest.mark.parametrize("name", SCRIPTS)
def test_json_fields(default_runs, name):
    proc, result = default_runs[name]
    assert result["script"] == SCRIPTS[name]
    assert result["section"] == common.ARTICLE[name].title
    assert result["config"]["epochs"] == common.ARTICLE[name].epochs
    assert len(result["loss_history"]) == result["config"]["epochs"]
    assert result["final_loss"] == result["loss_history"][-1]
    assert result["printed"] == printed_predictions(proc.stdout)
    assert result["printed"] == [common.fmt(p) for p in result["predictions"]]
    assert set(result["seconds"]) == {"fit"}
    assert result["versions"]["keras"].startswith("3.") and "tensorflow" in result["versions"]
    shapes = {"one_to_one": "(None, 5)", "many_to_one": "(None, 5)", "many_to_many": "(None, 5, 5)"}
    assert result["layers"][0]["output_shape"] == shapes[name]
    if name == "many_to_many":
        assert result["head"] == "timedistributed"


@pytest.mark.parametrize("name", SCRIPTS)
def test_same_seed_same_stdout(default_runs, name):
    first, _ = default_runs[name]
    again, _ = default_runs[f"again {name}"]  # the same flags, in another process
    assert again.returncode == 0 and again.stdout == first.stdout


# The remaining runs call the scripts' main() in this process: the same code path after the
# imports, without paying for a fresh TensorFlow each time.


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_default_run_says_nothing_on_stderr_but_its_timings(default_runs, name):
    proc, _ = default_runs[name]
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"seconds: fit [\d.]+\n", proc.stderr)


def test_the_article_script_no_longer_prints_the_tables(default_runs):
    proc, result = default_runs["many_to_many"]
    assert "Output heads" not in proc.stdout and "heads" not in result and "wrapper" not in result
