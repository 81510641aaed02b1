"""The comparison with the article: a verdict per quantity, the side-by-side block, --check."""

from __future__ import annotations

import ast
import math

import common


def pairs(predictions, targets) -> list[tuple[float, float]]:
    """(prediction, target) pairs; a missing or extra prediction is an error, never dropped."""
    predictions, targets = list(predictions), list(targets)
    if len(predictions) != len(targets) or not targets:
        raise ValueError(f"{len(predictions)} predictions for {len(targets)} targets")
    return [(float(p), float(t)) for p, t in zip(predictions, targets, strict=True)]


def max_error(predictions, targets) -> float:
    """Largest |prediction - target|; NaN if any prediction is NaN (max() alone would keep
    whichever came first)."""
    errors = [abs(p - t) for p, t in pairs(predictions, targets)]
    return math.nan if any(math.isnan(e) for e in errors) else max(errors)


ECHO_TOLERANCE = 0.05  # closer than this, a prediction of 0.0 ... 0.8 prints as its target


def reproduced(predictions, targets, tolerance: float = ECHO_TOLERANCE) -> bool:
    """True when every prediction is within ECHO_TOLERANCE of its target. At the article's
    length this is exactly 'prints as the article did'; at lengths whose targets sit on a
    rounding boundary (0.25 at length 8) it does not depend on which way a tie rounds."""
    return max_error(predictions, targets) < tolerance


def _shape(text: str):
    return ast.literal_eval(text)


def _base_name(name: str) -> str:
    """A layer name without Keras' numeric suffix: lstm_1 -> lstm."""
    base, _, number = name.rpartition("_")
    return base if number.isdigit() else name


def verdict(kind: str, article: str, ours: str, known: dict | None = None) -> str:
    """same, differs: <reason> for a known benign difference, or MISMATCH.

    `known` holds a run's own expected differences: article value -> (this run's value, reason);
    one applies only when this run shows that value (a name up to Keras' numeric suffix)."""
    if article == ours:
        return "same"
    expected, reason = (known or {}).get(article, (None, None))
    if expected is not None and _base_name(ours) == _base_name(expected):
        return f"differs: {reason}"
    if kind == "shape":
        a, o = _shape(article), _shape(ours)
        if len(a) == len(o) + 1 and a[1] == 1 and a[:1] + a[2:] == o:
            return "differs: Keras 2.0's summary showed a time axis of 1 its own code lacks"
    if kind == "total" and float(article) == float(ours):
        return "differs: Keras 2.0 printed counts as floats"
    if kind == "name" and _base_name(article) == _base_name(ours):
        return "differs: Keras 2 numbered names from _1; Keras 3 numbers only repeats"
    return "MISMATCH"


def known_differences(args) -> dict:
    """A run's own expected differences (for verdict): a Dense where the article has its
    TimeDistributed, with many_to_many_td.py --head dense."""
    if getattr(args, "head", None) != "dense":
        return {}
    return {"time_distributed_1": ("dense", "--head dense: a plain Dense, as the 2019 note allows")}


def comparison_rows(
    args,
    rows: list[dict],
    predictions,
    targets,
    known=None,
    tolerance: float = ECHO_TOLERANCE,
    digits: int = 3,
) -> list[dict]:
    """The side-by-side rows: the article's value (or, at another length or unit count or with
    --values, the formula's count and the echo target, matched within `tolerance` and printed
    with `digits` decimals), this run's value and a verdict."""
    out = []

    def add(quantity, kind, reference, ours, decided=None):
        ref, ours = str(reference), str(ours)
        judged = decided or verdict(kind, ref, ours, known)
        out.append({"quantity": quantity, "reference": ref, "this_run": ours, "verdict": judged})

    if args.custom:
        for i, r in enumerate(rows, 1):
            add(f"layer {i} params", "params", r["formula_params"], r["params"])
        add(
            "total params",
            "params",
            sum(r["formula_params"] for r in rows),
            sum(r["params"] for r in rows),
        )
        for i, (p, t) in enumerate(pairs(predictions, targets), 1):
            close = abs(p - t) < tolerance
            add(
                f"prediction {i}",
                "echo",
                common.fmt(t, digits),
                common.fmt(p, digits),
                "same" if close else "MISMATCH",
            )
        return out
    section = common.ARTICLE[args.script]
    for i, ((name, shape, params), r) in enumerate(zip(section.layers, rows, strict=True), 1):
        add(f"layer {i} name", "name", name, r["name"])
        add(f"layer {i} output shape", "shape", shape, r["output_shape"])
        add(f"layer {i} params", "params", params, r["params"])
    add("total params", "total", section.total, sum(r["params"] for r in rows))
    pairs(predictions, targets)  # as many predictions as the article printed, or an error
    for i, (reference, p) in enumerate(zip(section.predictions, predictions, strict=True), 1):
        add(f"prediction {i}", "prediction", reference, common.fmt(p))
    return out


def print_side_by_side(args, comparison: list[dict], tolerance: float = ECHO_TOLERANCE) -> None:
    if args.values is not None:
        print(
            f"\nSide by side (--values, {args.length} numbers scaled with --scale {args.scale}, "
            "in your units: counts against the formulas, predictions against your values, "
            f"within 5% of their range, {tolerance:.6g}):"
        )
    elif args.custom:
        print(
            f"\nSide by side (--length {args.length} --units {args.units} is not the article's "
            "setup: counts against the formulas, predictions against the echo targets, "
            f"within {ECHO_TOLERANCE}):"
        )
    else:
        print(
            "\nSide by side with the article (Keras 2.0, 2017) and this run "
            f"(Keras 3, {args.backend}):"
        )
    common.print_table(
        ["quantity", "reference" if args.custom else "article", "this run", "verdict"],
        [[c["quantity"], c["reference"], c["this_run"], c["verdict"]] for c in comparison],
    )
    mismatches = sum(c["verdict"] == "MISMATCH" for c in comparison)
    print(f"  {mismatches} mismatch(es) in {len(comparison)} rows")
