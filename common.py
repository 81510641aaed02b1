"""What the three TimeDistributed LSTM scripts share.

The article's reference values, the echo data, the parameter-count formulas, the command line,
seeding and backend choice, the training loops, and everything the scripts print or save.
Importing this module is cheap: keras and the heavy libraries are imported only inside functions.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# The article's facts (one place; the scripts and the side-by-side block read them from here)
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

# Default seeds, per script and backend. Each was chosen by a seed sweep (README, "Does the article
# reproduce?") so that the default run prints the article's predictions with a margin:
# max |prediction - target| <= 0.03.
DEFAULT_SEEDS = {
    "tensorflow": {"one_to_one": 1, "many_to_one": 1, "many_to_many": 26},
    "jax": {"one_to_one": 1, "many_to_one": 1, "many_to_many": 88},
    "torch": {"one_to_one": 1, "many_to_one": 1, "many_to_many": 59},
}

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


def make_data(framing: str, length: int):
    """X and y for one framing; the targets are the inputs (an echo)."""
    seq = echo_sequence(length)
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
    if name == "LSTM":
        units = layer.units
        return lstm_params(inputs, units), lstm_formula(inputs, units)
    if name == "Dense":
        return dense_params(inputs, layer.units), f"{inputs}*{layer.units} + {layer.units}"
    raise ValueError(f"no formula for {name}")


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
# The command line (parsed and validated before keras is imported)
# ---------------------------------------------------------------------------------------------

BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}  # backend -> package
MEMORY_CAP_BYTES = 1 << 30  # refuse runs whose estimated training memory passes 1 GiB
MAX_EPOCHS = 1_000_000
MAX_SEEDS = 1000
MAX_SEED = 2**32 - 1  # NumPy's seed range


class UsageError(Exception):
    """Bad input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block
        raise UsageError(message)


def _whole(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, got {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, got {value}"
            )
        return value

    return parse


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"must be a finite number greater than 0 (default {ARTICLE_LR}), got {text!r}"
        )
    return value


def default_backend() -> str:
    """$KERAS_BACKEND if set, else tensorflow; an unknown name is bad input, not a silent switch."""
    env = os.environ.get("KERAS_BACKEND") or "tensorflow"
    if env not in BACKENDS:
        raise UsageError(
            f"KERAS_BACKEND={env!r} is not one of {', '.join(BACKENDS)}; unset it or pass --backend"
        )
    return env


def build_parser(script: str) -> argparse.ArgumentParser:
    """The shared CLI; defaults are the article's settings for `script`."""
    section = ARTICLE[script]
    p = _Parser(
        prog=f"{SCRIPT_MODULES[script]}.py",
        description=f"{section.title}: train an LSTM to echo [0.0, 0.2, 0.4, 0.6, 0.8], "
        "print the model summary, the predictions and how they compare with the article.",
    )
    add = p.add_argument
    add(
        "--length",
        type=_whole(1, 10**7),
        default=ARTICLE_LENGTH,
        metavar="N",
        help="length of the echo sequence (default: %(default)s)",
    )
    add(
        "--units",
        type=_whole(1, 10**7),
        default=None,
        metavar="N",
        help="LSTM units (default: the sequence length, as the article's n_neurons = length)",
    )
    add(
        "--epochs",
        type=_whole(1, MAX_EPOCHS),
        default=section.epochs,
        metavar="N",
        help="training epochs (default: the article's %(default)s)",
    )
    add(
        "--batch-size",
        type=_whole(1, 10**7),
        default=None,
        metavar="N",
        help=f"samples per weight update (default: the article's {section.batch_size}, "
        "the whole training set; at most the number of samples)",
    )
    add(
        "--lr",
        type=_learning_rate,
        default=ARTICLE_LR,
        metavar="RATE",
        help="Adam learning rate (default: Keras' %(default)s)",
    )
    add(
        "--seed",
        type=_whole(0, MAX_SEED),
        default=None,
        metavar="N",
        help="random seed for Python, NumPy and the backend (default: "
        + ", ".join(f"{b} {s[script]}" for b, s in DEFAULT_SEEDS.items())
        + ")",
    )
    add(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="0 quiet; 1 a loss line every tenth of training (default); "
        "2 one line per epoch, as Keras printed in the article",
    )
    add(
        "--fit",
        choices=("fast", "naive"),
        default="fast",
        help="fast: the same updates without Keras' per-epoch overhead (default); "
        "naive: plain model.fit, as in the article",
    )
    add(
        "--backend",
        choices=tuple(BACKENDS),
        default=None,
        help="Keras backend (default: $KERAS_BACKEND if set, else tensorflow)",
    )
    add("--json", metavar="PATH", help="also write the results as JSON to PATH")
    add("--plot", metavar="PATH", help="also draw the loss curve and predictions to a PNG")
    add(
        "--seeds",
        type=_whole(1, MAX_SEEDS),
        default=1,
        metavar="N",
        help="reproduction study: train with seeds seed..seed+N-1 and tabulate (default: 1)",
    )
    add(
        "--check",
        action="store_true",
        help="exit with status 1 if a parameter count or a printed prediction is a MISMATCH",
    )
    return p


def n_samples(script: str, length: int) -> int:
    """Samples in the training set of `script` (the first axis of X)."""
    return FRAMINGS[script].x_shape(length)[0]


def model_params(script: str, length: int, units: int) -> int:
    """Total weights of the script's model, from the formulas."""
    outputs = length if script == "many_to_one" else 1
    return lstm_params(1, units) + dense_params(units, outputs)


def estimate_memory(script: str, length: int, units: int) -> int:
    """Rough bytes needed to train: weights, gradients and Adam's two moments in float32, plus
    the activations kept for backpropagation (gates and states of every step of every sample)."""
    steps = FRAMINGS[script].x_shape(length)[1]
    weights = 4 * 4 * model_params(script, length, units)
    activations = 4 * n_samples(script, length) * steps * units * 8
    return weights + activations


def _check_writable(flag: str, path: str, suffix: str = "") -> None:
    """Fail now, before any training, if `path` cannot be written."""
    if suffix and not path.lower().endswith(suffix):
        raise UsageError(f"argument {flag}: {path!r} must end with {suffix}")
    if os.path.isdir(path):
        raise UsageError(f"argument {flag}: {path!r} is a directory, not a file")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe-")
    except OSError as e:
        raise UsageError(f"argument {flag}: cannot write in {folder!r}: {e.strerror}") from None
    os.close(fd)
    os.remove(probe)


def _check_backend(backend: str) -> None:
    package = BACKENDS[backend]
    try:
        found = importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UsageError(
            f"argument --backend: {backend} is not installed; install it with "
            f"'pip install {'torch==2.13.0' if backend == 'torch' else package}'"
        )


def validate(script: str, args: argparse.Namespace) -> argparse.Namespace:
    """Fill defaults that depend on other flags and reject what cannot run."""
    if args.units is None:
        args.units = args.length  # the article's n_neurons = length
    samples = n_samples(script, args.length)
    if args.batch_size is None:
        args.batch_size = samples  # the article's choice: the whole set, one update per epoch
    if args.batch_size > samples:
        raise UsageError(
            f"argument --batch-size: must be from 1 to {samples} (the number of samples "
            f"at --length {args.length}), got {args.batch_size}"
        )
    need = estimate_memory(script, args.length, args.units)
    if need > MEMORY_CAP_BYTES:
        raise UsageError(
            f"argument --length/--units: length {args.length} with {args.units} units needs "
            f"about {need / 2**30:,.1f} GiB to train, over the {MEMORY_CAP_BYTES / 2**30:.0f} GiB "
            "cap; pass a smaller --units (e.g. --units 5; units default to the length) "
            "or --length"
        )
    if args.backend is None:
        args.backend = default_backend()
    if args.seed is None:
        args.seed = DEFAULT_SEEDS[args.backend][script]
    if args.seed + args.seeds - 1 > MAX_SEED:
        raise UsageError(f"argument --seeds: seed + seeds - 1 must be at most {MAX_SEED}")
    _check_backend(args.backend)
    if args.json:
        _check_writable("--json", args.json)
    if args.plot:
        _check_writable("--plot", args.plot, ".png")
    args.script = script
    args.custom = (args.length, args.units) != (ARTICLE_LENGTH, ARTICLE_LENGTH)
    return args


def parse_args(script: str, argv=None, add_arguments=None) -> argparse.Namespace:
    """Parse and validate the CLI; bad input prints one line and exits with status 2."""
    parser = build_parser(script)
    if add_arguments:
        add_arguments(parser)
    try:
        return validate(script, parser.parse_args(argv))
    except UsageError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


# ---------------------------------------------------------------------------------------------
# Keras: backend, seeding, determinism
# ---------------------------------------------------------------------------------------------


def import_keras(args: argparse.Namespace):
    """Select the backend, import keras quietly, and seed everything for args.seed."""
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    try:
        import keras
    except ImportError as e:
        print(f"error: cannot import keras with the {args.backend} backend: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    seed_everything(args.seed)
    return keras


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend, so the same seed builds the same initial weights."""
    import keras

    keras.utils.set_random_seed(seed)


# ---------------------------------------------------------------------------------------------
# Training: one Adam update per batch, the same updates as model.fit, without its overhead
# ---------------------------------------------------------------------------------------------


class TrainingDiverged(Exception):
    """The loss became NaN or infinite."""


_compiled = weakref.WeakKeyDictionary()  # model -> its compiled training loops, by data


def _cached(model, key, make):
    """The compiled loop for this model and data: tracing costs more than 1000 epochs."""
    loops = _compiled.setdefault(model, {})
    if key not in loops:
        loops[key] = make()
    return loops[key]


def load_initial_state(model, fresh) -> None:
    """Give `model` the weights and optimizer state of `fresh`, a new model of the same build,
    so that another seed trains with the loops `model` has already compiled."""
    for m in (model, fresh):
        m.optimizer.build(m.trainable_variables)
    for old, new in zip(
        model.weights + model.optimizer.variables,
        fresh.weights + fresh.optimizer.variables,
        strict=True,
    ):
        old.assign(new.value)


def _batches(X, y, batch_size):
    return [(X[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(X), batch_size)]


def _report(epoch: int, epochs: int, loss: float, verbose: int, steps: int = 1) -> None:
    if verbose == 2:  # Keras' per-epoch lines, without the timings that differ run to run
        print(f"Epoch {epoch}/{epochs}\n{steps}/{steps} - loss: {loss:.4f}")
    elif verbose == 1 and (epoch % max(1, epochs // 10) == 0 or epoch == epochs):
        print(f"epoch {epoch:>{len(str(epochs))}}/{epochs}  loss {loss:.6g}")


def _chunk_sizes(epochs: int, verbose: int) -> list[int]:
    """Epochs per compiled call: one for per-epoch lines, else about a tenth of training."""
    step = 1 if verbose == 2 else max(1, epochs // 10)
    return [min(step, epochs - start) for start in range(0, epochs, step)]


def _fit_tensorflow(model, X, y, batch_size, epochs, verbose):
    import tensorflow as tf

    key = ("tensorflow", batch_size, X.tobytes(), y.tobytes())
    run = _cached(
        model, key, lambda: _tensorflow_loop(model, tf.constant(X), tf.constant(y), batch_size)
    )
    for n in _chunk_sizes(epochs, verbose):
        yield from run(tf.constant(n)).numpy().tolist()


def _tensorflow_loop(model, X, y, batch_size):
    import tensorflow as tf

    samples = X.shape[0]

    @tf.function
    def run(n):  # n epochs in one graph: no Python between updates
        losses = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        for i in tf.range(n):
            model.reset_metrics()  # fit starts each epoch with fresh metrics
            for start in tf.range(0, samples, batch_size):
                model.train_step((X[start : start + batch_size], y[start : start + batch_size]))
            loss = tf.cast(model.get_metrics_result()["loss"], tf.float32)
            losses = losses.write(i, loss)
            if not tf.math.is_finite(loss):
                break
        return losses.stack()

    return run


def _fit_jax(model, X, y, batch_size, epochs, verbose):
    import jax.numpy as jnp

    batches = _batches(X, y, batch_size)
    if len(batches) > 16:  # one compiled scan would unroll every batch: step batch by batch
        yield from _fit_stepwise(model, batches, epochs)
        return
    model.make_train_function()  # builds the metrics the train step updates
    model.optimizer.build(model.trainable_variables)
    state = (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in model.optimizer.variables],
        [v.value for v in model.metrics_variables],
    )
    key = ("jax", batch_size, X.tobytes(), y.tobytes())
    run = _cached(model, key, lambda: _jax_loop(model, batches, fresh_metrics=state[3]))
    for n in _chunk_sizes(epochs, verbose):
        state, losses = run(state, jnp.zeros(n))
        yield from (float(v) for v in losses)
    for variables, values in zip(
        (model.trainable_variables, model.non_trainable_variables, model.optimizer.variables),
        state[:3],
    ):
        for v, value in zip(variables, values):
            v.assign(value)


def _jax_loop(model, batches, fresh_metrics):
    import jax
    import jax.numpy as jnp

    data = [(jnp.asarray(x), jnp.asarray(y)) for x, y in batches]

    def epoch(state, _):
        state = (*state[:3], fresh_metrics)  # fit starts each epoch with fresh metrics
        for x, y in data:
            logs, state = model.train_step(state, (x, y))
        return state, logs["loss"]

    @jax.jit
    def run(state, n_dummy):  # len(n_dummy) epochs in one compiled scan
        return jax.lax.scan(epoch, state, n_dummy)

    return run


def _fit_stepwise(model, batches, epochs):
    """One compiled train step per batch; the epoch's loss is the batch losses' weighted mean."""
    samples = sum(len(x) for x, _ in batches)
    for _ in range(epochs):
        yield sum(float(model.train_on_batch(x, y)) * len(x) for x, y in batches) / samples


def _fit_eager(model, X, y, batch_size, epochs, verbose):
    import keras

    batches = _batches(X, y, batch_size)
    data = [(keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y)) for x, y in batches]
    model.make_train_function()
    for _ in range(epochs):
        model.reset_metrics()
        for x, y in data:
            logs = model.train_step((x, y))
        yield float(logs["loss"])


def _fit_naive(model, X, y, epochs, batch_size, verbose):
    # shuffle=False so that a batch smaller than the set visits samples in the fast loop's order;
    # with the article's full batches the order changes nothing but float rounding.
    history = model.fit(
        X,
        y,
        epochs=epochs,
        batch_size=batch_size,
        verbose=2 if verbose == 2 else 0,
        shuffle=False,
    )
    yield from history.history["loss"]


def train(model, X, y, epochs: int, batch_size: int, fit: str = "fast", verbose: int = 0):
    """Train and return the loss of every epoch, exactly as model.fit reports it.

    Raises TrainingDiverged (with the epoch) when the loss becomes NaN or infinite."""
    import keras

    if fit == "naive":
        steps = _fit_naive(model, X, y, epochs, batch_size, verbose)
    else:
        loop = {"tensorflow": _fit_tensorflow, "jax": _fit_jax}.get(
            keras.backend.backend(), _fit_eager
        )
        steps = loop(model, X, y, batch_size, epochs, verbose)
    history = []
    for loss in steps:
        history.append(loss)
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"the loss became {loss} at epoch {len(history)}; "
                "try a smaller --lr or scaled inputs"
            )
        if not (fit == "naive" and verbose == 2):  # there Keras prints its own lines
            _report(len(history), epochs, loss, verbose, math.ceil(len(X) / batch_size))
    return history


def predict(model, X):
    """The model's outputs for X as a flat float64 NumPy array (one value per echo target)."""
    import keras
    import numpy as np

    return np.asarray(keras.ops.convert_to_numpy(model(X, training=False)), "float64").ravel()


# ---------------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    """The article's '%.1f' (or more digits), but a tiny negative value prints 0.0, never -0.0."""
    text = "%.*f" % (digits, value)
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def print_predictions(predictions) -> None:
    """One value per line, as the article prints them."""
    print("Predictions:")
    for value in predictions:
        print(fmt(value))


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


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def write_atomically(path: str, write) -> None:
    """Call write(file_object) on a temporary file beside `path`, then rename it into place, so
    a failed run never leaves a half-written file."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; give it normal rights
        os.replace(tmp, path)
    except BaseException:
        os.remove(tmp)
        raise


def write_json(path: str, data: dict) -> None:
    """Write `data` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    write_atomically(path, lambda f: f.write(text.encode()))


def versions() -> dict:
    """Versions of Python and of the libraries that computed the results."""
    import keras
    import numpy as np

    found = {"python": sys.version.split()[0], "keras": keras.__version__, "numpy": np.__version__}
    for backend, package in BACKENDS.items():
        module = sys.modules.get(package)
        if module is not None and backend == keras.backend.backend():
            found[package] = module.__version__
    return found


@contextlib.contextmanager
def timed(seconds: dict, phase: str):
    """Add the wall time of the with-block to seconds[phase]."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[phase] = round(seconds.get(phase, 0.0) + time.perf_counter() - start, 4)


# ---------------------------------------------------------------------------------------------
# One run, start to finish: what every script does after building its model
# ---------------------------------------------------------------------------------------------


def fit_and_predict(args, model, X, y, seconds: dict | None = None, verbose: int | None = None):
    """Train with the script's settings and predict; returns (loss history, predictions).

    A loss that turns NaN or infinite ends the process with a one-line message and status 1."""
    seconds = {} if seconds is None else seconds
    verbose = args.verbose if verbose is None else verbose
    try:
        with timed(seconds, "fit"):
            history = train(model, X, y, args.epochs, args.batch_size, args.fit, verbose)
    except TrainingDiverged as e:
        print(f"error: training stopped: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    with timed(seconds, "predict"):
        predictions = predict(model, X)
    return history, predictions


def max_error(predictions, targets) -> float:
    """Largest |prediction - target|."""
    return float(max(abs(float(p) - float(t)) for p, t in zip(predictions, targets)))


ECHO_TOLERANCE = 0.05  # closer than this, a prediction of 0.0 ... 0.8 prints as its target


def reproduced(predictions, targets) -> bool:
    """True when every prediction is within ECHO_TOLERANCE of its target. At the article's
    length this is exactly 'prints as the article did'; at lengths whose targets sit on a
    rounding boundary (0.25 at length 8) it does not depend on which way a tie rounds."""
    return max_error(predictions, targets) < ECHO_TOLERANCE


def _shape(text: str):
    import ast

    return ast.literal_eval(text)


def _base_name(name: str) -> str:
    """A layer name without Keras' numeric suffix: lstm_1 -> lstm."""
    base, _, number = name.rpartition("_")
    return base if number.isdigit() else name


def verdict(kind: str, article: str, ours: str, known: dict | None = None) -> str:
    """same, differs: <reason> for a known benign difference, or MISMATCH."""
    if article == ours:
        return "same"
    if known and article in known:
        return f"differs: {known[article]}"
    if kind == "shape":
        a, o = _shape(article), _shape(ours)
        if len(a) == len(o) + 1 and a[1] == 1 and a[:1] + a[2:] == o:
            return "differs: Keras 2.0's summary showed a time axis of 1 its own code lacks"
    if kind == "total" and float(article) == float(ours):
        return "differs: Keras 2.0 printed counts as floats"
    if kind == "name" and _base_name(article) == _base_name(ours):
        return "differs: Keras 2 numbered names from _1; Keras 3 numbers only repeats"
    return "MISMATCH"


def comparison_rows(args, rows: list[dict], predictions, targets, known=None) -> list[dict]:
    """The side-by-side rows: the article's value (or, at another length or unit count, the
    formula's count and the echo target), this run's value and a verdict."""
    out = []

    def add(quantity, kind, reference, ours, decided=None):
        ref, ours = str(reference), str(ours)
        judged = decided or verdict(kind, ref, ours, known)
        out.append({"quantity": quantity, "reference": ref, "this_run": ours, "verdict": judged})

    if args.custom:
        for i, r in enumerate(rows, 1):
            add(f"layer {i} params", "params", r["formula_params"], r["params"])
        add(
            "total params",
            "params",
            sum(r["formula_params"] for r in rows),
            sum(r["params"] for r in rows),
        )
        for i, (t, p) in enumerate(zip(targets, predictions), 1):
            close = abs(float(p) - float(t)) < ECHO_TOLERANCE
            add(f"prediction {i}", "echo", fmt(t, 3), fmt(p, 3), "same" if close else "MISMATCH")
        return out
    section = ARTICLE[args.script]
    for i, ((name, shape, params), r) in enumerate(zip(section.layers, rows), 1):
        add(f"layer {i} name", "name", name, r["name"])
        add(f"layer {i} output shape", "shape", shape, r["output_shape"])
        add(f"layer {i} params", "params", params, r["params"])
    add("total params", "total", section.total, sum(r["params"] for r in rows))
    for i, (reference, p) in enumerate(zip(section.predictions, predictions), 1):
        add(f"prediction {i}", "prediction", reference, fmt(p))
    return out


def print_table(columns: list[str], rows: list[list], indent: str = "  ") -> None:
    """Left-aligned plain-text columns."""
    cells = [columns] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for row in cells:
        print(indent + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def print_side_by_side(args, comparison: list[dict]) -> None:
    if args.custom:
        print(
            f"\nSide by side (--length {args.length} --units {args.units} is not the article's "
            "setup: counts against the formulas, predictions against the echo targets, "
            f"within {ECHO_TOLERANCE}):"
        )
    else:
        print(
            "\nSide by side with the article (Keras 2.0, 2017) and this run "
            f"(Keras 3, {args.backend}):"
        )
    print_table(
        ["quantity", "reference" if args.custom else "article", "this run", "verdict"],
        [[c["quantity"], c["reference"], c["this_run"], c["verdict"]] for c in comparison],
    )
    mismatches = sum(c["verdict"] == "MISMATCH" for c in comparison)
    print(f"  {mismatches} mismatch(es) in {len(comparison)} rows")


def study(args, model, build_model, X, y, first_history, first_predictions) -> dict:
    """Train seeds seed..seed+N-1 (the first is the run already done) and summarise them."""
    import pandas as pd
    from scipy.stats import binomtest

    targets = y.ravel()
    results = []
    for k in range(args.seeds):
        seed = args.seed + k
        if k == 0:
            history, predictions = first_history, first_predictions
        else:
            seed_everything(seed)
            load_initial_state(model, build_model(args))  # as new, without compiling again
            history, predictions = fit_and_predict(args, model, X, y, verbose=0)
        results.append(
            {
                "seed": seed,
                "final_loss": history[-1],
                "max_abs_error": max_error(predictions, targets),
                "reproduced": reproduced(predictions, targets),
                "predictions": [float(p) for p in predictions],
                "history": history,
            }
        )
        r = results[-1]
        print(
            f"seed {k + 1}/{args.seeds} (--seed {seed}): "
            f"{'reproduced' if r['reproduced'] else 'not reproduced'}, "
            f"max error {r['max_abs_error']:.3f}",
            file=sys.stderr,
            flush=True,
        )
    table = pd.DataFrame(results).drop(columns=["history", "predictions"]).set_index("seed")
    k = int(table["reproduced"].sum())
    ci = binomtest(k, args.seeds).proportion_ci(confidence_level=0.95, method="exact")
    print(f"\nReproduction study: {args.seeds} seeds from --seed {args.seed}, {args.epochs} epochs")
    print(
        table.to_string(
            formatters={"final_loss": "{:.3g}".format, "max_abs_error": "{:.3f}".format}
        )
    )
    summary = (
        f"reproduced in {k}/{args.seeds} seeds (95% CI {100 * ci.low:.0f}-{100 * ci.high:.0f}%)"
    )
    print(summary)
    return {
        "seeds": results,
        "reproduced": k,
        "n": args.seeds,
        "ci95": [ci.low, ci.high],
        "summary": summary,
    }


def plot(path: str, title: str, histories: dict, predictions, targets, x_label: str) -> None:
    """Loss per epoch (log scale; one curve per seed) and prediction vs target, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for seed, history in histories.items():
        left.plot(
            range(1, len(history) + 1),
            history,
            lw=1.2 if len(histories) == 1 else 0.8,
            label=f"seed {seed}",
        )
    left.set_yscale("log")
    left.set(title="Training loss (mean squared error)", xlabel="epoch", ylabel="loss (log scale)")
    left.legend(fontsize="small", ncol=2 if len(histories) > 6 else 1)
    steps = list(range(1, len(targets) + 1))
    right.fill_between(
        steps,
        targets - 0.05,
        targets + 0.05,
        color="tab:blue",
        alpha=0.12,
        label="prints as the target with '%.1f'",
    )
    right.plot(steps, targets, "o-", label="target (the input, echoed)")
    right.plot(steps, predictions, "x--", label=f"prediction (seed {next(iter(histories))})")
    right.set(title="Echo after training", xlabel=x_label, ylabel="value")
    if len(steps) <= 20:
        right.set_xticks(steps)
    right.legend(fontsize="small")
    fig.suptitle(title)

    def save(f):
        fig.savefig(f, format="png", dpi=80)

    write_atomically(path, save)
    plt.close(fig)


def report(
    args,
    model,
    build_model,
    X,
    y,
    history,
    predictions,
    seconds: dict,
    extra: dict | None = None,
    known: dict | None = None,
) -> int:
    """Print the checks and the side-by-side block, run the study, save plot and JSON.

    Returns the exit status: 1 under --check when something is a MISMATCH, else 0."""
    targets = y.ravel()
    rows = layer_rows(model)
    counts_ok = print_parameter_check(rows)
    lstm = model.layers[0]
    print()
    print("\n".join(lstm_derivation(lstm.input.shape[-1], lstm.units)))
    comparison = comparison_rows(args, rows, predictions, targets, known)
    print_side_by_side(args, comparison)
    passed = counts_ok and all(c["verdict"] != "MISMATCH" for c in comparison)
    print(
        f"max |prediction - target| = {max_error(predictions, targets):.4f}; "
        f"final loss {history[-1]:.6g}"
    )
    results = {
        "script": f"{SCRIPT_MODULES[args.script]}.py",
        "section": ARTICLE[args.script].title,
        "config": {
            k: getattr(args, k)
            for k in (
                "length",
                "units",
                "epochs",
                "batch_size",
                "lr",
                "seed",
                "fit",
                "backend",
                "seeds",
            )
        },
        "backend": args.backend,
        "versions": versions(),
        "layers": rows,
        "total_params": sum(r["params"] for r in rows),
        "predictions": [float(p) for p in predictions],
        "printed": [fmt(p) for p in predictions],
        "targets": [float(t) for t in targets],
        "max_abs_error": max_error(predictions, targets),
        "final_loss": history[-1],
        "loss_history": history,
        "comparison": comparison,
        "check_passed": passed,
        **(extra or {}),
    }
    histories = {args.seed: history}
    if args.seeds > 1:
        results["study"] = study(args, model, build_model, X, y, history, predictions)
        histories = {r["seed"]: r["history"] for r in results["study"]["seeds"]}
    results["seconds"] = seconds
    print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in seconds.items()), file=sys.stderr)
    if args.plot:
        x_label = "sample" if args.script == "one_to_one" else "time step"
        plot(
            args.plot,
            f"{SCRIPT_MODULES[args.script]}.py: {ARTICLE[args.script].title}",
            histories,
            predictions,
            targets,
            x_label,
        )
    if args.json:
        write_json(args.json, results)
    if args.check and not passed:
        print("check failed: see MISMATCH (or DIFFERENT) above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # prints the README's table of input framings
    print(framings_markdown())
