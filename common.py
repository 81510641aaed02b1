"""What the article's code and a learner need, in one place.

The article's reference values (settings, printed summaries and predictions), the echo sequence
and the ways of framing it, the parameter-count formulas with their per-gate anatomy, and the
printing of predictions and of the parameter check. Importing it loads no Keras and no backend.

Everything around the tutorial (command line, backends, fast training, the comparison with the
article, studies, plots, result files) lives in the `repro` package beside the scripts.

    python common.py    # prints the README's table of input framings
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# The article's facts (one place; the scripts and the comparison read them from here)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One section of the article: its training settings and what it printed."""

    title: str
    epochs: int
    batch_size: int
    layers: tuple  # (name as printed, output shape as printed, params) per summary row
    total: str  # the totals line's number, as Keras 2.0 printed it
    predictions: tuple = ("0.0", "0.2", "0.4", "0.6", "0.8")


ARTICLE = {
    "one_to_one": Section(
        "One-to-One LSTM for Sequence Prediction",
        epochs=1000,
        batch_size=5,  # the whole set: one weight update per epoch
        layers=(("lstm_1", "(None, 1, 5)", 140), ("dense_1", "(None, 1, 1)", 6)),
        total="146.0",
    ),
    "many_to_one": Section(
        "Many-to-One LSTM for Sequence Prediction (without TimeDistributed)",
        epochs=500,
        batch_size=1,
        layers=(("lstm_1", "(None, 5)", 140), ("dense_1", "(None, 5)", 30)),
        total="170.0",
    ),
    "many_to_many": Section(
        "Many-to-Many LSTM for Sequence Prediction (with TimeDistributed)",
        epochs=1000,
        batch_size=1,
        layers=(("lstm_1", "(None, 5, 5)", 140), ("time_distributed_1", "(None, 5, 1)", 6)),
        total="146.0",
    ),
}
SCRIPT_MODULES = {  # section -> the script that reproduces it (module name)
    "one_to_one": "one_to_one",
    "many_to_one": "many_to_one",
    "many_to_many": "many_to_many_td",
}
ARTICLE_LENGTH = 5  # the article's sequence length, and so its number of LSTM units
ARTICLE_LR = 0.001  # Adam's Keras default, which the article relies on

# ---------------------------------------------------------------------------------------------
# Data: the echo sequence and its framings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Framing:
    """How one sequence of `length` values becomes (samples, time steps, features)."""

    x_shape: object  # length -> X shape
    y_shape: object  # length -> y shape
    meaning: str


FRAMINGS = {
    "one_to_one": Framing(
        lambda n: (n, 1, 1),
        lambda n: (n, 1),
        "n separate samples of one step: the state starts at zero for each value, so the "
        "recurrent weights only ever see a zero state and nothing is remembered",
    ),
    "many_to_one": Framing(
        lambda n: (1, n, 1),
        lambda n: (1, n),
        "one sample of n steps: the state carries each value forward, and the last state alone "
        "must hold the whole sequence for the Dense layer",
    ),
    "many_to_many": Framing(
        lambda n: (1, n, 1),
        lambda n: (1, n, 1),
        "one sample of n steps with return_sequences=True: an output at every step, each one "
        "able to use the steps before it",
    ),
    "one_step_n_features": Framing(
        lambda n: (1, 1, n),
        lambda n: (1, n),
        "one sample of one step with n features: the whole sequence arrives at once as a "
        "vector; no recurrence happens, as in one-to-one, but with n inputs per gate",
    ),
}


def echo_sequence(length: int):
    """The article's sequence [0/length, 1/length, ...] as float32: the network must echo it."""
    import numpy as np

    return np.array([i / length for i in range(length)], dtype="float32")


def make_data(framing: str, length: int, sequence=None):
    """X and y for one framing; the targets are the inputs (an echo). `sequence` (length values)
    replaces the article's echo sequence: a reader's own values, already scaled."""
    seq = echo_sequence(length) if sequence is None else sequence
    f = FRAMINGS[framing]
    return seq.reshape(f.x_shape(length)), seq.reshape(f.y_shape(length))


# ---------------------------------------------------------------------------------------------
# Parameter counts in closed form
# ---------------------------------------------------------------------------------------------

LSTM_GATES = ("input", "forget", "cell", "output")  # Keras stores them in this order


def lstm_params(inputs: int, units: int) -> int:
    """Weights of one LSTM layer: 4 gates x (kernel + recurrent kernel + bias)."""
    return 4 * ((inputs + 1) * units + units**2)


def dense_params(inputs: int, outputs: int) -> int:
    """Weights of one Dense layer: a weight per input-output pair plus a bias per output."""
    return inputs * outputs + outputs


def lstm_formula(inputs: int, units: int) -> str:
    """lstm_params written out for these sizes, with ** (the article's ^ is XOR in Python)."""
    return f"4*(({inputs}+1)*{units} + {units}**2)"


def lstm_anatomy(inputs: int, units: int) -> list[dict]:
    """The LSTM count split by gate and by part; the rows sum to lstm_params(inputs, units)."""
    return [
        {
            "gate": gate,
            "kernel": inputs * units,
            "recurrent_kernel": units * units,
            "bias": units,
            "total": inputs * units + units * units + units,
        }
        for gate in LSTM_GATES
    ]


def lstm_derivation(inputs: int, units: int) -> list[str]:
    """The worked LSTM formula for these sizes, as lines to print."""
    gate = lstm_anatomy(inputs, units)[0]  # every gate has the same parts
    per_gate = gate["total"]
    return [
        f"LSTM parameters for inputs={inputs}, units={units}:",
        f"  each of the 4 gates ({', '.join(LSTM_GATES)}) has",
        f"    kernel           inputs x units = {inputs} x {units} = {gate['kernel']}",
        f"    recurrent kernel units x units  = {units} x {units} = {gate['recurrent_kernel']}",
        f"    bias             units          = {gate['bias']}",
        f"  per gate {gate['kernel']} + {gate['recurrent_kernel']} + {gate['bias']} = {per_gate}; "
        f"4 gates: 4 * {per_gate} = {4 * per_gate}",
        f"  = 4 * (({inputs} + 1) * {units} + {units}**2)   (** is a power in Python; "
        f"^ is XOR: 4 * (({inputs} + 1) * {units} + ({units} ^ 2)) = "
        f"{4 * ((inputs + 1) * units + (units ^ 2))}, wrong)",
    ]


def formula_params(layer, inputs: int | None = None) -> tuple[int, str]:
    """(count, worked formula) for a built Keras layer, from its sizes alone, not its weights."""
    name = type(layer).__name__
    inputs = layer.input.shape[-1] if inputs is None else inputs
    if name == "TimeDistributed":
        return formula_params(layer.layer, inputs)  # one Dense, shared by every step
    if name == "Bidirectional":  # two LSTMs, one reading forward and one backward
        count, text = formula_params(layer.forward_layer, inputs)
        return 2 * count, f"2 x {text}"
    if name == "LSTM":
        units = layer.units
        return lstm_params(inputs, units), lstm_formula(inputs, units)
    if name == "Dense":
        return dense_params(inputs, layer.units), f"{inputs}*{layer.units} + {layer.units}"
    raise ValueError(f"no formula for {name}")


def model_params(script: str, length: int, units: int) -> int:
    """Total weights of the script's model, from the formulas."""
    outputs = length if script == "many_to_one" else 1
    return lstm_params(1, units) + dense_params(units, outputs)


def framings_markdown(length: int = ARTICLE_LENGTH, units: int = ARTICLE_LENGTH) -> str:
    """The input framings as a Markdown table (the README's copy is tested against this)."""
    lines = [
        "| framing | X (samples, steps, features) | y | LSTM params | what the LSTM can learn |",
        "|---|---|---|---|---|",
    ]
    for name, f in FRAMINGS.items():
        x = f.x_shape(length)
        lines.append(
            f"| `{name}` | {x} | {f.y_shape(length)} | {lstm_formula(x[2], units)} = "
            f"{lstm_params(x[2], units)} | {f.meaning} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    """The article's '%.1f' (or more digits), but a tiny negative value prints 0.0, never -0.0."""
    text = "%.*f" % (digits, value)
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def print_predictions(predictions, digits: int = 1) -> None:
    """One value per line, as the article prints them (with more digits if asked)."""
    print("Predictions:")
    for value in predictions:
        print(fmt(value, digits))


def print_table(columns: list[str], rows: list[list], indent: str = "  ") -> None:
    """Left-aligned plain-text columns."""
    cells = [columns] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for row in cells:
        print(indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def layer_rows(model) -> list[dict]:
    """Per layer: name, class, output shape, Keras' count and the formula's count."""
    rows = []
    for layer in model.layers:
        count, text = formula_params(layer)
        rows.append(
            {
                "name": layer.name,
                "class": type(layer).__name__,
                "output_shape": str(tuple(layer.output.shape)),
                "params": layer.count_params(),
                "formula": text,
                "formula_params": count,
            }
        )
    return rows


def print_parameter_check(rows: list[dict]) -> bool:
    """Keras' count beside the closed-form count, per layer and in total; True if all agree."""

    def agree(keras_count, formula_count):
        return "ok" if keras_count == formula_count else "DIFFERENT"

    table = [
        [
            f"{r['name']} ({r['class']})",
            r["params"],
            f"{r['formula']} = {r['formula_params']}",
            agree(r["params"], r["formula_params"]),
        ]
        for r in rows
    ]
    total, expected = sum(r["params"] for r in rows), sum(r["formula_params"] for r in rows)
    table.append(["total", total, expected, agree(total, expected)])
    print("\nParameter check (Keras' count vs the closed-form formula):")
    print_table(["layer", "keras", "formula", ""], table)
    return all(r["params"] == r["formula_params"] for r in rows)


if __name__ == "__main__":  # prints the README's table of input framings
    print(framings_markdown())
