"""Bidirectional with TimeDistributed: what shapes come out, and is the wrapper needed?

On the article's many-to-many echo (one sample, 0.0 0.2 0.4 0.6 0.8 in and out at every step),
Bidirectional(LSTM(5, return_sequences=True)) runs one LSTM forward and a copy backward over the
steps and puts their outputs side by side. Its shapes and weights are checked against the
formulas, and TimeDistributed(Dense(1)) against a plain Dense(1) given the same weights. Then the
article's LSTM, this model and a Bidirectional(LSTM(3)) with fewer weights than the article's
train from the same seeds, read at 0.5x to 3x the article's 1000 epochs. Look for which
converges sooner, whether the article's LSTM catches up, and at which step its misses fall.

    python questions/bidirectional.py                                         # 1 seed, TensorFlow
    python questions/bidirectional.py --backend jax --seeds 100 --epochs 3000  # seeds together
"""

import numpy as np

import common
import many_to_many_td
from repro import lesson, plots
from repro.backend import tensorflow_hidden
from repro.compare import ECHO_TOLERANCE
from repro.study import at_budgets, first_budget, rate_rows, reproduced_at

ARTICLE_EPOCHS = common.ARTICLE["many_to_many"].epochs  # 1000
UNITS = common.ARTICLE_LENGTH  # the article's n_neurons, 5, in each direction
SMALL = 3  # Bidirectional(LSTM(3)): 2 x 60 + 7 = 127 weights, fewer than the article's 146
ONE_WAY, BOTH, FEWER = "the article's LSTM(5)", "Bidirectional(LSTM(5))", "Bidirectional(LSTM(3))"
# Two units in the last place of a float32 near 1: the two heads may sum the same products in
# another order, so this far apart their outputs are the same
FLOAT32_ROUNDING = 2 * 2.0**-23


def main(argv: list[str] | None = None) -> int:
    with lesson.start(__doc__, argv, seeds=1, epochs=ARTICLE_EPOCHS, lr=0.001) as run:
        args = run.args

        ## Data: the article's many-to-many framing, one sample of five steps
        length = common.ARTICLE_LENGTH
        seq = common.echo_sequence(length)
        X, y = seq.reshape(1, length, 1), seq.reshape(1, length, 1)

        ## Model: the article's LSTM, and the Bidirectional ones (see build_model)
        lr = args.lr
        builders = {  # one way (the article's), both ways, and with fewer weights
            ONE_WAY: lambda: many_to_many_td.build_model(length, UNITS, lr),
            BOTH: lambda: build_model(length, UNITS, lr),
            FEWER: lambda: build_model(length, SMALL, lr),
        }
        models = {name: build() for name, build in builders.items()}
        both = models[BOTH]
        plain = build_model(length, UNITS, lr, wrapped=False)  # Dense(1), no wrapper
        plain.set_weights(both.get_weights())  # the same two LSTMs, the same Dense(1)
        outputs = [m.predict(X, verbose=0) for m in (both, plain)]
        difference = float(np.max(np.abs(outputs[0] - outputs[1])))

        ## Train: every model from the same seeds, each run read at every budget
        seeds = range(args.seed, args.seed + args.seeds)
        budgets = lesson.budgets(args.epochs, ARTICLE_EPOCHS)
        read_at = ARTICLE_EPOCHS if ARTICLE_EPOCHS in budgets else budgets[-1]  # read the steps
        reproduced, off = {}, {}
        for name, build in builders.items():
            _, predictions = at_budgets(build, X, y, seeds, budgets, batch_size=1)

            ## Evaluate: a seed reproduces when every prediction is within 0.05 of its target
            reproduced[name] = reproduced_at(predictions, seq).sum(axis=0).tolist()
            read = predictions[:, budgets.index(read_at)].reshape(len(seeds), length)
            errors = np.abs(read - seq)
            off[name] = (errors >= ECHO_TOLERANCE).sum(axis=0).tolist()  # seeds off, per step
            run.say(f"{name}: {reproduced[name]} of {args.seeds} seeds at {budgets} epochs")

        return report(run, budgets, read_at, models, plain, difference, reproduced, off)


def build_model(length: int, units: int, lr: float, wrapped: bool = True):
    """Bidirectional(LSTM(units, return_sequences=True)) -> TimeDistributed(Dense(1)), or a plain
    Dense(1) with wrapped=False: the article's many-to-many model, read both ways."""
    import keras
    from keras import layers

    head = layers.Dense(1)  # one Dense(1) on the 2 * units values of each step
    if wrapped:
        head = layers.TimeDistributed(head)
    with tensorflow_hidden():  # Bidirectional copies the LSTM through Keras' serialization, which
        # would import TensorFlow (seconds, and its start-up lines) on JAX and PyTorch
        both = layers.Bidirectional(layers.LSTM(units, return_sequences=True))
    model = keras.Sequential([keras.Input(shape=(length, 1)), both, head])
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(lr))
    return model


## Report


def report(run, budgets, read_at, models, plain, difference: float, reproduced, off) -> int:
    args, n = run.args, run.args.seeds
    rows = {name: common.layer_rows(m) for name, m in models.items()}
    rows["the same, Dense(1) unwrapped"] = common.layer_rows(plain)[1:]
    run.table(
        "Layers: output shape, Keras' count and the formula's",
        [
            {"model": name, **{k: r[k] for k in ("class", "output_shape", "params", "formula")}}
            | {"=": r["formula_params"]}
            for name, layers in rows.items()
            for r in layers
        ],
    )
    run.table(
        f"Seeds reproduced ({n} from --seed {args.seed}, {args.backend})",
        rate_rows(budgets, reproduced, n),
    )
    run.table(
        f"Seeds off by {ECHO_TOLERANCE} or more at each step, at {read_at} epochs",
        [
            {"model": name, **{f"step {t + 1}": k for t, k in enumerate(o)}}
            for name, o in off.items()
        ],
    )
    both = rows[BOTH]
    shape = f"(None, {common.ARTICLE_LENGTH}, {2 * UNITS})"  # both directions side by side
    run.expect(both[0]["output_shape"] == shape, f"{shape} comes out")
    every = [r for layers in rows.values() for r in layers]
    run.expect(
        all(r["params"] == r["formula_params"] for r in every), "every count is its formula's"
    )
    run.expect(difference <= FLOAT32_ROUNDING, "Dense(1) gives TimeDistributed(Dense(1))'s outputs")
    weights = {name: m.count_params() for name, m in models.items()}
    run.expect(weights[FEWER] < weights[ONE_WAY], f"{FEWER} has fewer weights than LSTM(5)")
    pairs = [list(zip(reproduced[ONE_WAY], reproduced[b], strict=True)) for b in (BOTH, FEWER)]
    behind = any(b < a for pair in pairs for a, b in pair)
    run.expect(not behind, "no Bidirectional model is behind the article's LSTM at any budget")
    ahead = all(any(b > a for a, b in pair) for pair in pairs)
    met = [first_budget(budgets, k, n) for k in reproduced.values()]
    at = {name: k[budgets.index(read_at)] for name, k in reproduced.items()}
    return run.answer(
        "Bidirectional(LSTM(5, return_sequences=True)) outputs {shape}, 2 x {lstm} weights; "
        "Dense(1) on it adds {head} and gives TimeDistributed(Dense(1))'s outputs from the same "
        "weights: no wrapper needed. At {epochs} epochs it reproduces {both}/{n}, {fewer_name} "
        "({fewer_weights} weights) {fewer}/{n}, the article's LSTM {article}/{n} ({first} of "
        "{misses} misses off at step 1): Bidirectional converges {sooner}; {meet}.",
        draw=lambda path: picture(path, args, budgets, reproduced, weights),
        shape=both[0]["output_shape"],
        lstm=common.lstm_params(1, UNITS),
        head=both[1]["params"],
        epochs=read_at,
        both=at[BOTH],
        fewer_name=FEWER,
        fewer_weights=weights[FEWER],
        fewer=at[FEWER],
        article=at[ONE_WAY],
        first=off[ONE_WAY][0],
        misses=n - at[ONE_WAY],
        n=n,
        sooner="sooner" if ahead else "no later",
        meet=f"all meet by {max(met)}" if all(met) else f"not all meet by {budgets[-1]}",
    )


def picture(path: str, args, budgets, reproduced: dict, weights: dict) -> None:
    n = args.seeds
    curves = {
        f"{m} ({weights[m]} weights)": [100 * k / n for k in c] for m, c in reproduced.items()
    }
    plots.budget_curves(
        path,
        f"The many-to-many echo, one way and both ways: seeds that reproduce ({n}, {args.backend})",
        budgets,
        curves,
        "seeds that reproduce (%)",
        {ARTICLE_EPOCHS: "the article's epochs"},
    )


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
