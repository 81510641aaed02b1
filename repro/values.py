"""A reader's own sequence (--values): read, scaled with scikit-learn, and put back in its units.

The network learns on scaled numbers (an LSTM's gates saturate on large ones); everything the
reader sees, the predictions, the side-by-side block and the JSON, is in the reader's own units.
A prediction reproduces its target when it is within 5% of the values' range.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SCALERS = ("minmax", "standard", "none")
TOLERANCE_OF_RANGE = 0.05
FLOAT32_MAX = 3.4028234663852886e38  # numpy.finfo("float32").max, without importing NumPy here


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
    decimals = max(len(t.split(".")[1]) if "." in t and "e" not in t.lower() else 0 for t in tokens)
    return numbers, max(1, min(decimals, 6))


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
