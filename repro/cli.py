"""The command line every script shares: flags, their validation and the memory estimate.

Everything here runs before Keras is imported, so --help and bad input answer at once.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys

import common
from repro import files, values
from repro.backend import BACKENDS

# Default seeds, per script and backend. Each was chosen by a seed sweep (docs/reproduction.md) so
# the default run prints the article's predictions with a margin, at both ends of the versions
# allowed: max |prediction - target| below 0.04 (0.05 would print another value). JAX before 0.5
# draws other random numbers from the same key, so its many-to-many seed is one of the few of
# 3400 that stays under 0.04 with both: 929 (0.032 on JAX 0.10, 0.033 on JAX 0.4.30).
DEFAULT_SEEDS = {
    "tensorflow": {"one_to_one": 1, "many_to_one": 1, "many_to_many": 26},
    "jax": {"one_to_one": 1, "many_to_one": 1, "many_to_many": 929},
    "torch": {"one_to_one": 1, "many_to_one": 1, "many_to_many": 59},
}
MEMORY_CAP_BYTES = 1 << 30  # refuse runs whose estimated training memory passes 1 GiB
MAX_EPOCHS = 1_000_000
MAX_SEEDS = 1000
MAX_SEED = 2**32 - 1  # NumPy's seed range

# (--values and --scale, when given, go to the JSON file's "values" entry)
CONFIG_KEYS = ("length", "units", "epochs", "batch_size", "lr", "seed", "fit", "backend", "seeds")


class UsageError(Exception):
    """Bad input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block
        raise UsageError(message)


def whole(low: int, high: int):
    def parse(text: str) -> int:
        try:
            if not text.strip().isascii() or "_" in text:  # int() reads other digits, and 1_000
                raise ValueError(text)
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, got {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, got {value}"
            )
        return value

    return parse


def _learning_rate(text: str) -> float:
    try:
        value = float(text) if text.strip().isascii() else math.nan
    except ValueError:
        value = math.nan
    # the models compute in float32: a rate that rounds to 0 there trains nothing
    if not (math.isfinite(value) and value > 0 and value >= FLOAT32_TINY):
        raise argparse.ArgumentTypeError(
            f"must be a finite number greater than 0 (at least {FLOAT32_TINY:.3g}, the "
            f"smallest float32 that is not 0), got {text!r}"
        )
    return value


FLOAT32_TINY = 2.0**-149  # the smallest positive float32 (a subnormal)


def default_backend() -> str:
    """$KERAS_BACKEND if set, else tensorflow; an unknown name is bad input, not a silent switch."""
    env = os.environ.get("KERAS_BACKEND") or "tensorflow"
    if env not in BACKENDS:
        raise UsageError(
            f"KERAS_BACKEND={env!r} is not one of {', '.join(BACKENDS)}; unset it or pass --backend"
        )
    return env


def choose_backend(asked: str | None) -> str:
    """The backend to run on: the one asked for, else the default. Once Keras is imported, this
    process runs on its backend for good: that one is used, and asking for another is refused."""
    keras = sys.modules.get("keras")
    if keras is None:
        return asked or default_backend()
    running = keras.backend.backend()
    if asked not in (None, running):
        raise UsageError(
            f"argument --backend: this Python process already runs Keras on {running} and "
            f"cannot switch to {asked}; run the script in a new process (in a notebook, restart "
            "the kernel)"
        )
    return running


def build_parser(script: str):
    """The article scripts' command line; defaults are the article's settings for `script` (a
    section's name). The questions have theirs in repro.lesson."""
    section = common.ARTICLE[script]
    p = _Parser(
        prog=f"{common.SCRIPT_MODULES[script]}.py",
        description=f"{section.title}: train an LSTM to echo [0.0, 0.2, 0.4, 0.6, 0.8], "
        "print the model summary, the predictions and how they compare with the article.",
    )
    article = "the article's "
    add = p.add_argument

    add(
        "--length",
        type=whole(1, 10**7),
        default=None,
        metavar="N",
        help=f"length of the echo sequence (default: {common.ARTICLE_LENGTH}, or the number "
        "of --values)",
    )
    add(
        "--units",
        type=whole(1, 10**7),
        default=None,
        metavar="N",
        help="LSTM units (default: the sequence length, as the article's n_neurons = length)",
    )
    add(
        "--epochs",
        type=whole(1, MAX_EPOCHS),
        default=section.epochs,
        metavar="N",
        help=f"training epochs (default: {article}%(default)s)",
    )
    add(
        "--batch-size",
        type=whole(1, 10**7),
        default=None,
        metavar="N",
        help=f"samples per weight update (default: the article's {section.batch_size}, "
        "the whole training set; at most the number of samples)",
    )
    add(
        "--lr",
        type=_learning_rate,
        default=common.ARTICLE_LR,
        metavar="RATE",
        help="Adam learning rate (default: Keras' %(default)s)",
    )
    seeds = ", ".join(f"{b} {s[script]}" for b, s in DEFAULT_SEEDS.items())
    add(
        "--seed",
        type=whole(0, MAX_SEED),
        default=None,
        metavar="N",
        help=f"random seed for Python, NumPy and the backend (default: {seeds})",
    )
    add(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="0 quiet; 1 a loss line every tenth of training (default); "
        "2 one line per epoch, as Keras printed in the article",
    )
    add(
        "--fit",
        choices=("fast", "naive"),
        default="fast",
        help="fast: the same updates without Keras' per-epoch overhead (default); "
        "naive: plain model.fit, as in the article",
    )
    add(
        "--backend",
        choices=tuple(BACKENDS),
        default=None,
        help="Keras backend (default: $KERAS_BACKEND if set, else tensorflow)",
    )
    add(
        "--values",
        metavar="'V1 V2 ...'",
        help="your own sequence to echo in place of the article's (spaces or commas between "
        "numbers); predictions print in your units and reproduce a target within 5%% of the "
        "values' range",
    )
    add(
        "--scale",
        choices=values.SCALERS,
        default=None,
        help="how --values are scaled for the network, with scikit-learn (default: minmax; "
        "none feeds them raw, as the readers who saw poor training did)",
    )
    add(
        "--json",
        metavar="PATH",
        help="also write the results as JSON to PATH; '-' writes the JSON alone on stdout and "
        "everything else to stderr",
    )
    add(
        "--plot",
        metavar="PATH",
        help="also draw the loss curve and predictions to a PNG",
    )
    add(
        "--seeds",
        type=whole(1, MAX_SEEDS),
        default=1,
        metavar="N",
        help="reproduction study: train with seeds seed..seed+N-1 and tabulate (default: 1)",
    )
    add(
        "--check",
        action="store_true",
        help="exit with status 1 if a parameter count or a printed prediction is a MISMATCH",
    )
    return p


def check_memory(flags: str, need: int, what: str, fix: str) -> None:
    """Refuse a run whose estimated training memory, `need` bytes, passes the cap: one message for
    every script, naming the flags that set the size, what takes the memory and what to pass."""
    if need > MEMORY_CAP_BYTES:
        raise UsageError(
            f"argument {flags}: {what} about {need / 2**30:,.1f} GiB, over the "
            f"{MEMORY_CAP_BYTES / 2**30:.0f} GiB cap; {fix}"
        )


BYTES_PER_LOSS = 64  # one epoch's loss kept: a Python float in a list, then its JSON text


def check_seed_range(args: argparse.Namespace) -> None:
    """The seeds fit NumPy's range, and their loss histories (every epoch of every seed, kept
    for the JSON file and the plot) fit the memory cap."""
    if args.seed + args.seeds - 1 > MAX_SEED:
        raise UsageError(f"argument --seeds: seed + seeds - 1 must be at most {MAX_SEED}")
    if getattr(args, "epochs", None) is None:  # a question's own: its memory guard is lesson's
        return
    check_memory(
        "--seeds/--epochs",
        args.seeds * args.epochs * BYTES_PER_LOSS,
        f"{args.seeds} seeds of {args.epochs} epochs keep {args.seeds * args.epochs:,} losses,",
        "pass fewer --seeds or --epochs",
    )


def n_samples(script: str, length: int) -> int:
    """Samples in the training set of `script` (the first axis of X)."""
    return common.FRAMINGS[script].x_shape(length)[0]


def estimate_memory(script: str, length: int, units: int) -> int:
    """Rough bytes needed to train: weights, gradients and Adam's two moments in float32, plus
    the activations kept for backpropagation (gates and states of every step of every sample)."""
    steps = common.FRAMINGS[script].x_shape(length)[1]
    weights = 4 * 4 * common.model_params(script, length, units)
    activations = 4 * n_samples(script, length) * steps * units * 8
    return weights + activations


def _check_writable(flag: str, path: str, suffix: str = "") -> None:
    """Fail now, before any training, if `path` cannot be written ('-' is stdout, for --json)."""
    kind = "json" if flag == "--json" else "png"
    problem = files.output_problem(path, suffix, allow_stdout=flag == "--json", kind=kind)
    if problem:
        raise UsageError(f"argument {flag}: {problem}")


def _check_backend(backend: str, asked: str | None) -> None:
    package = BACKENDS[backend]
    try:
        found = importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        found = False
    if not found:  # blame what chose it: the flag, the environment variable, or the default
        install = (
            f"install it with 'pip install {'torch==2.13.0' if backend == 'torch' else package}'"
        )
        if asked:
            raise UsageError(f"argument --backend: {backend} is not installed; {install}")
        if os.environ.get("KERAS_BACKEND"):
            raise UsageError(
                f"KERAS_BACKEND={backend}: {backend} is not installed; {install}, or unset "
                "KERAS_BACKEND"
            )
        raise UsageError(
            f"{backend}, the default backend, is not installed; {install}, or pass --backend"
        )


def _read_values(args: argparse.Namespace) -> None:
    """--values and --scale: the length follows from the count; the scaler is fitted here."""
    args.scaling = args.sequence = None
    if args.values is None:
        if args.scale is not None:
            raise UsageError(
                "argument --scale: applies to --values only; the article's sequence is used as "
                "the article made it"
            )
        args.length = common.ARTICLE_LENGTH if args.length is None else args.length
        return
    try:
        numbers, digits = values.parse(args.values)
    except ValueError as e:
        raise UsageError(f"argument --values: {e}") from None
    if args.length not in (None, len(numbers)):
        raise UsageError(
            f"argument --length: {args.length} disagrees with the {len(numbers)} numbers of "
            "--values; leave --length out"
        )
    args.length = len(numbers)
    args.scale = args.scale or "minmax"
    args.scaling = values.Scaling.fit(numbers, args.scale, digits)
    args.sequence = args.scaling.scaled()


def validate(script: str | None, args: argparse.Namespace) -> argparse.Namespace:
    """Fill defaults that depend on other flags and reject what cannot run."""
    _read_values(args)
    if args.units is None:
        args.units = args.length  # the article's n_neurons = length
    samples = n_samples(script, args.length)
    if args.batch_size is None:
        args.batch_size = samples  # the article's choice: the whole set, one update per epoch
    if args.batch_size > samples:
        raise UsageError(
            f"argument --batch-size: must be from 1 to {samples} (the number of samples "
            f"at --length {args.length}), got {args.batch_size}"
        )
    weights = common.model_params(script, args.length, args.units)
    check_memory(  # at 82,600 units it is the weights: 4 gates x units**2 recurrent ones
        "--length/--units",
        estimate_memory(script, args.length, args.units),
        f"length {args.length} with {args.units} units, {weights:,} weights "
        f"(4 x {args.units}**2 of them recurrent), needs",
        "pass a smaller --units (e.g. --units 5; units default to the length) or --length",
    )
    args.custom = args.values is not None or (args.length, args.units) != (
        common.ARTICLE_LENGTH,
        common.ARTICLE_LENGTH,
    )
    return _validate_run(script, args)


def _validate_run(script: str | None, args: argparse.Namespace) -> argparse.Namespace:
    """The flags of any run: backend, seeds and output paths."""
    asked = args.backend
    args.backend = choose_backend(asked)
    if args.seed is None:
        args.seed = DEFAULT_SEEDS[args.backend][script] if script else 1
    if getattr(args, "seeds", None) is not None:  # a question may take no --seeds
        check_seed_range(args)
    _check_backend(args.backend, asked)
    plot = getattr(args, "plot", None)
    if args.json is not None:
        _check_writable("--json", args.json)
    if plot is not None:
        _check_writable("--plot", plot, ".png")
    if args.json == "-" and plot is not None and files.is_stdout(plot):
        raise UsageError(
            f"argument --plot: {plot!r} is standard output, which --json - keeps for the JSON "
            "alone; give the picture a file of its own"
        )
    if args.json not in (None, "-") and plot is not None and files.same_file(args.json, plot):
        raise UsageError(f"argument --plot: {plot!r} is the --json file too; give each its own")
    args.script = script
    return args


# Keras 3's TimeDistributed calls the wrapped layer once per time step in the training graph, so
# the graph grows with the length: at 1000 steps one epoch takes some 30 s to compile and 1.4 GB.
MAX_TIMEDISTRIBUTED_STEPS = 1000


def check_timedistributed(steps: int, flag: str = "--length", fix: str = "") -> None:
    """Every script that trains a TimeDistributed layer over `steps` steps: refuse a length too
    long to compile here (one message for all; `fix` says what else to pass)."""
    if steps > MAX_TIMEDISTRIBUTED_STEPS:
        raise UsageError(
            f"argument {flag}: at {steps} steps a TimeDistributed layer compiles one call of the "
            f"layer it wraps per step, which takes many minutes and GiBs; pass at most {flag} "
            f"{MAX_TIMEDISTRIBUTED_STEPS}{fix}"
        )


def check_head_length(args: argparse.Namespace) -> None:
    """--head timedistributed: refuse a length too long to compile here, and hint from 200 steps
    that --head dense computes the same outputs with the same weights at a fraction of the cost."""
    if args.head == "dense" or args.length < 200:
        return
    same = f"the same {args.units + 1} weights on every step, the same outputs"
    check_timedistributed(args.length, fix=f", or --head dense ({same})")
    cost = f"at {args.length} steps the TimeDistributed head compiles one Dense call per step"
    print(f"hint: {cost}; --head dense computes {same}", file=sys.stderr)


def parse_args(
    script: str,
    argv=None,
    add_arguments=None,
    check=None,
) -> argparse.Namespace:
    """Parse and validate the CLI; bad input prints one line and exits with status 2.

    argv None means no arguments (the defaults), not sys.argv: main() called from a notebook must
    not read the kernel's own command line. A script adds flags of its own with
    add_arguments(parser), and checks them (raising UsageError) with check(args), which sees the
    shared flags already validated."""
    parser = build_parser(script)
    if add_arguments:
        add_arguments(parser)
    try:
        args = parser.parse_args([] if argv is None else argv)
        args.flags = list(vars(args))  # the flags, before validate adds what follows from them
        args = validate(script, args)
        args.program = parser.prog  # the script as the JSON file and the plot name it
        if check:
            check(args)
        return args
    except UsageError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
