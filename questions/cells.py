"""Is it the same with a GRU or a SimpleRNN?

The article's many-to-many echo (one sample, 0.0 0.2 0.4 0.6 0.8 in and out at every step) with
an LSTM, a GRU and a SimpleRNN as the recurrent layer. Each layer's weights are counted against
its formula, gates written out; then each model trains from the same seeds, and the share of
seeds that print the article's predictions is read at 0.5x, 1x, 1.5x, 2x and 3x the article's
1000 epochs. Look for which cell gets there sooner, and whether the others catch up.

    python questions/cells.py                          # 2 seeds each, on TensorFlow
    python questions/cells.py --backend jax --seeds 100  # JAX trains the seeds together
"""

import common
from repro import lesson, plots
from repro.study import at_budgets, first_budget, rate_rows, reproduced_at

CELLS = ("LSTM", "GRU", "SimpleRNN")
GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}  # each gate: a kernel, a recurrent kernel, biases
BIASES = {"LSTM": 1, "GRU": 2, "SimpleRNN": 1}  # Keras 3's GRU (reset_after=True): two a gate
ARTICLE_EPOCHS = common.ARTICLE["many_to_many"].epochs  # 1000


def main(argv: list[str] | None = None) -> int:
    with lesson.start(__doc__, argv, seeds=2, epochs=3 * ARTICLE_EPOCHS, units=5, lr=0.001) as run:
        args = run.args

        ## Data: the article's many-to-many framing, one sample of five steps
        length = common.ARTICLE_LENGTH
        seq = common.echo_sequence(length)
        X, y = seq.reshape(1, length, 1), seq.reshape(1, length, 1)

        ## Model: the article's model with each cell (see build_model below)
        models = {cell: build_model(cell, length, args.units, args.lr) for cell in CELLS}
        params = {cell: m.layers[0].count_params() for cell, m in models.items()}

        ## Train: every cell from the same seeds, each run read at every budget
        seeds = range(args.seed, args.seed + args.seeds)
        budgets = lesson.budgets(args.epochs, ARTICLE_EPOCHS)
        reproduced = {}
        for cell in CELLS:
            _, predictions = at_budgets(
                lambda cell=cell: build_model(cell, length, args.units, args.lr),
                X,
                y,
                seeds,
                budgets,
                batch_size=1,
            )
            ## Evaluate: a seed reproduces when every prediction prints its target
            reproduced[cell] = reproduced_at(predictions, seq).sum(axis=0).tolist()
            said = ", ".join(
                f"{k}/{args.seeds} at {b}" for k, b in zip(reproduced[cell], budgets, strict=True)
            )
            run.say(f"{cell}: reproduced {said} epochs")

        return report(run, budgets, params, reproduced)


def build_model(cell: str, length: int, units: int, lr: float):
    """The article's many-to-many model with `cell` (LSTM, GRU or SimpleRNN) as its layer."""
    import keras
    from keras import layers

    recurrent = getattr(layers, cell)(units, return_sequences=True)
    model = keras.Sequential(
        [keras.Input(shape=(length, 1)), recurrent, layers.TimeDistributed(layers.Dense(1))]
    )
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(lr))
    return model


def cell_params(cell: str, inputs: int, units: int) -> int:
    """Weights of one recurrent layer: gates x (kernel + recurrent kernel + biases)."""
    return GATES[cell] * (inputs * units + units * units + BIASES[cell] * units)


def cell_formula(cell: str, inputs: int, units: int) -> str:
    biases = f"{BIASES[cell]}*{units}" if BIASES[cell] > 1 else f"{units}"
    return f"{GATES[cell]}*({inputs}*{units} + {units}*{units} + {biases})"


## Report


def report(run, budgets, params: dict, reproduced: dict) -> int:
    args, n = run.args, run.args.seeds
    run.table(
        "Weights of each recurrent layer (Keras' count and the formula)",
        [
            {
                "cell": cell,
                "gates": GATES[cell],
                "keras": params[cell],
                "formula": cell_formula(cell, 1, args.units),
                "=": cell_params(cell, 1, args.units),
            }
            for cell in CELLS
        ],
    )
    run.table(
        f"Seeds reproduced ({n} from --seed {args.seed}, {args.backend})",
        rate_rows(budgets, reproduced, n),
    )
    for cell in CELLS:
        run.expect(
            params[cell] == cell_params(cell, 1, args.units), f"{cell}'s count is its formula's"
        )
    at = {cell: first_budget(budgets, reproduced[cell], n) for cell in CELLS}
    run.expect(all(at.values()), "every cell reproduces in 95% of seeds within the budgets")
    article = budgets.index(ARTICLE_EPOCHS) if ARTICLE_EPOCHS in budgets else -1
    sooner = [c for c in CELLS[1:] if reproduced[c][article] > reproduced["LSTM"][article]]
    late = [c for c in CELLS if not at[c]]
    if not late:
        meet = f"All three reproduce in 95% of seeds by {max(at.values())} epochs."
    else:
        meet = f"Within {budgets[-1]} epochs, under 95% of seeds for {' and '.join(late)}."
    return run.answer(
        "every cell works the same way; its gates set its size ({sizes}). At {epochs} epochs "
        "{rates}: {sooner} sooner. {meet}",
        draw=lambda path: picture(path, args, budgets, reproduced, params),
        sizes=", ".join(f"{c} {GATES[c]}, {params[c]} weights" for c in CELLS),
        epochs=budgets[article],
        rates=", ".join(f"{c} {reproduced[c][article]}/{n}" for c in CELLS),
        sooner=" and ".join(sooner) + (" converge" if sooner else "none converges"),
        meet=meet,
    )


def picture(path: str, args, budgets, reproduced: dict, params: dict) -> None:
    n = args.seeds
    curves = {f"{c} ({params[c]} weights)": [100 * k / n for k in reproduced[c]] for c in CELLS}
    plots.budget_curves(
        path,
        f"The many-to-many echo with each cell: seeds that reproduce ({n}, {args.backend})",
        budgets,
        curves,
        "seeds that reproduce (%)",
        {ARTICLE_EPOCHS: "the article's epochs"},
    )


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
