"""Run in a process of its own per backend (KERAS_BACKEND): the fast loop against plain fit.

Prints one JSON object: the benchmark's rows (each script at the article's settings, its epochs too)
and the loss histories of the harder cases, for test_backends.py to compare."""

import json
import sys
from pathlib import Path

import common
import one_to_one
from benchmarks import fit_speed
from repro import training
from repro.backend import seed_everything

ROOT = Path(__file__).resolve().parent.parent


def histories(length: int, batch_size: int, epochs: int, first_naive: int = 0) -> dict:
    """one_to_one's model trained with fit, and (same seed) with first_naive epochs of fit
    followed by the fast loop, which must carry on exactly as fit would."""
    X, y = common.make_data("one_to_one", length)
    seed_everything(5)
    naive = training.train(one_to_one.build_model(5, 0.001), X, y, epochs, batch_size, "naive")
    seed_everything(5)
    model = one_to_one.build_model(5, 0.001)
    fast = training.train(model, X, y, first_naive, batch_size, "naive") if first_naive else []
    fast += training.train(model, X, y, epochs - first_naive, batch_size, "fast")
    return {"naive": naive, "fast": fast}


if __name__ == "__main__":
    backend = sys.argv[1]
    rows = fit_speed.naive_and_fast(backend, None)  # the article's epochs; imports keras
    cases = {
        "several batches an epoch": histories(length=5, batch_size=2, epochs=20),
        "more than 16 batches an epoch": histories(length=20, batch_size=1, epochs=5),
        "fast loop after fit": histories(length=5, batch_size=5, epochs=10, first_naive=5),
    }
    imported = "tensorflow" in sys.modules  # on JAX and PyTorch, seeding must not import it
    print(json.dumps({"rows": rows, "cases": cases, "tensorflow_imported": imported}))
