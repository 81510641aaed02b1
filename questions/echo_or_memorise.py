"""Does the trained model learn the echo, or memorise its one training sequence?

The article's three models train at its settings on the ramp 0.0 0.2 0.4 0.6 0.8 (five one-step
samples for one-to-one, one five-step sample for the others), then are fed sequences they never
saw: the ramp permuted, a constant, the ramp shifted a step, values beyond 1, random ones. Echo:
mean |output - input| per value; memorise: mean |output - ramp|. Then the two sequence models
learn from random sequences, at Adam lr 0.01 and at the article's 0.001, read at several budgets.
Look for the models that give the ramp back whatever they are fed, and how long each rate takes.

    python questions/echo_or_memorise.py                                       # 1 seed, TF
    python questions/echo_or_memorise.py --backend jax --seeds 20 --epochs 1000  # the study
"""

import numpy as np

import common
import many_to_many_td
import many_to_one
import one_to_one
from repro import lesson, plots
from repro.study import at_budgets

SECTIONS = ("one_to_one", "many_to_one", "many_to_many")
LEARNERS = SECTIONS[1:]  # trained on random sequences too (one_to_one echoes from the ramp)
LENGTH = common.ARTICLE_LENGTH  # 5 values a sequence, and 5 LSTM units, as in the article
PROBES = {  # sequences none of the models trained on (besides the ramp itself and random ones)
    "permuted": "0.8 0.2 0.6 0.0 0.4",
    "constant": "0.4 0.4 0.4 0.4 0.4",
    "interleaved": "0.9 0.1 0.5 0.3 0.7",
    "shifted": "0.2 0.4 0.6 0.8 1.0",
    "beyond": "1.0 1.2 1.4 1.6 1.8",
}
HELD_OUT = 100  # random sequences in 0-1 that no model trains on
NOVEL = ("permuted", "constant", "interleaved", "shifted", "held_out")  # never seen, in 0-1
# Adam's rates on random sequences, each with its most epochs: 0.01 echoes long before 300
RATES = {0.01: 300, common.ARTICLE_LR: np.inf}
UPDATES = 10  # weight updates an epoch on random sequences (one compiled scan on JAX: <= 16)
BUDGETS = (50, 100, 300, 500, 1000, 3000)  # epochs on random sequences at which the curves are read
MEASURES = ("echo", "memorise")  # mean |output - input|, mean |output - ramp|
ECHOES = 0.05  # nearer than this on average, the outputs print as the input with '%.1f'


def main(argv: list[str] | None = None) -> int:
    with lesson.start(__doc__, argv, seeds=1, epochs=100, samples=300) as run:
        ## Data: the ramp, sequences none of the models saw, and random sequences to learn from
        args = run.args
        ramp = common.echo_sequence(LENGTH)
        fed = {"ramp": ramp[None]} | {k: np.array([v.split()], "f4") for k, v in PROBES.items()}
        fed["held_out"] = np.random.default_rng([args.seed, 1]).uniform(0, 1, (HELD_OUT, LENGTH))
        sequences = np.random.default_rng([args.seed, 0]).uniform(0, 1, (args.samples, LENGTH))
        probes = np.concatenate(list(fed.values())).astype("f4")

        ## Train: on the ramp at the article's settings; on random sequences at each rate
        seeds = range(args.seed, args.seed + args.seeds)
        most = {lr: min(args.epochs, cap) for lr, cap in RATES.items()}
        budgets = {lr: [b for b in BUDGETS if b < top] + [top] for lr, top in most.items()}
        outputs = {}
        for section in SECTIONS:
            article, shown = common.ARTICLE[section], framed(section, probes)[0]
            X, y = framed(section, ramp[None])
            outputs[section, "ramp"] = trained(
                section, common.ARTICLE_LR, X, y, seeds, [article.epochs], article.batch_size, shown
            )
            X, y = framed(section, sequences.astype("f4"))
            for lr in RATES if section in LEARNERS else ():
                batch = max(1, len(X) // UPDATES)
                outputs[section, lr] = trained(section, lr, X, y, seeds, budgets[lr], batch, shown)
            run.say(f"{section}: trained from {args.seeds} seeds")

        ## Evaluate: how far each output is from its input (an echo) and from the ramp
        far = {key: distances(out, fed) for key, out in outputs.items()}
        return report(run, fed, budgets, outputs, far)


def framed(section: str, sequences: np.ndarray):
    """X and y for (sequences, 5) as `section` frames them: each value a one-step sample for
    one_to_one, each sequence one five-step sample for the others; the targets are the inputs."""
    n = len(sequences)
    if section == "one_to_one":
        return sequences.reshape(n * LENGTH, 1, 1), sequences.reshape(n * LENGTH, 1)
    return sequences[..., None], sequences if section == "many_to_one" else sequences[..., None]


def build_model(section: str, lr: float, units: int = LENGTH):
    """The article's model for `section`, built by its script, with Adam at `lr`."""
    if section == "one_to_one":
        return one_to_one.build_model(units, lr)
    if section == "many_to_one":
        return many_to_one.build_model(LENGTH, units, lr)
    return many_to_many_td.build_model(LENGTH, units, lr)


def trained(section, lr, X, y, seeds, budgets, batch_size, shown) -> np.ndarray:
    """A model a seed trained on X, y; its outputs for `shown` after each budget, as
    (seeds, budgets, sequences, 5)."""
    _, seen = at_budgets(lambda: build_model(section, lr), X, y, seeds, budgets, batch_size, shown)
    return seen.reshape(len(seeds), len(budgets), -1, LENGTH)


def distances(out: np.ndarray, fed: dict) -> dict:
    """Per probe, the mean |output - input| ("echo") and |output - ramp| ("memorise") per value,
    each (seeds, budgets); "novel" is their mean over the probes never seen, in 0-1."""
    far, start = {}, 0
    for name, sequences in fed.items():
        part = out[:, :, start : start + len(sequences)]
        start += len(sequences)
        far[name] = {
            "echo": np.abs(part - sequences).mean(axis=(2, 3)),
            "memorise": np.abs(part - fed["ramp"]).mean(axis=(2, 3)),
        }
    far["novel"] = {m: np.mean([far[n][m] for n in NOVEL], axis=0) for m in MEASURES}
    return far


## Report


def report(run, fed, budgets, outputs, far) -> int:
    args, n = run.args, f"{run.args.seeds} seed" + "s" * (run.args.seeds > 1)

    def med(key, probe="novel", measure="echo"):  # the median over seeds, one per budget
        return np.median(far[key][probe][measure], axis=0)

    apart = {name: float(np.abs(s - fed["ramp"]).mean()) for name, s in fed.items()}
    apart["novel"] = float(np.mean([apart[name] for name in NOVEL]))
    label = {"ramp": "the ramp", "held_out": f"{HELD_OUT} held out", "novel": "never seen (mean)"}
    for measure, zero in (("echo", "input"), ("memorise", "ramp")):
        run.table(
            f"Trained on the ramp: mean |output - {zero}| per value, median of {n}",
            [
                {"fed": PROBES.get(name) or label[name], "|fed - ramp|": apart[name]}
                | {s: float(med((s, "ramp"), name, measure)[0]) for s in SECTIONS}
                for name in (*fed, "novel")
            ],
        )
    run.table(
        f"Trained on {args.samples} random sequences: mean |output - input| on the sequences "
        f"never seen, in 0-1, median of {n}",
        [
            {"lr": lr, "epochs": b} | {s: float(med((s, lr))[i]) for s in LEARNERS}
            for lr in RATES
            for i, b in enumerate(budgets[lr])
        ],
    )
    got = {f"{m}_{s}": float(med((s, "ramp"), measure=m)[0]) for s in SECTIONS for m in MEASURES}
    for s in LEARNERS:
        run.expect(got[f"memorise_{s}"] < got[f"echo_{s}"], f"{s} trained on the ramp returns it")
    run.expect(got["echo_one_to_one"] < ECHOES, "one_to_one trained on the ramp echoes in 0-1")
    worst = {lr: np.max([med((s, lr)) for s in LEARNERS], axis=0) for lr in RATES}
    lr, lr2 = RATES
    fast, slow = (
        next((b for b, e in zip(budgets[r], worst[r], strict=True) if e < ECHOES), 0) for r in RATES
    )
    run.expect(fast, f"both sequence models trained on random sequences echo at lr {lr}")
    at = budgets[lr2].index(fast) if fast else len(budgets[lr]) - 1
    run.expect(worst[lr2][at] >= ECHOES, f"at lr {lr2} one does not echo yet by then")
    late = max(LEARNERS, key=lambda s: med((s, lr2))[at])
    return run.answer(
        "trained on the ramp, many_to_one returns it whatever it is fed "
        "({memorise_many_to_one:.3f} from it, {echo_many_to_one:.2f} from unseen inputs), "
        "many_to_many leans to it ({memorise_many_to_many:.2f} vs {echo_many_to_many:.2f}), "
        "one_to_one echoes ({echo_one_to_one:.3f}). On {n} random sequences at lr {lr} the "
        "sequence models {fast}; at the article's {lr2} {late} is still {x:.2f} off then and "
        "{slow}.",
        draw=lambda path: picture(path, args, fed, budgets, outputs, med),
        **got | dict(n=args.samples, lr=lr, lr2=lr2, late=late, x=float(med((late, lr2))[at])),
        fast=f"learn the echo by {fast} epochs" if fast else f"do not echo by {budgets[lr][-1]}",
        slow=f"echoes by {slow}" if slow else f"does not echo by {budgets[lr2][-1]}",
    )


def picture(path, args, fed, budgets, outputs, med) -> None:
    """Left: what each ramp-trained model gives for one probe (seed --seed); right: the random-
    trained models' distance from their input over the training budget, at each rate."""
    fig, (left, right) = plots.figure(1, 2, height=4.0)
    steps, where = np.arange(1, LENGTH + 1), list(fed).index("interleaved")
    left.plot(steps, fed["ramp"][0], ":", color="0.5", lw=2, label="the ramp, trained on")
    left.plot(steps, fed["interleaved"][0], "o-", color="k", lw=5, alpha=0.25, label="the input")
    for i, s in enumerate(SECTIONS):
        left.plot(steps, outputs[s, "ramp"][0, 0, where], "x-", label=s, color=f"C{i}")
    left.set(title=f"Trained on the ramp, fed {PROBES['interleaved']}", xlabel="step", xticks=steps)
    left.legend(fontsize="small")
    for s in LEARNERS:
        for lr, style in zip(RATES, ("o-", "s--"), strict=True):
            color, label = f"C{SECTIONS.index(s)}", f"{s}, lr {lr}"
            right.plot(budgets[lr], med((s, lr)), style, color=color, label=label)
    right.axhline(ECHOES, color="gray", lw=1, label="below: an echo to '%.1f'")
    right.set(
        xscale="log", yscale="log", ylim=(None, 1), xlabel="epochs", ylabel="mean |output - input|"
    )
    right.set_title(f"Trained on {args.samples} random sequences ({args.seeds} seeds)")
    right.legend(fontsize="small", loc="upper right", ncols=2)
    plots.save(path, fig)


if __name__ == "__main__":
    from repro.run import run_program

    run_program(main)  # main(sys.argv[1:]); Ctrl-C and a closed pipe end it quietly
