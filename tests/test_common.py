"""Unit tests of common.py: data, parameter formulas against Keras, formatting."""

import math

import numpy as np
import pytest

import common

# --- data -------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2, 5, 10])
def test_echo_sequence_values(length):
    seq = common.echo_sequence(length)
    assert seq.dtype == np.float32
    np.testing.assert_allclose(seq, [i / length for i in range(length)], rtol=0, atol=1e-7)


def test_echo_sequence_is_the_articles():
    assert [common.fmt(v) for v in common.echo_sequence(5)] == ["0.0", "0.2", "0.4", "0.6", "0.8"]


@pytest.mark.parametrize("length", [1, 3, 5, 8])
@pytest.mark.parametrize(
    "framing, x, y",
    [
        ("one_to_one", lambda n: (n, 1, 1), lambda n: (n, 1)),
        ("many_to_one", lambda n: (1, n, 1), lambda n: (1, n)),
        ("many_to_many", lambda n: (1, n, 1), lambda n: (1, n, 1)),
        ("one_step_n_features", lambda n: (1, 1, n), lambda n: (1, n)),
    ],
)
def test_framings_shapes_and_echo(framing, x, y, length):
    X, Y = common.make_data(framing, length)
    assert X.shape == x(length) and Y.shape == y(length)
    # an echo: the targets are the inputs, in the same order
    np.testing.assert_array_equal(X.ravel(), Y.ravel())
    np.testing.assert_array_equal(X.ravel(), common.echo_sequence(length))


# --- parameter formulas against Keras' own layers ----------------------------------------------


def test_article_counts():
    assert common.lstm_params(1, 5) == 140
    assert common.dense_params(5, 1) == 6
    assert common.dense_params(5, 5) == 30
    assert common.lstm_params(5, 5) == 220  # the (1, 1, 5) framing readers asked about


def _lstm(inputs, units):
    from keras import layers

    layer = layers.LSTM(units)
    layer.build((None, 3, inputs))
    return layer


@pytest.mark.parametrize("inputs", [1, 2, 5])
@pytest.mark.parametrize("units", [1, 3, 5, 8])
def test_lstm_formula_and_anatomy_match_keras_weights(inputs, units):
    layer = _lstm(inputs, units)
    kernel, recurrent, bias = (w.shape for w in layer.weights)
    assert kernel == (inputs, 4 * units)
    assert recurrent == (units, 4 * units)
    assert bias == (4 * units,)
    anatomy = common.lstm_anatomy(inputs, units)
    assert [row["gate"] for row in anatomy] == list(common.LSTM_GATES)
    # each gate owns a block of `units` columns of every weight matrix
    for row in anatomy:
        assert row["kernel"] == kernel[0] * (kernel[1] // 4)
        assert row["recurrent_kernel"] == recurrent[0] * (recurrent[1] // 4)
        assert row["bias"] == bias[0] // 4
        assert row["total"] == row["kernel"] + row["recurrent_kernel"] + row["bias"]
    total = sum(row["total"] for row in anatomy)
    assert total == layer.count_params() == 4 * units * (inputs + units + 1)
    assert common.lstm_params(inputs, units) == layer.count_params()


def test_gate_order_is_the_one_keras_computes_with():
    """Give each block of the bias its own value, with zero kernels, and run two steps of zeros:
    the output is what LSTM_GATES' order predicts, and no other order gives it."""
    import itertools

    import keras

    def sigmoid(v):
        return 1 / (1 + math.exp(-v))

    def lstm_output(bias):  # two steps of zero input from a zero state; kernels are zero
        b = dict(zip(common.LSTM_GATES, bias, strict=True))
        i, f, o, g = sigmoid(b["input"]), sigmoid(b["forget"]), sigmoid(b["output"]), b["cell"]
        c1 = i * math.tanh(g)
        c2 = f * c1 + i * math.tanh(g)
        return o * math.tanh(c2)

    layer = keras.layers.LSTM(1, recurrent_activation="sigmoid")
    layer.build((None, 2, 1))
    bias = [0.3, -1.2, 0.9, 2.0]  # one value per block of the bias, in Keras' storage order
    layer.set_weights([np.zeros((1, 4)), np.zeros((1, 4)), np.array(bias)])
    keras_out = float(keras.ops.convert_to_numpy(layer(np.zeros((1, 2, 1), "float32")))[0, 0])
    assert keras_out == pytest.approx(lstm_output(bias), rel=1e-5)
    others = [p for p in itertools.permutations(bias) if list(p) != bias]
    assert all(abs(lstm_output(p) - keras_out) > 1e-3 for p in others)


@pytest.mark.parametrize("inputs, outputs", [(1, 1), (5, 1), (5, 5), (3, 7), (25, 5)])
def test_dense_formula_matches_keras_weights(inputs, outputs):
    from keras import layers

    layer = layers.Dense(outputs)
    layer.build((None, inputs))
    assert [w.shape for w in layer.weights] == [(inputs, outputs), (outputs,)]
    assert common.dense_params(inputs, outputs) == layer.count_params()


def test_xor_pitfall_is_shown_in_the_derivation():
    text = "\n".join(common.lstm_derivation(1, 5))
    assert "4 * 35 = 140" in text and "5**2" in text
    assert f"= {4 * ((1 + 1) * 5 + (5 ^ 2))}, wrong" in text  # what '^' gives: 68


@pytest.mark.parametrize(
    "script, length, units", [("one_to_one", 5, 5), ("many_to_one", 7, 3), ("many_to_many", 4, 9)]
)
def test_formula_params_of_built_models(script, length, units):
    from conftest import article_model

    model = article_model(script, length, units)
    rows = common.layer_rows(model)
    assert [r["formula_params"] for r in rows] == [r["params"] for r in rows]
    assert model.count_params() == common.model_params(script, length, units)


# --- printing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (0.0, "0.0"),
        (-7e-9, "0.0"),
        (-0.04, "0.0"),
        (-0.06, "-0.1"),
        (0.2, "0.2"),
        (0.249, "0.2"),
        (0.7999, "0.8"),
        (np.float32(0.6), "0.6"),
        (-0.0, "0.0"),
    ],
)
def test_fmt_never_prints_negative_zero(value, text):
    assert common.fmt(value) == text


def test_fmt_more_digits():
    assert common.fmt(-4e-9, 3) == "0.000" and common.fmt(-0.0004, 3) == "0.000"
    assert common.fmt(0.12549, 3) == "0.125" and common.fmt(-0.0006, 3) == "-0.001"


def test_print_predictions_one_per_line(capsys):
    common.print_predictions(np.array([-1e-8, 0.21, 0.39, 0.61, 0.79]))
    assert capsys.readouterr().out == "Predictions:\n0.0\n0.2\n0.4\n0.6\n0.8\n"
