"""Can the trained model predict the next value? From the article's echo to a forecast.

The article's models echo their input, so asked for the next value they give back the last one.
This script draws windows of sine waves (a random period and phase each, so the next value is not
the current one and the window's shape tells where the wave goes), scales them with scikit-learn's
MinMaxScaler, and trains seven framings on the same training windows, judged on held-out windows
against persistence (the next value is the last one seen): the article's echo model asked for the
next value; a window in and the next value out; targets shifted by one step ("option A"); that
model fed its own predictions; a vector of the next --horizon values; an encoder-decoder; and the
author's "option B" ("steps 1-3 in, steps 4-6 out"): the window's last H = --horizon steps in, the
next H out, a TimeDistributed output at every input step. Its alignment: output t (t = 1..H) is
the value H steps after input t, so output 1 is read after one input step and must forecast H
steps ahead from it. Option B needs --horizon at most --window (else refused).

    python questions/forecast.py                         # window 6, horizon 3, one value a step
    python questions/forecast.py --window 8 --horizon 5  # other lengths in and out
    python questions/forecast.py --seeds 5 --backend jax   # medians over initial weights
    python questions/forecast.py --plot forecast.png     # three held-out windows, forecast

Expected: the echo model's next-step error is persistence's (ratio near 1); every framing trained
to forecast is well below it; option B least: behind the encoder-decoder at every step and, at
the defaults, behind persistence at its first step (--check holds it to its weight count alone).
"""

import sys
from functools import partial

import numpy as np

import common
from repro import cli, plots, training
from repro.backend import seed_everything, startup_lines_dropped
from repro.run import conclude, run_program, start

QUESTION = __doc__.splitlines()[0]
PROG = "questions/forecast.py"
NAMES = (
    *("persistence", "echo", "many_to_one", "shifted", "recursive", "vector", "encoder_decoder"),
    "option_b",
)
ONE_STEP = ("echo", "many_to_one", "shifted")  # judged on the next value alone
# recursive reuses many_to_one; option_b is trained last, so the others' seeds are what they were
TRAINED = ("echo", "many_to_one", "shifted", "vector", "encoder_decoder", "option_b")
TRAIN, HELD_OUT = 256, 128  # windows, drawn from different random streams
PERIODS = (6.0, 16.0)  # steps per cycle, drawn for each window
EPOCHS, LR, UNITS, BATCH = 150, 0.01, 16, 128
PLOTTED = 3  # held-out windows drawn with their forecasts (--plot)


## Data: windows of sine waves, each split into the steps seen and the steps to forecast


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


def describe(train: np.ndarray, args) -> str:
    """The data in one line, with the first training window as an example."""
    L, H, F = args.window, args.horizon, args.features
    return (
        f"Data: sine waves, {PERIODS[0]:g}-{PERIODS[1]:g} steps a cycle at a random phase, "
        f"scaled to 0-1; {TRAIN} training and {HELD_OUT} held-out windows (other draws) of {L} "
        f"steps in, {H} out, {F} value{'s' * (F > 1)} a step; e.g. "
        f"{' '.join(f'{v:.2f}' for v in train[0, :L, 0])} -> "
        f"{' '.join(f'{v:.2f}' for v in train[0, L:, 0])}"
    )


def framed(name: str, w: np.ndarray, window: int, horizon: int):
    """(X, y) of one framing from windows of window + horizon steps: X the whole window, but
    option B's is the window's last `horizon` steps (output t: the value `horizon` after input
    t)."""
    X, future = w[:, :window], w[:, window:]
    return (
        X if name != "option_b" else X[:, window - horizon :],
        {
            "echo": X,  # the article's framing: the targets are the inputs
            "many_to_one": future[:, 0],
            "recursive": future[:, 0],
            "shifted": w[:, 1 : window + 1],  # option A: each step's target is the next value
            "vector": future.reshape(len(w), -1),
            "encoder_decoder": future,
            "option_b": future,  # steps 1-H in, steps H+1 to 2H out, one out per step in
        }[name],
    )


## Model: one LSTM, and a head shaped like each framing's targets


def build_model(name: str, args):
    """The framing's network: LSTM(units), and a head shaped like its targets."""
    import keras
    from keras import layers

    F, H, U = args.features, args.horizon, args.units
    every_step = name in ("echo", "shifted", "option_b")
    steps = H if name == "option_b" else args.window  # option B: the window's last H steps
    body = [keras.Input(shape=(steps, F)), layers.LSTM(U, return_sequences=every_step)]
    # Every head below is made (each draws its initializers' seeds), the framing's own kept:
    # option B's comes last, so the others draw the initial weights they drew before it joined
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
        "option_b": [layers.TimeDistributed(layers.Dense(F))],
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
        "option_b": lstm(F, U) + dense(U, F),  # the shifted model's: the steps cost no weights
    }[name]


## Train: every framing on the same training windows, from one seed's initial weights


def train_all(args, models: dict, train: np.ndarray, seed: int, seconds: dict) -> dict:
    """Train every framing's network from `seed`'s initial weights; the final losses. The
    training's wall time is added to seconds["fit"]."""
    losses = {}
    for name in TRAINED:
        seed_everything(seed)
        fresh = build_model(name, args)
        if name in models:  # keep the compiled loop: only the starting weights change
            training.load_initial_state(models[name], fresh)
        else:
            models[name] = fresh
        X, y = framed(name, train, args.window, args.horizon)
        before = seconds.get("fit", 0.0)
        with training.timed(seconds, "fit"):
            history = training.fit(args, models[name], X, y, args.epochs, BATCH, args.verbose // 2)
        losses[name] = history[-1]
        if args.verbose:
            print(
                f"seed {seed} {name}: {args.epochs} epochs, final loss {history[-1]:.3g}, "
                f"{seconds['fit'] - before:.1f} s",
                file=sys.stderr,
            )
    return losses


## Evaluate: each framing's forecast of the held-out windows, against persistence's


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
    if name == "option_b":  # the last `horizon` steps in, the `horizon` after them out
        return predict(models[name], X[:, X.shape[1] - horizon :])
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


def measure(models: dict, held: np.ndarray, window: int, horizon: int) -> dict:
    """One seed's figures: every framing's scores; how far the echo's next value is from the last
    input (on average); and the first held-out windows' forecasts (their first value a step)."""
    X, shown = held[:, :window], held[:PLOTTED]
    echoed = predict(models["echo"], X)[:, -1]
    return {
        "scores": evaluate(models, held, window, horizon),
        "echo_vs_last_input": float(np.mean(np.abs(echoed - X[:, -1]))),
        "examples": {
            "held_out_windows": list(range(len(shown))),
            "input": shown[:, :window, 0].tolist(),
            "future": shown[:, window:, 0].tolist(),
            "forecasts": {
                name: forecasts(name, models, shown[:, :window], horizon)[..., 0].tolist()
                for name in NAMES
            },
        },
    }


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

    seed_everything(args.seed)  # its loss below depends on --seed alone, not on what trained
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


def main(argv: list[str] | None = None) -> int:
    """Run with these command-line arguments (none: the defaults); the exit status."""
    with start(None, argv, add_arguments, check_arguments, PROG, QUESTION) as args:
        ## Data: sine-wave windows, scaled on the training ones
        train, held = make_data(args)
        print(describe(train, args))

        ## Model and Train: every framing from each seed's initial weights; each seed's scores
        models, runs, seconds = {}, [], {}
        for seed in range(args.seed, args.seed + args.seeds):
            losses = train_all(args, models, train, seed, seconds)
            runs.append({"seed": seed, "final_loss": losses})
            runs[-1].update(measure(models, held, args.window, args.horizon))

        ## Evaluate: the seeds' scores by framing, and Keras on targets that do not fit the head
        with startup_lines_dropped():  # TensorFlow's warnings after the failed fit: expected
            error = keras_error(args, train)
        results = record(args, runs, models, held, error)
        answer = report(args, results)
        draw = partial(plot, args, results)  # draw(path), with --plot
        return conclude(args, answer, results, failed(results, args.seeds), draw, seconds)


## Report: the results, their tables, the answer and the picture


def record(args, runs: list, models: dict, held: np.ndarray, error: list) -> dict:
    """The run's results: a row per framing (its shapes, weights and the first seed's errors;
    with --seeds, every seed's and their median), the shape errors and the plotted windows."""
    L, H, F, U = args.window, args.horizon, args.features, args.units
    rows = []
    for name in NAMES:
        X, y = framed(name, held, L, H) if name != "persistence" else (held[:, :L], held[:, L:])
        model = models.get("many_to_one" if name == "recursive" else name)
        scores = [r["scores"][name] for r in runs]
        row = {
            "name": name,
            "x_shape": ["samples", *X.shape[1:]],
            "y_shape": ["samples", *(y.shape[1:] if name != "recursive" else (H, F))],
            "params": 0 if model is None else model.count_params(),
            "formula_params": formula_params(name, F, H, U),
            **{k: scores[0][k] for k in ("mse", "mse_vs_persistence")},
        }
        if name not in ONE_STEP:
            row["mse_per_position"] = scores[0]["mse_per_position"]
        if args.seeds > 1:
            ratios = [s["mse_vs_persistence"] for s in scores]
            row["seeds"] = [{"seed": r["seed"], **s} for r, s in zip(runs, scores, strict=True)]
            row["median_vs_persistence"] = float(np.median(ratios))
            row["range_vs_persistence"] = [min(ratios), max(ratios)]
            row["beat_persistence"] = sum(r < 1 for r in ratios)
            if name not in ONE_STEP:  # each step ahead's median error over the seeds
                per = np.array([s["mse_per_position"] for s in scores])
                row["median_per_position"] = np.median(per, axis=0).tolist()
        rows.append(row)
    return {
        "batch_size": BATCH,
        "windows": {"train": TRAIN, "held_out": HELD_OUT, "periods": list(PERIODS)},
        "framings": rows,
        "final_loss": runs[0]["final_loss"],
        "keras_error": error,
        "echo_vs_last_input_mean_abs": runs[0]["echo_vs_last_input"],
        "examples": runs[0]["examples"],
    }


def report(args, results: dict) -> str:
    """Print the framings' table (and with --seeds the seeds'), and the shape errors; return the
    answer they give, every figure from the run (the first seed's, as the table)."""
    import pandas as pd

    rows = results["framings"]
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
    print(
        f"\nForecasts of held-out windows ({args.epochs} epochs, seed {args.seed}, "
        f"{args.units} units):"
    )
    print(table.to_string(index=False))
    if args.seeds > 1:
        print(f"\nOver {args.seeds} seeds (initial weights; the same windows):")
        seeds = pd.DataFrame(
            {
                "framing": r["name"],
                "median / persistence": f"{r['median_vs_persistence']:.2f}",
                "range": "{:.2f}-{:.2f}".format(*r["range_vs_persistence"]),
                "beat persistence": f"{r['beat_persistence']}/{args.seeds}",
                "median MSE at each step ahead": " ".join(
                    f"{e:.2g}" for e in r.get("median_per_position", [])
                ),
            }
            for r in rows[1:]
        )
        print(seeds.to_string(index=False))
    print("\nThe shifted model (TimeDistributed at every step) fit on other targets:")
    print("\n".join(f"  {line}" for line in results["keras_error"]))

    ratio = {r["name"]: r["mse_vs_persistence"] for r in rows}
    one = ", ".join(f"{n} {ratio[n]:.2f}" for n in ONE_STEP[1:])
    many = ", ".join(f"{n} {ratio[n]:.2f}" for n in ("recursive", "vector", "encoder_decoder"))
    H = args.horizon
    steps = f"{H} step{'s' * (H > 1)}"
    per = {r["name"]: r["mse_per_position"] for r in rows if "mse_per_position" in r}
    each = {name: " ".join(f"{e:.2g}" for e in errors) for name, errors in per.items()}
    worst = int(np.argmax(per["option_b"]))
    return (
        "Answer: asked for the next value, the echo model returns within "
        f"{results['echo_vs_last_input_mean_abs']:.2g} of the last value it was given (on "
        f"average), and its error is {ratio['echo']:.2f} x persistence's. Trained on the next "
        f"value instead: {one}; over {steps}: {many} (held-out mean squared error / "
        f"persistence's); option B (the last {steps} in, the next {steps} out, TimeDistributed "
        f"at each) {ratio['option_b']:.2f}, worst at "
        f"{'its first step' if worst == 0 else f'step {worst + 1}'} ({each['option_b']} per step "
        f"against the encoder-decoder's {each['encoder_decoder']} and persistence's "
        f"{each['persistence']})."
    )


def failed(results: dict, seeds: int) -> str | None:
    """Why the run does not support the answer (--check): a framing trained to forecast that
    does not beat persistence (with --seeds, by its median), or a weight count off its formula.
    Option B is not held to persistence, over its steps or at any one (at --horizon 1 it is about
    persistence): the answer reports how it fares."""
    rows = results["framings"]
    key = "median_vs_persistence" if seeds > 1 else "mse_vs_persistence"
    behind = [r["name"] for r in rows[2:] if r["name"] != "option_b" and not r[key] < 1]
    if behind:
        return f"{', '.join(behind)} did not beat persistence"
    if any(r["params"] != r["formula_params"] for r in rows):
        return "a parameter count differs from its formula"
    return None


STYLE = {  # framing -> colour and marker: the one-step framings are one point each
    "persistence": ("tab:gray", "s"),
    "echo": ("tab:red", "X"),
    "many_to_one": ("tab:blue", "^"),
    "shifted": ("tab:cyan", "v"),
    "recursive": ("tab:orange", "D"),
    "vector": ("tab:green", "P"),
    "encoder_decoder": ("tab:purple", "*"),
    "option_b": ("tab:brown", "h"),
}


def plot(args, results: dict, path: str) -> None:
    """The PNG: how far off a forecast is. Three held-out windows with the true future and every
    framing's forecast of it (the one-step framings a point each), then each framing's held-out
    error at each step ahead."""
    L, H = args.window, args.horizon
    ex = results["examples"]
    dot = 4 if L + H <= 40 else 0  # a marker on every step while they stay apart
    seen, ahead = np.arange(-L + 1, 1), np.arange(1, H + 1)
    fig, axes = plots.figure(2, 2, height=7.5)

    def framing(ax, x, y, name: str, one: bool, **label) -> None:  # a point each, or a line
        color, marker = STYLE[name]
        ms = 8 if one else dot * 1.25
        ax.plot(x, y, marker=marker, ls="" if one else "-", ms=ms, color=color, alpha=0.85, **label)

    for ax, i in zip(axes.flat, range(len(ex["input"])), strict=False):
        ax.plot(seen, ex["input"][i], "o-", ms=dot, color="black", label="input window")
        future = dict(ms=dot * 1.5, color="black", mfc="white", lw=1.5, zorder=3)  # over the rest
        ax.plot(ahead, ex["future"][i], "o--", **future, label="true future")
        for name in NAMES:
            pred = ex["forecasts"][name][i]
            framing(ax, ahead[: len(pred)], pred, name, name in ONE_STEP, label=name)
        ax.axvspan(0.5, H + 0.5, color="0.93", zorder=0)  # the steps to forecast
        ax.xaxis.get_major_locator().set_params(integer=True)  # steps are whole numbers
        ax.set(
            title=f"Held-out window {ex['held_out_windows'][i] + 1}",
            xlabel="step (0: the last value seen; shaded: the steps forecast)",
            ylabel="value (scaled 0-1)" + (", the first of a step's" if args.features > 1 else ""),
        )
    err = axes.flat[-1]
    for r in results["framings"]:
        per = r.get("mse_per_position", [r["mse"]])
        framing(err, range(1, len(per) + 1), per, r["name"], len(per) == 1)
    err.set_yscale("log")
    err.set(
        title=f"Held-out MSE at each step ahead (all {HELD_OUT} windows)",
        xlabel="steps ahead",
        ylabel="mean squared error (log scale)",
    )
    if H <= 20:
        err.set_xticks(ahead)
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="outside lower center", ncol=5)
    fig.suptitle(
        f"How far off is a forecast? {L} steps in, {H} forecast; every framing trained "
        f"{args.epochs} epochs from seed {args.seed}"
    )
    plots.save(path, fig)


## Flags: this script's own, and a memory estimate checked before Keras starts

# The echo's and shifted's heads are TimeDistributed over the window, the encoder-decoder's over
# the horizon: Keras calls their Dense once per step in the training graph, and the process grows
# with the steps (--horizon 300: 1.9 GB, 1000: 4.7 GB, measured by hand)
MAX_STEPS = 200
FLAGS = {  # flag -> lowest, highest, default, meaning
    "--window": (2, MAX_STEPS, 6, "input steps per window"),
    "--horizon": (1, MAX_STEPS, 3, "steps to forecast"),
    "--features": (1, 10**4, 1, "values per step"),
    "--units": (1, 10**4, UNITS, "LSTM units"),
}


def add_arguments(parser) -> None:
    """The window, horizon and sizes; --epochs and --lr default to this script's."""
    cli.add_flags(parser, FLAGS)
    parser.set_defaults(epochs=EPOCHS, lr=LR)


def check_arguments(args) -> None:
    """Refuse a horizon longer than the window (option B's input is the window's last --horizon
    steps: no other framing then) and sizes whose training would pass the memory cap, before
    Keras starts."""
    if args.horizon > args.window:
        raise cli.UsageError(
            f"argument --horizon: option B takes the window's last --horizon steps as its input, "
            f"so --horizon ({args.horizon}) must be at most --window ({args.window})"
        )
    steps, F, U = args.window + args.horizon, args.features, args.units
    data = 4 * (TRAIN + HELD_OUT) * steps * F * 4  # windows, framed copies
    activations = 4 * TRAIN * steps * U * 8 * 2  # gates and states, two LSTMs
    weights = 4 * 4 * 2 * formula_params("encoder_decoder", F, args.horizon, U)
    cli.check_memory(
        "--window/--horizon/--features/--units",
        data + activations + weights * len(TRAINED),
        f"{steps} steps of {F} value{'s' * (F > 1)} with {U} units need",
        "pass fewer --units or --features, or shorter --window and --horizon",
    )


if __name__ == "__main__":
    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
