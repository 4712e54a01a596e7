"""Qualtrics exports: the extra header rows of CSV/XLSX files, and preview/spam responses.

CSV, TSV and XLSX exports have three header rows: the export tag (column name), the question
text and an ImportId JSON object ({"ImportId":"QID5_1"}). The readers drop rows two and three,
keep the question text as each column's label, and remember each data row's row number in the
file so problems point at the row a spreadsheet shows. SPSS exports need no such handling.

Every export has a `Status` column (response type): "IP Address" (0) is a real response,
"Survey Preview" (1), "Survey Test" (2) and the spam types (8, 9, 12) are not. The codes follow
Qualtrics' response-type values; text exports and SPSS value labels carry the names instead, so
both are recognised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

IMPORT_ID = re.compile(r'^\s*\{\s*"ImportId"\s*:')
MAX_LABEL = 255  # SPSS variable labels longer than this are cut by SPSS itself

# response type -> reason a row is not scored; None keeps the row
STATUS_CODES: dict[float, str | None] = {
    0.0: None,  # IP Address: a normal response
    1.0: "survey preview",
    2.0: "survey test",
    4.0: None,  # Imported
    8.0: "spam",
    9.0: "spam",  # Preview Spam
    12.0: "spam",  # Imported Spam
    16.0: None,  # Offline
    17.0: "survey preview",  # Offline Survey Preview
}
STATUS_TEXT: dict[str, str | None] = {
    "ip address": None,
    "survey preview": "survey preview",
    "survey test": "survey test",
    "imported": None,
    "spam": "spam",
    "preview spam": "spam",
    "imported spam": "spam",
    "offline": None,
    "offline survey preview": "survey preview",
}
CHANNELS = {"preview": "survey preview", "test": "survey test"}
KINDS = {"survey preview": "preview", "survey test": "preview", "spam": "spam"}


def extra_header_rows(head: pd.DataFrame) -> int:
    """How many rows under the column names are Qualtrics header rows (2 or 0)."""
    if len(head) < 2:
        return 0
    second = head.iloc[1].tolist()
    return 2 if any(isinstance(v, str) and IMPORT_ID.match(v) for v in second) else 0


def question_labels(row: Mapping[str, object]) -> dict[str, str]:
    """Column labels from the question-text row (empty and repeated-name cells skipped)."""
    labels = {}
    for column, text in row.items():
        if isinstance(text, str) and text.strip() and text.strip() != str(column):
            labels[str(column)] = " ".join(text.split())[:MAX_LABEL]
    return labels


def looks_like_qualtrics(columns) -> bool:
    names = {str(c).lower() for c in columns}
    return "status" in names and ("responseid" in names or "response id" in names)


@dataclass
class Exclusions:
    """Per row the reason it is not scored (None: scored), and how many rows each reason hit."""

    reasons: np.ndarray | None = None
    counts: dict[str, int] = field(default_factory=dict)
    column: str | None = None

    def keep(self, *, previews: bool = False, spam: bool = False) -> Exclusions:
        """The same with some kinds let back in (--include-previews, --include-spam)."""
        if self.reasons is None:
            return self
        let_in = {
            r
            for r, kind in KINDS.items()
            if (kind == "preview" and previews) or (kind == "spam" and spam)
        }
        reasons = np.array([None if r in let_in else r for r in self.reasons], dtype=object)
        counts = {r: n for r, n in self.counts.items() if r not in let_in}
        return Exclusions(reasons if counts else None, counts, self.column)


def response_exclusions(
    data: pd.DataFrame, value_labels: Mapping[str, Mapping] | None = None
) -> Exclusions:
    """Previews, tests and spam by the Status column (and DistributionChannel) of an export."""
    if not looks_like_qualtrics(data.columns):
        return Exclusions()
    by_lower = {str(c).lower(): c for c in data.columns}
    status_col = by_lower["status"]
    status = data[status_col]
    labels = (value_labels or {}).get(status_col) or {}
    reasons = np.full(len(data), None, dtype=object)
    codes, uniques = pd.factorize(status, use_na_sentinel=True)
    table = [_status_reason(u, labels) for u in uniques]
    if table:
        lookup = np.array([*table, None], dtype=object)
        reasons = lookup[codes]
    channel_col = by_lower.get("distributionchannel")
    if channel_col is not None:
        channel = data[channel_col].astype("string").str.strip().str.lower()
        for name, reason in CHANNELS.items():
            hit = (channel == name).fillna(False).to_numpy(dtype=bool)
            reasons[hit & pd.isna(reasons)] = reason
    counts = pd.Series(reasons).dropna().value_counts().to_dict()
    if not counts:
        return Exclusions(column=str(status_col))
    return Exclusions(reasons, {str(k): int(v) for k, v in counts.items()}, str(status_col))


def _status_reason(value: object, labels: Mapping) -> str | None:
    if isinstance(value, str):
        text = " ".join(value.split()).lower()
        if text in STATUS_TEXT:
            return STATUS_TEXT[text]
        try:
            value = float(text)
        except ValueError:
            return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    label = labels.get(number, labels.get(int(number))) if number.is_integer() else None
    if isinstance(label, str) and " ".join(label.split()).lower() in STATUS_TEXT:
        return STATUS_TEXT[" ".join(label.split()).lower()]
    return STATUS_CODES.get(number)
