"""`psyscore reliability` in the terminal: per instrument a table of every score (and group),
APA sentences, warnings and ordinal statistics; then the scale intercorrelations and problems.

Renders the dict of :meth:`psyscore.survey.ReliabilityReport.to_dict` (what ``--json`` prints
and the HTML and APA tables render too), or the same dict of a chunked run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .formatting import apa, count
from .problems import print_problems
from .terminal import print_warnings

if TYPE_CHECKING:
    from ..problems import Problem
    from ..survey import ReliabilityReport

SCORE_COLUMNS = ("score", "n", "k", "alpha", "95% CI", "std", "G6", "w_t", "w_h", "w_1f", "avg r")

_SPLITS = {
    "all": "every split",
    "psych": "the splits psych 2.2.9 enumerates (half of them for odd k)",
}


def _group_label(group: object) -> str:
    # a group label is data: never rich markup
    return "(no value)" if group is None else escape(str(group))


def instrument_table(inst: dict, *, split_half: str = "all", nfactors: int = 3) -> Table:
    """One row per score of `inst` (an entry of the report's ``instruments``), and under it a
    row per ``--by`` group."""
    splits = _SPLITS.get(split_half, "every split; first-m split in --json")
    table = Table(
        title=f"{inst['instrument']}: reliability",
        title_justify="left",
        caption="std: standardised alpha; G6: Guttman lambda-6 (smc); w_t, w_h: omega total and "
        f"hierarchical (Schmid-Leiman, {nfactors} group factors; blank under {2 * nfactors} "
        "items); w_1f: omega total, one-factor model; "
        f"split-half max/min (lambda-4, beta; in --json) over {splits} (--split-half "
        f"{split_half})",
        caption_justify="left",
    )
    for col in SCORE_COLUMNS:
        table.add_column(col, justify="left" if col == "score" else "right", no_wrap=col != "score")
    rows = []
    for s in inst["scores"]:
        rows.append((s["score"].removeprefix(inst["prefix"] + "_"), s))
        for g in s.get("groups", []):
            rows.append((f"  {escape(str(s.get('by')))} = {_group_label(g['group'])}", g))
    for label, s in rows:
        ci = s.get("alpha_ci") or [None, None]
        table.add_row(
            label,
            count(s.get("n")),
            str(s.get("n_items")),
            apa(s.get("alpha")),
            f"{apa(ci[0])}-{apa(ci[1])}",
            apa(s.get("alpha_std")),
            apa(s.get("lambda6")),
            apa(s.get("omega_total")),
            apa(s.get("omega_h")),
            apa(s.get("omega_total_1f")),
            apa(s.get("average_r")),
        )
    return table


def print_instrument(
    console: Console, inst: dict, *, split_half: str = "all", nfactors: int = 3
) -> None:
    """The table of :func:`instrument_table`, then per score its APA sentence and warnings (a
    group's warning codes; their messages are in --json), and the ordinal statistics."""
    console.print(instrument_table(inst, split_half=split_half, nfactors=nfactors))
    for s in inst["scores"]:
        console.print(f"  {s['score']}: {s['apa']}", highlight=False)
        for w in s.get("warnings") or []:
            console.print(f"    [yellow]warning:[/] {w['message']}", highlight=False)
        for g in s.get("groups", []):
            codes = list(dict.fromkeys(w["code"] for w in g.get("warnings") or []))
            if codes:
                console.print(
                    f"    [yellow]warning:[/] {escape(str(s.get('by')))} = "
                    f"{_group_label(g['group'])} (n = {count(g.get('n'))}): "
                    f"{', '.join(codes)} (messages in --json)",
                    highlight=False,
                    markup=True,
                )
    print_ordinal(console, inst)
    console.print("  item-rest r and alpha if deleted per item: use --json", highlight=False)


def print_ordinal(console: Console, inst: dict) -> None:
    """--correlations polychoric: ordinal alpha and omega per score (and group)."""
    for s in inst["scores"]:
        if s.get("correlations") != "polychoric":
            continue
        rows = [(s["score"], s)] + [
            (f"{s['score']}, {s.get('by')} = {g['group']}", g) for g in s.get("groups", [])
        ]
        for label, r in rows:
            parts = [f"ordinal alpha = {apa(r.get('ordinal_alpha'))}"]
            for key, name in (
                ("ordinal_omega_total", "omega total"),
                ("ordinal_omega_h", "omega_h"),
                ("ordinal_omega_total_1f", "omega total (one-factor model)"),
            ):
                if r.get(key) is not None:
                    parts.append(f"{name} = {apa(r.get(key))}")
            reason = r.get("ordinal_reason")
            note = f" ({reason})" if reason and r.get("ordinal_alpha") is None else ""
            console.print(
                f"  {label}: polychoric: {', '.join(parts)}{note}", highlight=False, markup=False
            )


def intercorrelation_table(ic: dict, *, overlap: bool = False) -> Table:
    """The report's ``intercorrelations`` (or, ``overlap=True``, its ``overlap``) as a table."""
    names = ic["scores"]
    if overlap:
        title = "Scale intercorrelations corrected for shared items"
        caption = (
            "psych::scoreOverlap: below the diagonal r with each shared item's self-correlation "
            "replaced by sqrt(avg r_i avg r_j); diagonal: standardised alpha; above: corrected "
            "for attenuation"
        )
    else:
        title = "Scale intercorrelations"
        caption = (
            "below the diagonal: r between scores (pairwise); diagonal: alpha; above: r "
            "corrected for attenuation, r / sqrt(alpha_i alpha_j) (psych::scoreItems corrected)"
        )
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("score")
    for i in range(len(names)):
        table.add_column(str(i + 1), justify="right", no_wrap=True)
    for i, (name, row) in enumerate(zip(names, ic["corrected"], strict=True)):
        table.add_row(f"{i + 1}. {name}", *(apa(v) for v in row))
    return table


def print_intercorrelations(console: Console, ic: dict | None, *, overlap: bool = False) -> None:
    """:func:`intercorrelation_table`, if the run has one (None: fewer than two scores, or for
    ``overlap`` no shared items)."""
    if ic:
        console.print(intercorrelation_table(ic, overlap=overlap))


def print_reliability(
    out: Console, err: Console, payload: dict, problems: Sequence[Problem]
) -> None:
    """What `psyscore reliability` prints: the warnings (on `err`), each instrument, the
    intercorrelations (plain, then corrected for shared items) and the problem table."""
    print_warnings(err, payload["warnings"])
    options = {
        "split_half": payload.get("split_half", "all"),
        "nfactors": payload.get("nfactors", 3),
    }
    for inst in payload["instruments"]:
        print_instrument(out, inst, **options)
    print_intercorrelations(out, payload["intercorrelations"])
    print_intercorrelations(out, payload["overlap"], overlap=True)
    print_problems(out, list(problems))


def print_reliability_report(out: Console, err: Console, report: ReliabilityReport) -> None:
    """:func:`print_reliability` of a :class:`~psyscore.survey.ReliabilityReport`."""
    print_reliability(out, err, report.to_dict(), report.problems)
