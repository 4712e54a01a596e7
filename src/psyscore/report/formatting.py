"""Numbers in reports, one way everywhere: plain numbers, APA statistics, counts, APA sentences.

Every report (the reliability HTML, the APA sentences, the intake terminal and HTML reports)
formats through here, so a number is never rewritten by string surgery (which once printed
10.542 as "1.54"):

- :func:`number` -- ``10.54``, ``1,000.00``, ``-0.05`` with the minus sign U+2212;
- :func:`apa` -- statistics that cannot exceed 1 (r, alpha, omega, p) without the leading zero,
  ``.84``, ``-.05``; a value of 1 or more keeps its digits (``1.00``, ``10.54``);
- :func:`count` -- ``2,800``;
- :func:`apa_sentence` -- "Cronbach's alpha = .84, 95% CI [.82, .86]; McDonald's omega total
  (one-factor model) = .85 (n = 2,800, 10 items)" (the model named: one-factor, or bifactor
  with its number of group factors).

Rounding is half up on the decimal digits a person reads (0.125 -> 0.13, 2.675 -> 2.68), as
`psyscore.norms.round_half_up` rounds scores. A value that rounds to zero has no minus sign.
Missing values (None, NaN) print as an en dash unless the caller says otherwise; infinities as
the infinity sign.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

MINUS = "\u2212"
MISSING = "\u2013"  # en dash
INFINITY = "\u221e"


def _finite(value: Any) -> float | None:
    """`value` as a float, or None when missing (None, NaN, not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _digits(v: float, digits: int, thousands: bool) -> tuple[bool, str]:
    """(negative, absolute value rounded half up to `digits` decimals, as text)."""
    # repr gives the shortest decimal that reads back as v: the digits a person sees
    # precision for every digit of the largest float (1.8e308) plus the decimals asked for
    context = Context(prec=330 + digits, rounding=ROUND_HALF_UP)
    rounded = Decimal(repr(v)).quantize(Decimal(1).scaleb(-digits), context=context)
    negative = rounded < 0
    spec = f"{',' if thousands else ''}.{digits}f"
    return negative, format(abs(rounded), spec)


def number(value: Any, digits: int = 2, *, missing: str = MISSING, thousands: bool = True) -> str:
    """A number with `digits` decimals: ``10.54``, ``1,000.00``, ``\u22120.05``.

    Parameters
    ----------
    value
        Any number; None or NaN is `missing`, +-inf the infinity sign.
    digits
        Decimals shown (rounded half up).
    missing
        Text for a missing value.
    thousands
        Group thousands with commas (``2,800``).
    """
    v = _finite(value)
    if v is None:
        return missing
    if math.isinf(v):
        return (MINUS if v < 0 else "") + INFINITY
    negative, text = _digits(v, digits, thousands)
    return (MINUS if negative else "") + text


def apa(value: Any, digits: int = 2, *, missing: str = "") -> str:
    """A statistic that cannot exceed 1 (r, alpha, omega, p) in APA style: ``.84``, ``\u2212.05``.

    Only a leading ``0`` before the decimal point is dropped; a value of 1 or more (alpha of 1,
    or a corrected r above 1) keeps its integer digits: ``1.00``, ``10.54``.
    """
    text = number(value, digits, missing=missing)
    if text == missing:
        return text
    sign, body = (MINUS, text[1:]) if text.startswith(MINUS) else ("", text)
    if body.startswith("0."):
        body = body[1:]
    return sign + body


def count(value: Any, *, missing: str = MISSING) -> str:
    """A whole number with thousands separators: ``2,800``."""
    v = _finite(value)
    if v is None or math.isinf(v):
        return missing
    return number(v, 0, missing=missing)


def apa_sentence(d: dict) -> str:
    """The APA sentence of one score from its ``ScaleReliability.to_dict()``."""
    ci = d.get("alpha_ci") or [None, None]
    text = f"Cronbach's alpha = {apa(d.get('alpha'))}, 95% CI [{apa(ci[0])}, {apa(ci[1])}]"
    if d.get("omega_total") is not None:
        omega, model = (
            d["omega_total"],
            f"bifactor model, {d.get('omega_nfactors', 3)} group factors",
        )
    else:
        omega, model = d.get("omega_total_1f"), "one-factor model"
    if omega is not None:
        text += f"; McDonald's omega total ({model}) = {apa(omega)}"
    return text + f" (n = {count(d.get('n'))}, {count(d.get('n_items'))} items)"


def compact(value: Any, digits: int = 2, *, missing: str = MISSING) -> str:
    """A number with at most `digits` decimals and no trailing zeros: ``12``, ``2.5``, ``1.161``."""
    text = number(value, digits, missing=missing)
    if "." in text and text[-1:].isdigit():
        text = text.rstrip("0").rstrip(".")
    return text


def signed(value: Any, digits: int = 2, *, missing: str = MISSING, trim: bool = True) -> str:
    """A difference with its sign: ``+2``, ``\u22126``, ``0`` (``trim=False``: ``+1.20``)."""
    text = (compact if trim else number)(value, digits, missing=missing)
    if text == missing or text.startswith(MINUS) or not text.strip("0.,"):
        return text
    return "+" + text
