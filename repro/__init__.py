"""The apparatus around the tutorial: everything the three scripts need beyond the article.

One module per concern, each importing only modules listed above it:

    files     result files: JSON, atomic writes, the library versions
    backend   the Keras backend: importing Keras quietly, seeding, determinism
    values    a reader's own sequence (--values): read, scaled with scikit-learn, unscaled
    cli       the command line: flags, validation, the memory estimate
    training  the fast training loop per backend, the naive fit, divergence, prediction
    compare   the comparison with the article: verdicts, the side-by-side block, --check
    seeds     many seeds at once: replayed initial weights, and JAX seeds trained together
    study     the reproduction study over many seeds, and which way they train
    plots     the PNG of loss curves (or a histogram of many seeds' errors) and predictions
    run       one run, start to finish: the record every script fills, and the terminal entry

Nothing here imports Keras at import time: --help and bad input answer at once.
"""
