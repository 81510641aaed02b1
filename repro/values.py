"""A reader's own sequence (--values): read, scaled with scikit-learn, and put back in its units.

The network learns on scaled numbers (an LSTM's gates saturate on large ones); everything the
reader sees, the predictions, the side-by-side block and the JSON, is in the reader's own units.
A prediction reproduces its target when it is within 5% of the values' range.
"""

from __future__ import annotations

import decimal
import math
import re
from dataclasses import dataclass

SCALERS = ("minmax", "standard", "none")
TOLERANCE_OF_RANGE = 0.05
FLOAT32_MAX = 3.4028234663852886e38  # numpy.finfo("float32").max, without importing NumPy here
# scikit-learn's MinMaxScaler (the default --scale) takes values whose range is under ten times
# float64's epsilon for a constant and leaves them unscaled (_handle_zeros_in_scale), whatever
# their size: 1e-16 ... 5e-16 would train as they are and echo nothing
SKLEARN_CONSTANT_RANGE = 10 * 2.220446049250313e-16
# The scalers compute in float64 (52 bits after the point): on values whose range is under
# 2**-29 of their size, fewer than float32's 23 bits of the scaled values (what the model sees)
# would be right. StandardScaler's own test of a constant, a spread under n * float64's epsilon
# of the mean (_is_constant_feature), is finer than this at any --length.
SMALLEST_RELATIVE_RANGE = 2.0**-29
MAX_DECIMALS = 6


def parse(text: str) -> tuple[list[float], int]:
    """The numbers in `text` (spaces or commas between them) and the decimals they are written
    with (at least 1, as the article prints); ValueError with a one-line reason otherwise."""
    tokens = [t for t in re.split(r"[\s,]+", text.strip()) if t]
    if len(tokens) < 2:
        raise ValueError(f"needs at least 2 numbers, got {len(tokens)}")
    if re.search(r"(^|,)\s*(,|$)", text.strip()):  # "0,,1" is more likely a typo than 0 1
        raise ValueError("an empty item between commas (or at either end); write each number once")
    numbers = []
    for token in tokens:
        try:
            number = float(token)
        except ValueError:
            raise ValueError(f"{token!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"{token!r} is not a finite number")
        if abs(number) > FLOAT32_MAX:
            raise ValueError(f"{token!r} is beyond float32, the model's numbers (at most 3.4e38)")
        numbers.append(number)
    if min(numbers) == max(numbers):
        raise ValueError(
            "all values are equal: a constant has no range to scale or to judge an echo against"
        )
    _check_range(numbers)
    decimals = max(_decimals(t) for t in tokens)
    return numbers, max(1, min(decimals, MAX_DECIMALS))


def _check_range(numbers: list[float]) -> None:
    """ValueError if the values' range is too small for scikit-learn to scale, or too small
    beside their size to keep float32's precision once scaled."""
    spread = max(numbers) - min(numbers)
    size = max(abs(n) for n in numbers)
    if spread < SKLEARN_CONSTANT_RANGE:
        raise ValueError(
            f"the values' range, {spread:.3g}, is under {SKLEARN_CONSTANT_RANGE:.2g}, which "
            "scikit-learn's MinMaxScaler takes for a constant and leaves unscaled; write them in "
            f"larger units (e.g. multiplied by 1e{math.ceil(-math.log10(spread))})"
        )
    if spread < SMALLEST_RELATIVE_RANGE * size:
        raise ValueError(
            f"the values' range, {spread:.3g}, is under 2**-29 of their size, {size:.3g}: scaled "
            "in float64, they would keep fewer than float32's 23 bits (the model's numbers); "
            f"subtract a common offset first (e.g. {min(numbers):.10g})"
        )


def _decimals(token: str) -> int:
    """Decimals `token` is written with, exponent included: 2.5e-3 has 4, 4e2 none."""
    exponent = decimal.Decimal(token).as_tuple().exponent  # 1.50 -> -2: as written
    return max(0, -exponent)


@dataclass
class Scaling:
    """The reader's values, the scaler fitted on them, and the way back to their units."""

    values: list[float]
    method: str  # one of SCALERS
    digits: int  # decimals to print, as the values are written
    scaler: object = None  # the fitted scikit-learn scaler; None for "none"

    @classmethod
    def fit(cls, values: list[float], method: str, digits: int) -> Scaling:
        from sklearn.preprocessing import MinMaxScaler, StandardScaler

        scaler = {"minmax": MinMaxScaler, "standard": StandardScaler}.get(method)
        fitted = scaler().fit(_column(values)) if scaler else None
        return cls(values, method, digits, fitted)

    def scaled(self):
        """The values as the network sees them: float32, one per time step or sample."""
        import numpy as np

        column = _column(self.values)
        out = self.scaler.transform(column) if self.scaler else column
        return np.asarray(out, dtype="float32").ravel()

    def to_user_units(self, scaled_predictions):
        """Predictions back in the values' units, as float64."""
        import numpy as np

        column = _column(scaled_predictions)
        out = self.scaler.inverse_transform(column) if self.scaler else column
        return np.asarray(out, dtype="float64").ravel()

    @property
    def tolerance(self) -> float:
        """How close a prediction must come to its target: 5% of the values' range."""
        return TOLERANCE_OF_RANGE * (max(self.values) - min(self.values))

    def describe(self) -> dict:
        """The scaler and its fitted parameters, for the JSON file."""
        fitted = {}
        if self.method == "minmax":
            fitted = {"data_min": self.scaler.data_min_[0], "data_max": self.scaler.data_max_[0]}
        elif self.method == "standard":
            fitted = {"mean": self.scaler.mean_[0], "scale": self.scaler.scale_[0]}
        return {
            "scaler": self.method,
            "fitted": {k: float(v) for k, v in fitted.items()},
            "tolerance": self.tolerance,
        }


def _column(values):
    import numpy as np

    return np.asarray(values, dtype="float64").reshape(-1, 1)
