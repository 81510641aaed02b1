"""The apparatus around the tutorial: everything the three scripts need beyond the article.

One module per concern, each importing only modules listed above it:

    files     result files: JSON, atomic writes, the library versions
    backend   the Keras backend: importing Keras quietly, seeding, determinism
    values    a reader's own sequence (--values): read, scaled with scikit-learn, unscaled
    cli       the command line: flags, validation, the memory estimate
    training  the fast training loop per backend, the naive fit, divergence, prediction
    compare   the comparison with the article: verdicts, the side-by-side block, --check
    seeds     many seeds at once: replayed initial weights, and JAX seeds trained together
    study     many seeds read at several training budgets (at_budgets), and the study
    plots     the PNGs: loss curves, many seeds' errors or rates by budget, budget curves
    run       an article script's run, start to finish, and the terminal entry
    lesson    what every question does around its lesson: flags, tables, answer, claims, JSON
    pages     the rendered runs: every quoted command on a page of its own under docs/runs/

Nothing here imports Keras at import time: --help and bad input answer at once.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _checkout_of(path: str) -> str | None:
    """The checkout of this suite that holds the file `path` (a folder with repro/ and
    common.py at or above it, at most two levels up), or None."""
    folder = os.path.dirname(os.path.realpath(path))
    for _ in range(3):
        if os.path.isfile(os.path.join(folder, "repro", "__init__.py")) and os.path.isfile(
            os.path.join(folder, "common.py")
        ):
            return folder
        folder = os.path.dirname(folder)
    return None


def _same_checkout() -> None:
    """A script run from one checkout must not compute with another's code: with the editable
    install (pip install -e) made from a second checkout, `python questions/NAME.py` would
    import that one's common and repro. Refused in one line, naming both places."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    theirs = _checkout_of(main) if main else None
    if theirs and os.path.realpath(theirs) != os.path.realpath(ROOT):
        print(
            f"error: {main} is in the checkout {theirs}, but Python imports this suite from "
            f"{ROOT} (its pip install -e); run 'pip install -e .' in {theirs}, or run the "
            f"script from {ROOT}",
            file=sys.stderr,
        )
        raise SystemExit(2)


_same_checkout()
