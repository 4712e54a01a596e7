"""Results as strict JSON: what every JSON output (CLI, web API, exports) passes through."""

from __future__ import annotations

import math

import numpy as np


def json_safe(value: object) -> object:
    """`value` with NaN and +-inf as None and NumPy scalars as Python ones, at any depth.

    `Infinity` and `NaN` are not JSON: most parsers other than Python's reject the whole document.
    """
    if isinstance(value, dict):
        return {key: json_safe(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    return value
