"""Many-to-one or many-to-many: which head learns the echo?

The article's LSTM(5, return_sequences=True) on its many-to-many echo with four output heads: its
TimeDistributed(Dense(1)), 6 weights shared by every step; the many-to-one model's last state ->
Dense(5); Flatten -> Dense(5); and a Dense(1) of its own for each step. Each head's weights are
counted against its formula; every model trains from the same seeds (the same initial LSTM), and
the share of seeds that print the article's predictions is read at 0.5x to 3x its 1000 epochs.
Look for which head gets there sooner, and whether the others catch up.

    python questions/heads.py                            # 1 seed each, on TensorFlow
    python questions/heads.py --backend jax --seeds 100  # JAX trains the seeds together
"""

import common
from repro import lesson, plots
from repro.study import at_budgets, first_budget, rate_rows, reproduced_at

LENGTH = common.ARTICLE_LENGTH  # 5 steps in, a value out for every step
HEADS = {  # name -> (as printed, what it does with the LSTM's output at every step)
    "shared": ("TimeDistributed(Dense(1))", "one Dense(1) applied to every step (the article's)"),
    "last": (f"last state -> Dense({LENGTH})", "the last step's output only (many-to-one)"),
    "flatten": (f"Flatten -> Dense({LENGTH})", "every step's output feeds every output value"),
    "unshared": (f"{LENGTH} unshared Dense(1)", "a Dense(1) of its own for each step"),
}
ARTICLE_EPOCHS = common.ARTICLE["many_to_many"].epochs  # 1000


def main(argv: list[str] | None = None) -> int:
    with lesson.start(__doc__, argv, seeds=1, epochs=3 * ARTICLE_EPOCHS, units=5, lr=0.001) as run:
        args = run.args

        ## Data: the article's many-to-many echo, one sample of five steps
        seq = common.echo_sequence(LENGTH)
        X = seq.reshape(1, LENGTH, 1)
        y_steps = seq.reshape(1, LENGTH, 1)  # the article's targets: one value at each step
        y_flat = seq.reshape(1, LENGTH)  # the other heads give the five values side by side

        ## Model: the article's LSTM with each head (see build_model below)
        models = {head: build_model(head, args.units, args.lr) for head in HEADS}
        params = {
            h: m.count_params() - m.get_layer("lstm").count_params() for h, m in models.items()
        }

        ## Train: every head from the same seeds, each run read at every budget
        seeds = range(args.seed, args.seed + args.seeds)
        budgets = lesson.budgets(args.epochs, ARTICLE_EPOCHS)
        reproduced = {}
        for head in HEADS:
            _, predictions = at_budgets(
                lambda head=head: build_model(head, args.units, args.lr),
                X,
                y_steps if head == "shared" else y_flat,
                seeds,
                budgets,
                batch_size=1,
            )
            ## Evaluate: a seed reproduces when every prediction prints its target
            reproduced[head] = reproduced_at(predictions, seq).sum(axis=0).tolist()
            said = ", ".join(
                f"{k}/{args.seeds} at {b}" for k, b in zip(reproduced[head], budgets, strict=True)
            )
            run.say(f"{HEADS[head][0]}: reproduced {said} epochs")

        return report(run, budgets, params, reproduced)


def build_model(head: str, units: int, lr: float):
    """The article's LSTM, an output at every step, with head `head` (one of HEADS)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(LENGTH, 1))
    steps = layers.LSTM(units, return_sequences=True, name="lstm")(inputs)  # (LENGTH, units)
    if head == "shared":  # the article's: the same 6 weights turn each step into its value
        outputs = layers.TimeDistributed(layers.Dense(1))(steps)
    elif head == "last":  # as LSTM(units) -> Dense(LENGTH), the many-to-one model
        outputs = layers.Dense(LENGTH)(steps[:, -1, :])
    elif head == "flatten":
        outputs = layers.Dense(LENGTH)(layers.Flatten()(steps))
    else:  # unshared: step t's value from step t's output, with weights of its own
        outputs = layers.Concatenate()([layers.Dense(1)(steps[:, t, :]) for t in range(LENGTH)])
    model = keras.Model(inputs, outputs)
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(lr))
    return model


def head_params(head: str, units: int) -> tuple[int, str]:
    """A head's weights from the formula for a Dense layer (inputs x outputs + outputs)."""
    return {
        "shared": (common.dense_params(units, 1), f"{units}*1 + 1"),
        "last": (common.dense_params(units, LENGTH), f"{units}*{LENGTH} + {LENGTH}"),
        "flatten": (
            common.dense_params(LENGTH * units, LENGTH),
            f"{LENGTH * units}*{LENGTH} + {LENGTH}",
        ),
        "unshared": (LENGTH * common.dense_params(units, 1), f"{LENGTH}*({units}*1 + 1)"),
    }[head]


## Report


def report(run, budgets, params: dict, reproduced: dict) -> int:
    args, n = run.args, run.args.seeds
    names = {head: HEADS[head][0] for head in HEADS}
    formulas = {head: head_params(head, args.units) for head in HEADS}
    run.table(
        "Weights of each head (Keras' count and the formula)",
        [
            {"head": names[h], "keras": params[h], "formula": formulas[h][1], "=": formulas[h][0]}
            | {"with the time axis": HEADS[h][1]}
            for h in HEADS
        ],
    )
    run.table(
        f"Seeds reproduced ({n} from --seed {args.seed}, {args.backend})",
        rate_rows(budgets, {names[h]: k for h, k in reproduced.items()}, n),
    )
    for h in HEADS:
        run.expect(params[h] == formulas[h][0], f"{names[h]}'s count is its formula's")
    at = {h: first_budget(budgets, reproduced[h], n) for h in HEADS}
    met = run.expect(all(at.values()), "every head reproduces in 95% of seeds within the budgets")
    first = {h: at[h] or budgets[-1] + 1 for h in HEADS}  # past the budgets: not within them
    others = [h for h in HEADS if h != "shared"]
    sooner = [h for h in others if first[h] < first["shared"]]
    if sooner == others:
        sooner_text = "the heads with weights of their own for each output converge sooner"
    else:
        sooner_text = " and ".join(names[h] for h in sooner) or "none"
        sooner_text += " converge sooner" if len(sooner) > 1 else " converges sooner"
    if met:
        ending = f"All four reproduce in 95% of seeds by {max(at.values())} epochs"
        ending += ": sooner, not better." if sooner else "."
    else:
        late = [names[h] for h in HEADS if not at[h]]
        late = " and ".join(late) if len(late) < len(HEADS) else "all four"
        ending = f"Within {budgets[-1]} epochs the curves do not meet: under 95% for {late}."
    article = budgets.index(ARTICLE_EPOCHS) if ARTICLE_EPOCHS in budgets else -1
    rate = {h: f"{reproduced[h][article]}/{n}" for h in HEADS}
    return run.answer(
        "at {epochs} epochs the article's TimeDistributed(Dense(1)), {weights} weights shared by "
        "every step, reproduces {shared}; {others}: {sooner}. {ending}",
        draw=lambda path: picture(path, args, budgets, reproduced, names, params),
        epochs=budgets[article],
        weights=params["shared"],
        shared=rate["shared"],
        others=", ".join(f"{names[h]} {rate[h]}" for h in others),
        sooner=sooner_text,
        ending=ending,
    )


def picture(path: str, args, budgets, reproduced: dict, names: dict, params: dict) -> None:
    n = args.seeds
    plots.budget_curves(
        path,
        f"The many-to-many echo with each head: seeds that reproduce ({n}, {args.backend})",
        budgets,
        {f"{names[h]} ({params[h]} weights)": [100 * k / n for k in reproduced[h]] for h in HEADS},
        "seeds that reproduce (%)",
        {ARTICLE_EPOCHS: "the article's epochs"},
    )


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
