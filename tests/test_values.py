"""A reader's own sequence: --values read and checked before Keras, scaled with scikit-learn and
put back in the reader's units."""

import json

import numpy as np
import pytest

import many_to_one
from conftest import printed_predictions, run_main
from repro import cli, values


@pytest.mark.parametrize(
    "text, numbers, digits",
    [
        ("10 20 30", [10, 20, 30], 1),
        ("0.5,1.25, 2", [0.5, 1.25, 2], 2),
        ("  -3  4e2 ", [-3, 400], 1),
        ("1.000001 2", [1.000001, 2], 6),
        ("1e-3 2e-3 3e-3", [0.001, 0.002, 0.003], 3),  # the decimals the numbers need
        ("2.5e-3, 1", [0.0025, 1], 4),
        ("1.0e3 1.25E1", [1000, 12.5], 1),
        ("1e-9 2e-9", [1e-9, 2e-9], 6),  # at most 6, as ever
        ("1700000000 1700000060", [1700000000, 1700000060], 1),  # large, and scaled in float64
    ],
)
def test_values_are_read_with_their_decimals(text, numbers, digits):
    assert values.parse(text) == (numbers, digits)


@pytest.mark.parametrize("method", values.SCALERS)
@pytest.mark.parametrize("numbers", [[10, 20, 30, 40, 50], [-3.5, 0.25, 7, 2, 2]])
def test_scaling_round_trip(method, numbers):
    scaling = values.Scaling.fit(numbers, method, 2)
    scaled = scaling.scaled()
    assert scaled.dtype == np.float32 and scaled.shape == (len(numbers),)
    np.testing.assert_allclose(scaling.to_user_units(scaled), numbers, rtol=1e-6, atol=1e-6)
    if method == "minmax":  # the range the article's own data lives in
        assert (scaled.min(), scaled.max()) == (0.0, 1.0)
    if method == "standard":
        np.testing.assert_allclose([scaled.mean(), scaled.std()], [0, 1], atol=1e-6)
    if method == "none":
        np.testing.assert_array_equal(scaled, np.float32(numbers))
    assert scaling.tolerance == pytest.approx(0.05 * (max(numbers) - min(numbers)))


def parse_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        cli.parse_args("many_to_one", argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    "argv, flag, words",
    [
        (["--values", "1 2 x"], "--values", "'x' is not a number"),
        (["--values", "5"], "--values", "at least 2"),
        (["--values", ""], "--values", "at least 2"),
        (["--values", " , "], "--values", "at least 2"),
        (["--values", "1 nan 3"], "--values", "not a finite number"),
        (["--values", "1 inf"], "--values", "not a finite number"),
        (["--values", "3 3 3"], "--values", "all values are equal"),
        (["--values", "1e308 -1e308 0"], "--values", "beyond float32"),  # the range overflows
        (["--values", "0 4e38"], "--values", "beyond float32"),
        (["--values", "0,,1"], "--values", "empty item"),  # was read as two values
        # a range MinMaxScaler takes for a constant's, left unscaled: echoed as 0.000 vs 0.000
        (["--values", "1e-16 2e-16 3e-16 4e-16 5e-16"], "--values", "under 2.2e-15, which"),
        (["--values", "1 1.000000001"], "--values", "under 2**-29 of their size"),
        (["--values", "1e30 1.0000000001e30", "--scale", "none"], "--values", "float32"),
        (["--values", "0, 1, 2,"], "--values", "empty item"),
        (["--values", "1 2 3", "--length", "4"], "--length", "disagrees"),
        (["--scale", "minmax"], "--scale", "--values only"),
        (["--values", "1 2", "--scale", "log"], "--scale", "invalid choice"),
        (["--values", " ".join(map(str, range(20000)))], "--units", "GiB"),  # the memory cap
    ],
)
def test_bad_values_are_one_line_and_exit_2(argv, flag, words, capsys):
    err = parse_error(argv, capsys)
    assert flag in err and words in err


def test_values_set_length_units_and_the_default_scaler():
    args = cli.parse_args("many_to_one", ["--values", "10, 20, 30"])
    assert (args.length, args.units, args.scale, args.custom) == (3, 3, "minmax", True)
    assert cli.parse_args("many_to_one", ["--values", "1 2 3", "--length", "3"]).length == 3
    article = cli.parse_args("many_to_one", [])
    assert (article.length, article.scale, article.sequence) == (5, None, None)


def test_own_values_train_and_print_in_their_units(tmp_path, capsys):
    out = tmp_path / "r.json"
    argv = ["--values", "10 20 30 40 50", "--check", "--verbose", "0", "--json", str(out)]
    code, stdout, _ = run_main(many_to_one, argv, capsys)
    assert code == 0  # --check: every prediction within 5% of the range of its target
    result = json.loads(out.read_text())
    targets = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert result["targets"] == targets and result["printed"] == printed_predictions(stdout)
    assert all(abs(p - t) < 0.05 * 40 for p, t in zip(result["predictions"], targets, strict=True))
    scaled = result["values"]
    assert scaled["scaler"] == "minmax" and scaled["fitted"] == {"data_min": 10, "data_max": 50}
    assert scaled["targets_scaled"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    back = [10 + 40 * p for p in scaled["predictions_scaled"]]  # minmax, inverted by hand
    np.testing.assert_allclose(back, result["predictions"], rtol=1e-6)
    assert "within 5% of their range, 2)" in stdout


def test_values_written_with_exponents_print_with_the_decimals_they_need(capsys):
    """1e-3 ... 5e-3 printed as 0.0 before: the decimals came from a decimal point only."""
    argv = ["--values", "1e-3 2e-3 3e-3 4e-3 5e-3", "--check", "--verbose", "0"]
    code, stdout, _ = run_main(many_to_one, argv, capsys)
    assert code == 0
    assert printed_predictions(stdout) == ["0.001", "0.002", "0.003", "0.004", "0.005"]
