"""Why a Dense after the LSTM: can the LSTM's own output be the prediction?

Every model in the article ends with a Dense layer. Without it the LSTM's output is the
prediction, so the LSTM needs a unit per value it predicts at a step: LSTM(5) for many-to-one,
LSTM(1, return_sequences=True) for many-to-many. Each is trained with and without its head from
the same seeds; the share of seeds that print the article's predictions is read at 0.5x, 1x,
1.5x, 2x and 3x 1000 epochs (up to --epochs). Then the echo doubled, 0.0 0.4 ... 1.6: an LSTM's
output, o * tanh(c), stays inside (-1, 1); a Dense head is linear. Look for which converges
sooner, whether they meet, and how far the headless outputs go.

    python questions/no_dense.py                                         # 1 seed, TensorFlow
    python questions/no_dense.py --backend jax --seeds 100 --epochs 3000  # the seeds together
"""

import numpy as np

import common
import many_to_many_td
import many_to_one
from repro import lesson, plots
from repro.study import at_budgets, first_budget, rate_rows, reproduced_at

ECHOES = {  # echo -> (the section that frames it, times the article's 0.0 ... 0.8)
    "many_to_one": ("many_to_one", 1),
    "many_to_many": ("many_to_many", 1),
    "doubled": ("many_to_one", 2),  # 0.0 0.4 0.8 1.2 1.6, inputs and targets
}
SECTIONS = ("many_to_one", "many_to_many")
EPOCHS = common.ARTICLE["many_to_many"].epochs  # 1000, the budgets' unit; many-to-one's is 500
UNITS = common.ARTICLE_LENGTH  # the article's n_neurons, 5, in the models with a head
BOUND = 1.0  # |o * tanh(c)| < 1; float32 may round a saturated output onto 1.0, never past it


def main(argv: list[str] | None = None) -> int:
    with lesson.start(__doc__, argv, seeds=1, epochs=EPOCHS, lr=0.001) as run:
        args = run.args

        ## Data: the article's echo as many-to-one and many-to-many frame it, and doubled
        length = common.ARTICLE_LENGTH
        data = {
            echo: [times * a for a in common.make_data(section, length)]
            for echo, (section, times) in ECHOES.items()
        }

        ## Model: the article's model (head), or its LSTM alone (see build_model)
        def build(echo: str, head: bool):
            return build_model(ECHOES[echo][0], head, length, UNITS, args.lr)

        cases = [(echo, head) for echo in ECHOES for head in (True, False)]
        params = {case: build(*case).count_params() for case in cases}

        ## Train: every model from the same seeds, each run read at every budget
        seeds = range(args.seed, args.seed + args.seeds)
        budgets = lesson.budgets(args.epochs, EPOCHS)
        reproduced, largest = {}, {}
        for echo, head in cases:
            X, y = data[echo]
            _, predictions = at_budgets(
                lambda e=echo, h=head: build(e, h), X, y, seeds, budgets, batch_size=1
            )

            ## Evaluate: a seed reproduces when every prediction is within 0.05 of its target
            reproduced[echo, head] = reproduced_at(predictions, y).sum(axis=0).tolist()
            largest[echo, head] = float(np.nanmax(np.abs(predictions)))  # any seed and budget
            run.say(f"{echo}, head {head}: {reproduced[echo, head]} of {args.seeds} seeds")

        return report(run, budgets, params, reproduced, largest)


def build_model(section: str, head: bool, length: int, units: int, lr: float):
    """The article's model for `section`; with head=False its LSTM alone, a unit per output."""
    if head and section == "many_to_one":
        return many_to_one.build_model(length, units, lr)  # LSTM(5) -> Dense(5)
    if head:
        return many_to_many_td.build_model(length, units, lr)  # ... -> TimeDistributed(Dense(1))
    import keras
    from keras import layers

    sequences = section == "many_to_many"  # an output at every step, or at the last only
    model = keras.Sequential(
        [
            keras.Input(shape=(length, 1)),
            layers.LSTM(outputs(section, length), return_sequences=sequences),  # no Dense after
        ]
    )
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.Adam(lr))
    return model


def outputs(section: str, length: int = 5) -> int:
    """The values a model outputs at a step: all of them at many-to-one's last, else one."""
    return 1 if section == "many_to_many" else length


def formula(section: str, head: bool, units: int = UNITS) -> tuple[int, str]:
    """(weights, the formula written out): the LSTM's 4 gates, and the head's weights and biases."""
    out = outputs(section)
    if not head:
        return common.lstm_params(1, out), common.lstm_formula(1, out)
    count = common.lstm_params(1, units) + common.dense_params(units, out)
    return count, f"{common.lstm_formula(1, units)} + {units}*{out} + {out}"


def model_name(section: str, head: bool, units: int = UNITS) -> str:
    """What a case trains, in Keras' words."""
    sequences = ", return_sequences=True" if section == "many_to_many" else ""
    if not head:
        return f"LSTM({outputs(section)}{sequences}) alone"
    dense = f"Dense({outputs(section)})"
    return f"LSTM({units}{sequences}) -> " + (f"TimeDistributed({dense})" if sequences else dense)


## Report


def report(run, budgets, params: dict, reproduced: dict, largest: dict) -> int:
    args, n = run.args, run.args.seeds
    rows = []
    for (echo, head), count in params.items():
        weights, written = formula(ECHOES[echo][0], head)
        model = model_name(ECHOES[echo][0], head)
        rows.append({"echo": echo, "model": model, "keras": count, "formula": written})
        rows[-1] |= {"=": weights, "largest |output|": f"{largest[echo, head]:.4f}"}
    run.table(
        "Each model: Keras' count, the formula's, its largest |output| (any seed, budget)", rows
    )
    run.table(
        f"Seeds reproduced ({n} from --seed {args.seed}, {args.backend})",
        rate_rows(
            budgets, {f"{e} {'head' if h else 'alone'}": k for (e, h), k in reproduced.items()}, n
        ),
    )
    run.expect(all(r["keras"] == r["="] for r in rows), "every count is its formula's")
    bound = max(largest[echo, False] for echo in ECHOES)
    run.expect(bound <= BOUND, "every headless output stays inside (-1, 1)")
    pairs = {
        echo: list(zip(reproduced[echo, True], reproduced[echo, False], strict=True))
        for echo in ECHOES
    }
    behind = [echo for echo, p in pairs.items() if any(h < a for h, a in p)]
    run.expect(not behind, "with its head no model is behind its LSTM alone at any budget")
    head, bare = reproduced["doubled", True], reproduced["doubled", False]
    run.expect(bare[-1] == 0 and head[-1] >= 0.95 * n, "only the head reproduces the doubled echo")
    ahead = all(any(h > a for h, a in pairs[section]) for section in SECTIONS)
    return run.answer(
        "yes, given a unit per output and values inside (-1, 1). The Dense head converges "
        "{sooner}: {clauses}. On the echo doubled to 1.6 the headless peaks at {largest:.3f} "
        "({bare}/{n}), the head reproduces {head}/{n}.",
        draw=lambda path: picture(path, args, budgets, reproduced),
        sooner="sooner" if ahead else "no later",
        clauses="; ".join(
            clause(s, budgets, reproduced[s, True], reproduced[s, False], n) for s in SECTIONS
        ),
        largest=largest["doubled", False],
        bare=bare[-1],
        head=head[-1],
        n=n,
    )


def clause(section: str, budgets, head: list, alone: list, n: int) -> str:
    """Where the head converges, the LSTM alone there, and whether (where) the two meet."""
    at = first_budget(budgets, head, n) or budgets[-1]
    i, meet = budgets.index(at), first_budget(budgets, alone, n)
    lstm = f"LSTM({outputs(section)}) alone"
    text = f"{section} at {at} epochs {head[i]}/{n}, {lstm} {alone[i]}/{n}"
    return text + (
        f", meeting by {meet}" if meet else f", not met by {budgets[-1]} ({alone[-1]}/{n})"
    )


def label(echo: str, head: bool) -> str:
    alone = model_name(ECHOES[echo][0], False)
    return f"{echo}, " + ("with its Dense head" if head else alone)


def picture(path: str, args, budgets, reproduced: dict) -> None:
    n = args.seeds
    plots.budget_curves(
        path,
        f"With its Dense head and without: seeds that reproduce ({n}, {args.backend})",
        budgets,
        {label(*case): [100 * k / n for k in counts] for case, counts in reproduced.items()},
        "seeds that reproduce (%)",
        {common.ARTICLE["many_to_one"].epochs: "many-to-one's epochs", EPOCHS: "many-to-many's"},
    )


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
