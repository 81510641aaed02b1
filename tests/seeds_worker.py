"""Run with KERAS_BACKEND=jax: vectorized studies, and runs of their own for sampled seeds.

Prints one JSON object for test_seeds.py: per script, the study's seeds (trained together, in
chunks of 3 so that one chunk is padded) and the single runs of the sampled seeds; and the
replayed initial weights against built ones, including a build the replay cannot follow."""

import contextlib
import json
import sys
import tempfile
from pathlib import Path

import common
import many_to_many_td
import one_to_one
from repro import seeds

ROOT = Path(__file__).resolve().parent.parent

seeds.seeds_per_chunk = lambda n, bytes_per_seed: 3  # 9 seeds: chunks of 3, 3 and 3
FLAGS = ["--backend", "jax", "--epochs", "200", "--verbose", "0"]
SAMPLED = (1, 5, 8)  # offsets from --seed: first of chunk 1, middle of chunk 2, last (padded)


def run(module, argv: list[str], folder: Path) -> dict:
    out = folder / "r.json"
    with contextlib.redirect_stdout(sys.stderr):
        status = module.main([*argv, "--json", str(out)])
    assert status == 0
    return json.loads(out.read_text())


def studies(folder: Path) -> dict:
    found = {}
    for name, module, extra in [
        ("one_to_one", one_to_one, []),
        ("many_to_many", many_to_many_td, []),
    ]:
        study = run(module, [*FLAGS, *extra, "--seeds", "9"], folder)
        first = study["config"]["seed"]
        alone = {
            first + k: run(module, [*FLAGS, *extra, "--seed", str(first + k)], folder)
            for k in SAMPLED
        }
        found[name] = {
            "study": study["study"],
            "alone": {
                s: {"history": r["loss_history"], "predictions": r["predictions"]}
                for s, r in alone.items()
            },
        }
    return found


def replay() -> dict:

    import numpy as np

    def unlike_keras():  # a seed from NumPy, not from `random`: the replay cannot follow
        import keras

        seed = int(np.random.randint(1, 10**9))
        return keras.Sequential(
            [
                keras.Input(shape=(5, 1)),
                keras.layers.LSTM(5, return_sequences=True),
                keras.layers.Dense(1, kernel_initializer=keras.initializers.Zeros()),
                keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed)),
            ]
        )

    found = {}
    for name, build in [("article", many_to_many_td.build_model), ("unlike", unlike_keras)]:
        initial = seeds.InitialWeights(build, 10, 20)
        same = []
        for seed in (3, 10, 77, 999):
            seeds.seed_everything(seed)
            built = seeds._values(build())
            given = initial(seed)
            same.append(all(np.array_equal(a, b) for a, b in zip(built, given, strict=True)))
        found[name] = {"replayed": initial.replayed, "same": same}
    return found


def diverging() -> list:
    """Seeds trained together whose loss overflows: each history as the study records it."""
    import many_to_one
    from repro import study
    from repro.cli import parse_args
    from repro.run import Run

    args = parse_args("many_to_one", ["--backend", "jax", "--epochs", "30", "--seeds", "4"])
    run = Run(args, *common.make_data("many_to_one", 5))
    run.train(many_to_one.build_model())

    def exploding():  # the first model built gives every seed its optimizer: all overflow
        model = many_to_one.build_model()
        model.optimizer.learning_rate.assign(1e38)
        return model

    histories, seen = study.at_budgets(exploding, run.X, run.y, [2, 3, 4], [30], 1)
    return [
        {"seed": s, "history": h, "predictions": [float(v) for v in p[-1].ravel()]}
        for s, h, p in zip([2, 3, 4], histories, seen, strict=True)
    ]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        found = {"studies": studies(Path(folder)), "replay": replay(), "diverging": diverging()}
    found["tensorflow_imported"] = "tensorflow" in sys.modules  # seeding JAX needs none
    print(json.dumps(found))
