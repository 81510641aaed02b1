"""The study's second process on TensorFlow and PyTorch, whose training loops use one core.

repro.study starts `python -m repro.helper` with the run's settings, the file and name of the
study's build_model (a question's own model, too) and the seeds it hands over, as JSON on
standard input. The helper trains them as the study would (seed, build, train, predict, the
compiled loop reused) and writes one JSON line per seed, [seed, loss history,
predictions], to standard output; its progress lines go to the standard error it shares.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the scripts and common.py


def main() -> int:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from repro import study
    from repro.backend import import_keras
    from repro.run import Run

    job = json.load(sys.stdin)
    args = argparse.Namespace(**{**job["args"], "verbose": 0, "scaling": None})
    if args.sequence is not None:
        args.sequence = np.asarray(args.sequence, "float32")
    import_keras(args)  # quietly
    path, name = job["build_model"]  # the file that defines the study's build_model
    spec = importlib.util.spec_from_file_location("_study_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a script's definitions; its main() runs only as __main__
    build_model = getattr(module, name)
    run = Run(args, *(np.asarray(a, "float32") for a in job["data"]))
    run.model = build_model(args)  # the loop every seed reuses; each seed brings its weights
    seeds = job["seeds"]
    for k, (seed, history, predictions) in enumerate(
        study.train_one_by_one(run, build_model, seeds), 1
    ):
        print(json.dumps([seed, history, [float(p) for p in predictions]]), flush=True)
        print(
            f"seed {seed} trained in the second process ({k}/{len(seeds)} of its seeds)",
            file=sys.stderr,
            flush=True,
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C reaches both processes; the study says where it was
        sys.exit(130)
