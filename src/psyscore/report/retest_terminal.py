"""`psyscore retest` as JSON and in the terminal: who was matched, then per score the ICC with its
95% CI, wave means, SEM and the reliable-change threshold.

:func:`retest_payload` turns a :class:`psyscore.retest_table.RetestResult` into what ``--json``
prints; :func:`print_retest` renders that dict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

from .problems import print_problems
from .terminal import print_warnings

if TYPE_CHECKING:
    from ..problems import Problem
    from ..retest_table import RetestResult

RETEST_COLUMNS = ("score", "n", "ICC", "95% CI", "M1 (SD)", "M2 (SD)", "diff", "SEM", "RC")


def _clean(value: object) -> object:
    """JSON-safe: numpy scalars to Python, NaN/inf to null."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # type: ignore[union-attr]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def retest_payload(result: RetestResult, inputs: Sequence[Path | str], sd_from: str) -> dict:
    """What ``psyscore retest --json`` prints: `inputs` (one long file, or one file per wave),
    the join, one entry per score (with every ICC type in ``all_icc``), problems, warnings."""
    from ..psychometrics.retest import ICC_TYPES

    scores = []
    for row in result.table.to_dict(orient="records"):
        d: dict = {}
        for key, value in row.items():
            if key == "ci_low":
                d["ci95"] = [_clean(row["ci_low"]), _clean(row["ci_high"])]
            elif key == "note":
                d["note"] = value if isinstance(value, str) else None
            elif key != "ci_high":
                d[key] = _clean(value)
        d["all_icc"] = result.all_iccs(row["column"])
        scores.append(d)
    join = dict(result.join)
    return {
        "layout": "long" if len(inputs) == 1 else "two files",
        "inputs": [str(p) for p in inputs],
        "id_column": join.pop("id_column"),
        "wave_column": join.pop("wave_column", None),
        "waves": [join["wave1"]["label"], join["wave2"]["label"]],
        "icc_type": result.icc_type,
        "icc_description": ICC_TYPES[result.icc_type],
        "sd_from": sd_from,
        "z": 1.96,
        "join": join,
        "scores": scores,
        "problems": [p.to_dict() for p in result.problems],
        "warnings": result.warnings,
    }


def _num(value: object, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{value:.{digits}f}"


def _r(value: object) -> str:
    """Correlation-type values in APA style: .674, -.05 (no leading zero)."""
    text = _num(value, 3)
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text


def _wave_name(w: dict, long: bool) -> str:
    return (
        f"wave {w['label']} ({w['file']})" if w.get("file") and not long else f"wave {w['label']}"
    )


def print_join(console: Console, payload: dict) -> None:
    """Which waves were compared, who is in both and in one only, and the rows left out."""
    join = payload["join"]
    w1, w2 = join["wave1"], join["wave2"]
    long = payload["layout"] == "long"
    if long:
        console.print(
            f"{payload['inputs'][0]}: column {payload['wave_column']!r}, wave 1 = "
            f"{w1['label']!r}, wave 2 = {w2['label']!r}"
            + (
                f" ({join['rows_other_waves']} rows of other waves ignored)"
                if join.get("rows_other_waves")
                else ""
            ),
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"respondents ({payload['id_column']}): {join['matched']} in both waves, "
        f"{join['only_wave1']} only in {_wave_name(w1, long)}, {join['only_wave2']} only in "
        f"{_wave_name(w2, long)}",
        highlight=False,
        soft_wrap=True,
    )
    for w in (w1, w2):
        left = []
        if w["rows_duplicate_id"]:
            left.append(f"{w['rows_duplicate_id']} rows of {w['duplicate_ids']} repeated ids")
        if w["rows_missing_id"]:
            left.append(f"{w['rows_missing_id']} rows without an id")
        if left:
            console.print(
                f"  left out of wave {w['label']}: {'; '.join(left)}",
                highlight=False,
                soft_wrap=True,
            )


def retest_table(payload: dict) -> Table:
    """One row per score: pairs, ICC [95% CI], M (SD) per wave, mean change, SEM, RC."""
    table = Table(
        title=f"test-retest: {payload['icc_type']}",
        title_justify="left",
        caption=f"{payload['icc_description']}. M1, M2: mean of wave 1, 2; diff: mean of "
        "wave 2 - wave 1. SEM = SD "
        f"({'wave 1' if payload['sd_from'] == 'wave1' else 'pooled'}) x sqrt(1 - ICC); "
        "RC = 1.96 x sqrt(2) x SEM, the reliable-change threshold (Jacobson & Truax): a change "
        "at least this large is unlikely (p < .05) to be measurement error alone.",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for col in RETEST_COLUMNS:
        table.add_column(col, justify="left" if col == "score" else "right", no_wrap=True)
    for s in payload["scores"]:
        lo, hi = s["ci95"]
        table.add_row(
            s["column"],
            str(s["n_pairs"]),
            _r(s["icc"]),
            f"{_r(lo)}-{_r(hi)}" if lo is not None and hi is not None else "",
            f"{_num(s['mean_1'])} ({_num(s['sd_1'])})" if s["mean_1"] is not None else "",
            f"{_num(s['mean_2'])} ({_num(s['sd_2'])})" if s["mean_2"] is not None else "",
            _num(s["mean_diff"]),
            _num(s["sem"]),
            _num(s["rc_threshold"]),
        )
    return table


def print_score_notes(console: Console, payload: dict) -> None:
    """Per score: matched respondents without the score, the published retest r, notes."""
    for s in payload["scores"]:
        extra = []
        if s["n_incomplete"]:
            extra.append(f"{s['n_incomplete']} matched respondent(s) lack the score in a wave")
        if s["published_retest"] is not None:
            extra.append(f"published retest r = {_r(s['published_retest'])}")
        if s["note"]:
            extra.append(s["note"])
        if extra:
            console.print(f"  {s['column']}: {'; '.join(extra)}", highlight=False, soft_wrap=True)


def print_retest(out: Console, err: Console, payload: dict, problems: Sequence[Problem]) -> None:
    """What `psyscore retest` prints: warnings (on `err`), the join, the table, per-score notes
    and the problem table."""
    print_warnings(err, payload["warnings"])
    print_join(out, payload)
    out.print(retest_table(payload))
    print_score_notes(out, payload)
    print_problems(out, list(problems))
