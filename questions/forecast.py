"""Can the trained model predict the next value? From the article's echo to a forecast.

The article's models echo their input, so asked for the next value they give back the last one.
This script draws windows of sine waves (a random period and phase each, so the next value is not
the current one and the window's shape tells where the wave goes), scales them with scikit-learn's
MinMaxScaler, and trains six framings on the same training windows, judged on held-out windows
against persistence (the next value is the last one seen): the article's echo model asked for the
next value; a window in and the next value out; targets shifted by one step ("option A"); that
model fed its own predictions; a vector of the next --horizon values; and an encoder-decoder.

    python questions/forecast.py                         # window 6, horizon 3, one value a step
    python questions/forecast.py --window 8 --horizon 5  # other lengths in and out
    python questions/forecast.py --seeds 20 --backend jax   # medians over initial weights

Expected: the echo model's next-step error is persistence's (ratio near 1); every framing trained
to forecast is well below it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # common, repro, the scripts

import numpy as np  # noqa: E402

import common  # noqa: E402
from repro import cli, files, training  # noqa: E402
from repro.backend import seed_everything, startup_lines_dropped  # noqa: E402
from repro.run import conclude, run_program, start  # noqa: E402

PROG = "questions/forecast.py"
NAMES = ("persistence", "echo", "many_to_one", "shifted", "recursive", "vector", "encoder_decoder")
ONE_STEP = ("echo", "many_to_one", "shifted")  # judged on the next value alone
TRAINED = ("echo", "many_to_one", "shifted", "vector", "encoder_decoder")  # recursive reuses one
TRAIN, HELD_OUT = 256, 128  # windows, drawn from different random streams
PERIODS = (6.0, 16.0)  # steps per cycle, drawn for each window
EPOCHS, LR, UNITS, BATCH = 150, 0.01, 16, 128
# The shifted and encoder-decoder heads call their Dense once per step in the training graph, and
# the process grows with the steps (--horizon 300: 1.9 GB, 1000: 4.7 GB, measured by hand)
MAX_STEPS = 200


def windows(n: int, steps: int, features: int, rng) -> np.ndarray:
    """n sine waves of `steps` steps, each with its own period and phase; feature f runs a quarter
    cycle behind feature f-1. Shape (n, steps, features), values from -1 to 1."""
    period = rng.uniform(*PERIODS, size=(n, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    t = np.arange(steps)[None, :, None]
    lag = np.arange(features)[None, None, :] * np.pi / 2
    return np.sin(2 * np.pi * t / period + phase - lag)


def make_data(args):
    """Training and held-out windows of window + horizon steps, scaled to 0-1 with a
    MinMaxScaler fitted on the training windows alone."""
    from sklearn.preprocessing import MinMaxScaler

    steps = args.window + args.horizon
    train = windows(TRAIN, steps, args.features, np.random.default_rng([args.seed, 0]))
    held = windows(HELD_OUT, steps, args.features, np.random.default_rng([args.seed, 1]))
    scaler = MinMaxScaler().fit(train.reshape(-1, args.features))
    scale = lambda w: scaler.transform(w.reshape(-1, args.features)).reshape(w.shape)  # noqa: E731
    return scale(train).astype("float32"), scale(held).astype("float32")


def framed(name: str, w: np.ndarray, window: int, horizon: int):
    """(X, y) of one framing from windows of window + horizon steps."""
    X, future = w[:, :window], w[:, window:]
    return (
        X,
        {
            "echo": X,  # the article's framing: the targets are the inputs
            "many_to_one": future[:, 0],
            "recursive": future[:, 0],
            "shifted": w[:, 1 : window + 1],  # option A: each step's target is the next value
            "vector": future.reshape(len(w), -1),
            "encoder_decoder": future,
        }[name],
    )


def build_model(name: str, args):
    """The framing's network: LSTM(units), and a head shaped like its targets."""
    import keras
    from keras import layers

    F, H, U = args.features, args.horizon, args.units
    every_step = name in ("echo", "shifted")
    body = [keras.Input(shape=(args.window, F)), layers.LSTM(U, return_sequences=every_step)]
    head = {
        "echo": [layers.TimeDistributed(layers.Dense(F))],
        "shifted": [layers.TimeDistributed(layers.Dense(F))],
        "many_to_one": [layers.Dense(F)],
        "vector": [layers.Dense(H * F)],
        "encoder_decoder": [
            layers.RepeatVector(H),
            layers.LSTM(U, return_sequences=True),
            layers.TimeDistributed(layers.Dense(F)),
        ],
    }[name]
    model = keras.Sequential(body + head)
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(args.lr))
    return model


def formula_params(name: str, F: int, H: int, U: int) -> int:
    """Weights of each framing's network, from the closed-form counts."""
    lstm, dense = common.lstm_params, common.dense_params
    return {
        "persistence": 0,
        "echo": lstm(F, U) + dense(U, F),
        "shifted": lstm(F, U) + dense(U, F),
        "many_to_one": lstm(F, U) + dense(U, F),
        "recursive": lstm(F, U) + dense(U, F),
        "vector": lstm(F, U) + dense(U, H * F),
        "encoder_decoder": lstm(F, U) + lstm(U, U) + dense(U, F),
    }[name]


def predict(model, X: np.ndarray) -> np.ndarray:
    """model.predict(X) for a few hundred windows: one call, without predict's compiled function
    (made again for every model, which TensorFlow warns about)."""
    import keras

    return keras.ops.convert_to_numpy(model(X, training=False))


def forecasts(name: str, models: dict, X: np.ndarray, horizon: int) -> np.ndarray:
    """Each framing's forecast for the windows X: (samples, its steps ahead, features)."""
    n, F = len(X), X.shape[-1]
    if name == "persistence":
        return np.repeat(X[:, -1:], horizon, axis=1)
    if name == "recursive":  # the many-to-one model, fed its own predictions
        window, out = X, []
        for _ in range(horizon):
            step = predict(models["many_to_one"], window)
            out.append(step)
            window = np.concatenate([window[:, 1:], step[:, None]], axis=1)
        return np.stack(out, axis=1)
    out = predict(models[name], X)
    if name in ("echo", "shifted"):
        return out[:, -1:]  # the last step's output is the next value
    return out.reshape(n, -1, F)


def score(pred: np.ndarray, future: np.ndarray) -> dict:
    """Mean squared error over every forecast value, and at each step ahead."""
    from sklearn.metrics import mean_squared_error

    future = future[:, : pred.shape[1]]
    flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
    return {
        "mse": float(mean_squared_error(flat(future), flat(pred))),
        "mse_per_position": [
            float(mean_squared_error(future[:, h], pred[:, h])) for h in range(pred.shape[1])
        ],
    }


def evaluate(models: dict, held: np.ndarray, window: int, horizon: int) -> dict:
    """Every framing's held-out errors, and each against persistence on the same values."""
    future = held[:, window:]
    X = held[:, :window]
    out = {name: score(forecasts(name, models, X, horizon), future) for name in NAMES}
    base = out["persistence"]
    for name, s in out.items():
        reference = base["mse_per_position"][0] if name in ONE_STEP else base["mse"]
        s["mse_vs_persistence"] = s["mse"] / reference
    return out


def train_all(args, models: dict, train: np.ndarray, seed: int) -> dict:
    """Train every framing's network from `seed`'s initial weights; the final losses."""
    losses = {}
    for name in TRAINED:
        seed_everything(seed)
        fresh = build_model(name, args)
        if name in models:  # keep the compiled loop: only the starting weights change
            training.load_initial_state(models[name], fresh)
        else:
            models[name] = fresh
        X, y = framed(name, train, args.window, args.horizon)
        with training.timed(seconds := {}, "fit"):
            history = training.fit(args, models[name], X, y, args.epochs, BATCH, args.verbose // 2)
        losses[name] = history[-1]
        if args.verbose:
            print(
                f"seed {seed} {name}: {args.epochs} epochs, final loss {history[-1]:.3g}, "
                f"{seconds['fit']:.1f} s",
                file=sys.stderr,
            )
    return losses


def said(e: Exception) -> str:
    """An exception as Keras words it: its first line, without a graph node's name."""
    import re

    text = re.sub(r" for '\{\{node.*?' with", " with", str(e).strip().splitlines()[0])
    text = re.sub(r"^\{\{function_node .*?\}\} ", "", text)
    return f"{type(e).__name__}: {text.removesuffix(' name:').strip()[:200]}"


def keras_error(args, train: np.ndarray) -> list[str]:
    """What Keras says when the shifted model (a TimeDistributed output at every input step) is
    fit on the vector's targets; and what its loss makes of the many-to-one's."""
    import keras

    model = build_model("shifted", args)
    X, y = framed("vector", train, args.window, args.horizon)
    outputs = ("samples", *model(X[:1]).shape[1:])
    lines = []
    try:
        model.train_on_batch(X[:BATCH], y[:BATCH])
        lines.append(f"outputs {outputs}, the vector's targets: no error")
    except Exception as e:
        lines.append(
            f"outputs {outputs}, the vector's targets {('samples', *y.shape[1:])}: {said(e)}"
        )
    X, y = framed("many_to_one", train, args.window, args.horizon)
    where = f"outputs {outputs}, the many-to-one's targets {('samples', *y.shape[1:])}"
    try:
        loss = float(keras.losses.MeanSquaredError()(y, model(X)))
        lines.append(
            f"{where}: no error: the loss ({loss:.3g}) compares the one target with every step"
        )
    except Exception as e:
        lines.append(f"{where}: {said(e)}")
    fix = (
        f"Fix: targets shaped like the output, (samples, steps, {args.features}), or a Dense head "
        "for flat targets (the vector framing)"
    )
    return [*lines, fix]


FLAGS = {  # this script's own: lowest, highest, default, metavar, meaning
    "--window": (2, MAX_STEPS, 6, "L", "input steps per window"),
    "--horizon": (1, MAX_STEPS, 3, "H", "steps to forecast"),
    "--features": (1, 10**4, 1, "F", "values per step"),
    "--units": (1, 10**4, UNITS, "N", "LSTM units"),
}


def add_arguments(parser) -> None:
    for flag, (low, high, default, metavar, meaning) in FLAGS.items():
        parser.add_argument(
            flag,
            type=cli.whole(low, high),
            default=default,
            metavar=metavar,
            help=f"{meaning} (default: %(default)s)",
        )
    parser.set_defaults(epochs=EPOCHS, lr=LR)


def check_arguments(args) -> None:
    steps, F, U = args.window + args.horizon, args.features, args.units
    data = 4 * (TRAIN + HELD_OUT) * steps * F * 4  # windows, framed copies
    activations = 4 * TRAIN * steps * U * 8 * 2  # gates and states, two LSTMs
    weights = 4 * 4 * 2 * formula_params("encoder_decoder", F, args.horizon, U)
    need = data + activations + weights * len(TRAINED)
    if need > cli.MEMORY_CAP_BYTES:
        raise cli.UsageError(
            f"argument --window/--horizon/--features/--units: these sizes need about "
            f"{need / 2**30:,.1f} GiB, over the {cli.MEMORY_CAP_BYTES / 2**30:.0f} GiB cap"
        )


def answer(first: dict, horizon: int, copies: float) -> str:
    """The table's verdict in one line, every figure from the run."""
    ratio = {name: s["mse_vs_persistence"] for name, s in first.items()}
    one = ", ".join(f"{n} {ratio[n]:.2f}" for n in ONE_STEP[1:])
    many = ", ".join(f"{n} {ratio[n]:.2f}" for n in ("recursive", "vector", "encoder_decoder"))
    steps = f"{horizon} step{'s' * (horizon > 1)}"
    return (
        f"Answer: asked for the next value, the echo model returns within {copies:.2g} of the "
        f"last value it was given (on average), and its error is {ratio['echo']:.2f} x "
        f"persistence's. Trained on the next value instead: {one}; over {steps}: {many} "
        "(held-out mean squared error / persistence's)."
    )


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the defaults); the exit status."""
    argv = [] if argv is None else list(argv)
    args = start(None, argv, add_arguments, check_arguments, PROG, __doc__.splitlines()[0])
    import pandas as pd

    L, H, F, U = args.window, args.horizon, args.features, args.units
    train, held = make_data(args)
    print(
        f"Data: sine waves, {PERIODS[0]:g}-{PERIODS[1]:g} steps a cycle at a random phase, "
        f"scaled to 0-1; {TRAIN} training and {HELD_OUT} held-out windows (other draws) of {L} "
        f"steps in, {H} out, {F} value{'s' * (F > 1)} a step; e.g. "
        f"{' '.join(f'{v:.2f}' for v in train[0, :L, 0])} -> "
        f"{' '.join(f'{v:.2f}' for v in train[0, L:, 0])}"
    )
    models, runs, X = {}, [], held[:, :L]
    for seed in range(args.seed, args.seed + args.seeds):
        losses = train_all(args, models, train, seed)
        copies = float(np.mean(np.abs(predict(models["echo"], X)[:, -1] - X[:, -1])))
        runs.append({"seed": seed, "final_loss": losses, "echo_vs_last_input": copies})
        runs[-1].update(evaluate(models, held, L, H))
    copies = runs[0]["echo_vs_last_input"]  # the first seed's, as the table
    rows = []
    for name in NAMES:
        X, y = framed(name, held, L, H) if name != "persistence" else (held[:, :L], held[:, L:])
        model = models.get("many_to_one" if name == "recursive" else name)
        ratios = [r[name]["mse_vs_persistence"] for r in runs]
        row = {
            "name": name,
            "x_shape": ["samples", *X.shape[1:]],
            "y_shape": ["samples", *(y.shape[1:] if name != "recursive" else (H, F))],
            "params": 0 if model is None else model.count_params(),
            "formula_params": formula_params(name, F, H, U),
            **{k: runs[0][name][k] for k in ("mse", "mse_vs_persistence")},
        }
        if name not in ONE_STEP:
            row["mse_per_position"] = runs[0][name]["mse_per_position"]
        if args.seeds > 1:
            row["seeds"] = [{"seed": r["seed"], **r[name]} for r in runs]
            row["median_vs_persistence"] = float(np.median(ratios))
            row["range_vs_persistence"] = [min(ratios), max(ratios)]
            row["beat_persistence"] = sum(r < 1 for r in ratios)
        rows.append(row)
    table = pd.DataFrame(
        {
            "framing": r["name"],
            "X": "(" + ", ".join(map(str, r["x_shape"])) + ")",
            "y": "(" + ", ".join(map(str, r["y_shape"])) + ")",
            "params": r["params"],
            "held-out MSE": f"{r['mse']:.2g}",
            "/ persistence": f"{r['mse_vs_persistence']:.2f}",
            "MSE at each step ahead": " ".join(f"{e:.2g}" for e in r.get("mse_per_position", [])),
        }
        for r in rows
    )
    print(f"\nForecasts of held-out windows ({args.epochs} epochs, seed {args.seed}, {U} units):")
    print(table.to_string(index=False))
    if args.seeds > 1:
        print(f"\nOver {args.seeds} seeds (initial weights; the same windows):")
        seeds = pd.DataFrame(
            {
                "framing": r["name"],
                "median / persistence": f"{r['median_vs_persistence']:.2f}",
                "range": "{:.2f}-{:.2f}".format(*r["range_vs_persistence"]),
                "beat persistence": f"{r['beat_persistence']}/{args.seeds}",
            }
            for r in rows[1:]
        )
        print(seeds.to_string(index=False))
    with startup_lines_dropped():  # TensorFlow's warnings after the failed fit: expected
        error = keras_error(args, train)
    print("\nThe shifted model (TimeDistributed at every step) fit on other targets:")
    print("\n".join(f"  {line}" for line in error))
    first = {r["name"]: r for r in rows}
    print("\n" + answer(first, H, copies))
    key = "median_vs_persistence" if args.seeds > 1 else "mse_vs_persistence"
    behind = [r["name"] for r in rows[2:] if not r[key] < 1]
    counts_ok = all(r["params"] == r["formula_params"] for r in rows)
    failed = None
    if behind:
        failed = f"{', '.join(behind)} did not beat persistence"
    elif not counts_ok:
        failed = "a parameter count differs from its formula"
    results = {
        "script": PROG,
        "config": {
            k: getattr(args, k)
            for k in (
                "window",
                "horizon",
                "features",
                "units",
                "epochs",
                "lr",
                "seed",
                "seeds",
                "fit",
                "backend",
            )
        },
        "batch_size": BATCH,
        "windows": {"train": TRAIN, "held_out": HELD_OUT, "periods": list(PERIODS)},
        "framings": rows,
        "keras_error": error,
        "echo_vs_last_input_mean_abs": copies,
        "answer": answer(first, H, copies),
        "versions": files.versions(),
        "check_passed": failed is None,
    }
    return conclude(args, results, failed)


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
