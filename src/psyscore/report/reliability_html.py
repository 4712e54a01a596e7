"""A standalone HTML reliability report (inline CSS, plots as base64 PNG, no network resources).

:func:`render_reliability_html` is pure: it takes the payload that ``psyscore reliability --json``
prints (per instrument: id, prefix, citation and one dict per score from
``ScaleReliability.to_dict()`` plus its ``apa`` sentence) and the instrument definitions, and
returns the HTML text. jinja2 (with autoescape) and matplotlib are imported only when a report is
rendered, so the command without --html stays light.
"""

from __future__ import annotations

import base64
import datetime as _dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..instrument import Instrument
from . import formatting

MAX_PROBLEM_ROWS = 100

POLICY_TEXT = {
    "pairwise": (
        'Pairwise deletion (R psych\'s default, use = "pairwise"): each covariance uses the rows '
        "that answered both items, each item's statistics the rows that answered it; n behind "
        "alpha's confidence interval is all rows (as psych's nrow(x)). Answers outside an item's "
        "scale and declared missing codes count as missing."
    ),
    "listwise": (
        "Listwise deletion: every statistic uses only the rows that answered all items of the "
        "score (as SPSS/PSPP RELIABILITY). Answers outside an item's scale and declared missing "
        "codes count as missing."
    ),
}

SHORT_WARNING = {
    "negative_item_rest": "may be mis-keyed: is it reverse-scored?",
    "zero_variance": "no variance: left out",
    "low_alpha": "alpha below .70",
    "below_published": "alpha far below the published value",
    "too_few_cases": "too few cases",
    "too_few_items": "too few items",
    "insufficient_overlap": "too little pairwise overlap",
    "omega_failed": "omega failed",
    "omega_not_converged": "omega_h rotation not converged",
}


def fmt(value: Any, digits: int = 2, *, apa: bool = True) -> str:
    """Numbers as in the terminal table: ``.84`` (APA, no leading zero); missing as an en dash.

    ``apa=True`` is for statistics that cannot exceed 1 (alpha, r, omega); everything else
    (means, SDs, percentages, signal/noise) is a plain number. See `report.formatting`.
    """
    if isinstance(value, str):
        return value
    if apa:
        return formatting.apa(value, digits, missing=formatting.MISSING)
    return formatting.number(value, digits)


def _num(value: Any) -> str:
    """Full-precision value for a data- attribute (what the cell shows is rounded)."""
    if value is None:
        return ""
    v = float(value)
    return "" if math.isnan(v) else repr(v)


def _score_definition(inst: Instrument | None, prefix: str, score: str):
    if inst is None:
        return None
    return inst.scores.get(score.removeprefix(prefix + "_"))


def _code_labels(inst: Instrument, item_ids: list[str]) -> dict[str, str] | None:
    """Anchor text per code when every item of the score uses the same response scale."""
    by_id = {i.id: i for i in inst.items}
    scales = {by_id[i].scale for i in item_ids if i in by_id}
    if len(scales) != 1:
        return None
    values = inst.response_scales[scales.pop()].values
    return {str(code): str(label) for code, label in values.items()}


def _is_reversed(spec, item) -> bool:
    """Reverse-keyed in this score (the score's own reverse list), else by the item's flag."""
    return spec.is_reversed(item) if spec is not None else item.reverse


def _anchors_note(inst: Instrument, item_ids: list[str], spec=None) -> str:
    """'0 Disagree ... 3 Agree' for the caption of a score with reverse-keyed items."""
    by_id = {i.id: i for i in inst.items}
    if not any(_is_reversed(spec, by_id[i]) for i in item_ids if i in by_id):
        return ""
    labels = _code_labels(inst, item_ids)
    if not labels:
        return ""
    return ", ".join(f"{c} = {t}" for c, t in labels.items())


def _normalise_codes(freq: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """'1.0' -> '1' so keyed codes match the scale's declared codes."""

    def norm(c: str) -> str:
        try:
            f = float(c)
        except ValueError:
            return c
        return str(int(f)) if f.is_integer() else c

    return {item: {norm(c): n for c, n in codes.items()} for item, codes in freq.items()}


def _plot(score: dict, inst: Instrument | None, flagged: set[str], spec=None) -> str:
    from .plots import item_plot_png

    items = [it["item"] for it in score.get("items") or []]
    if not items:
        return ""
    reversed_items = {i.id for i in inst.items if _is_reversed(spec, i)} if inst else set()
    items_reversed = bool(reversed_items & set(items))
    freq = score.get("response_frequencies")
    png = item_plot_png(
        items,
        frequencies=_normalise_codes(freq) if freq else None,
        n_rows=int(score.get("n_rows") or score.get("n") or 0),
        r_drop=[it.get("r_drop") for it in score["items"]],
        flagged=flagged,
        reversed_items=reversed_items,
        # anchor text in the legend only when no item is reversed (else it would be wrong for R)
        code_labels=_code_labels(inst, items) if inst and not items_reversed else None,
    )
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _n_text(s: dict) -> str:
    k = s.get("n_items")
    if s.get("policy") == "listwise":
        return (
            f"n = {formatting.count(s.get('n'))} complete cases of "
            f"{formatting.count(s.get('n_rows'))} rows, {k} items; every "
            "statistic uses these rows."
        )
    text = (
        f"n = {formatting.count(s.get('n'))} rows, {k} items "
        f"({formatting.count(s.get('n_complete'))} rows answered every item"
    )
    if s.get("min_pairwise_n") is not None:
        text += (
            f"; every item pair was answered by at least "
            f"{formatting.count(s['min_pairwise_n'])} rows"
        )
    return text + "). Per-item n is in the item table."


def _further(s: dict) -> str:
    parts = []
    if s.get("alpha_ci_ase") and s["alpha_ci_ase"][0] is not None:
        lo, hi = s["alpha_ci_ase"]
        parts.append(f"alpha 95% CI (Duhachek-Iacobucci ase) [{fmt(lo)}, {fmt(hi)}]")
    if s.get("alpha_ci_boot"):
        lo, hi = s["alpha_ci_boot"]
        parts.append(f"bootstrap 95% CI [{fmt(lo)}, {fmt(hi)}] ({s.get('n_boot')} resamples)")
    for key, name in (
        ("omega_total_1f", "omega total, one-factor model"),
        ("lambda2", "lambda-2"),
        ("split_half_odd_even", "odd-even split-half (Spearman-Brown)"),
        ("lambda4", "max split-half (lambda-4)"),
        ("beta", "min split-half (beta)"),
        ("median_r", "median r"),
        ("signal_noise", "signal/noise"),
    ):
        if s.get(key) is not None:
            # signal/noise is alpha / (1 - alpha): not bounded by 1, so it keeps its zero
            parts.append(f"{name} {fmt(s[key], apa=key != 'signal_noise')}")
    if s.get("n_splits") is not None:
        method = s.get("split_half_method", "all")
        over = "the splits psych 2.2.9 enumerates" if method == "psych" else "every split"
        parts.append(f"max/min split-half over {over} ({s['n_splits']}; --split-half {method})")
    if s.get("split_half_first_m") is not None:
        parts.append(
            f"{s['split_half_method']} split-half (PSPP SPLIT, Spearman-Brown unequal length) "
            f"{fmt(s['split_half_first_m'])}"
        )
    if s.get("omega_reason"):
        parts.append(s["omega_reason"])
    if s.get("correlations") == "polychoric":  # --correlations polychoric
        for key, name in (
            ("ordinal_alpha", "ordinal alpha (polychoric)"),
            ("ordinal_omega_total", "ordinal omega total"),
            ("ordinal_omega_h", "ordinal omega_h"),
            ("ordinal_omega_total_1f", "ordinal omega total, one-factor model"),
        ):
            if s.get(key) is not None:
                parts.append(f"{name} {fmt(s[key])}")
        if s.get("ordinal_alpha") is None and s.get("ordinal_reason"):
            parts.append(s["ordinal_reason"])
    if s.get("mean") is not None:
        parts.append(f"mean item score {fmt(s['mean'], apa=False)} (SD {fmt(s['sd'], apa=False)})")
    return "; ".join(parts)


def _score_context(entry: dict, s: dict, inst: Instrument | None, plots: bool) -> dict:
    prefix = entry.get("prefix") or ""
    spec = _score_definition(inst, prefix, s["score"])
    by_id = {i.id: i for i in inst.items} if inst else {}
    item_warnings: dict[str, list[str]] = {}
    for w in s.get("warnings") or []:
        if w.get("item"):
            item_warnings.setdefault(w["item"], []).append(
                SHORT_WARNING.get(w["code"], w["message"])
            )
    flagged = set(item_warnings)
    alpha = s.get("alpha")
    rows = []
    for it in s.get("items") or []:
        item_id = it["item"]
        defn = by_id.get(item_id)
        aid = it.get("alpha_if_deleted")
        rows.append(
            {
                "id": item_id,
                "label": defn.label if defn else "",
                "reverse": bool(defn and _is_reversed(spec, defn)),
                "n": formatting.count(it.get("n")),
                "mean": fmt(it.get("mean"), apa=False),
                "sd": fmt(it.get("sd"), apa=False),
                "missing": fmt(it.get("pct_missing"), 1, apa=False),
                "floor": fmt(it.get("floor_pct"), 1, apa=False),
                "ceiling": fmt(it.get("ceiling_pct"), 1, apa=False),
                "r_drop": fmt(it.get("r_drop")),
                "r_drop_value": _num(it.get("r_drop")),
                "r_drop_low": it.get("r_drop") is not None and it["r_drop"] < 0.30,
                "r_cor": fmt(it.get("r_cor")),
                "aid": fmt(aid),
                "aid_rises": aid is not None and alpha is not None and aid > alpha,
                "flags": item_warnings.get(item_id, []),
            }
        )
    label = spec.label if spec else s["score"]
    published = None
    if spec and spec.published_reliability and spec.published_reliability.alpha is not None:
        pr = spec.published_reliability
        published = f"{fmt(pr.alpha)} ({pr.source})"
    apa = s.get("apa")
    if apa is None:
        apa = formatting.apa_sentence(s)
    return {
        "name": s["score"],
        "anchor": f"score-{s['score']}",
        "label": label,
        "apa": apa,
        "n_text": _n_text(s),
        "further": _further(s),
        "published": published,
        "warnings": [w["message"] for w in s.get("warnings") or []],
        "item_rows": rows,
        "reversed_any": any(r["reverse"] for r in rows),
        "plot": _plot(s, inst, flagged, spec) if plots else "",
        "anchors": _anchors_note(inst, [r["id"] for r in rows], spec) if inst else "",
        "flagged": sorted(flagged),
        "n_rows": s.get("n_rows", s.get("n")),
        "plot_alt": (
            f"Response distribution and item-rest correlation per item of {s['score']}"
            + (f"; flagged: {', '.join(sorted(flagged))}" if flagged else "")
        ),
        "summary": _summary_row(s),
        "n_groups": len(s.get("groups") or []),
        "groups": [
            {
                "label": f"{s.get('by')} = {'(no value)' if g['group'] is None else g['group']}",
                **_summary_row(g),
            }
            for g in s.get("groups") or []
        ],
    }


def _summary_row(s: dict) -> dict:
    """The cells of one row of the summary table (a score, or one group of it)."""
    alpha = s.get("alpha")
    return {
        "n": formatting.count(s.get("n")),
        "k": s.get("n_items"),
        "cells": [
            ("alpha", fmt(alpha), _num(alpha)),
            (
                "alpha_ci",
                f"[{fmt((s.get('alpha_ci') or [None, None])[0])}, "
                f"{fmt((s.get('alpha_ci') or [None, None])[1])}]",
                "",
            ),
            ("alpha_std", fmt(s.get("alpha_std")), _num(s.get("alpha_std"))),
            ("lambda6", fmt(s.get("lambda6")), _num(s.get("lambda6"))),
            ("omega_total", fmt(s.get("omega_total")), _num(s.get("omega_total"))),
            ("omega_h", fmt(s.get("omega_h")), _num(s.get("omega_h"))),
            ("average_r", fmt(s.get("average_r")), _num(s.get("average_r"))),
        ],
        "warnings": [
            f"{w['item']}: {SHORT_WARNING.get(w['code'], w['code'])}"
            if w.get("item")
            else SHORT_WARNING.get(w["code"], w["code"].replace("_", " "))
            for w in s.get("warnings") or []
        ],
    }


def _instrument_context(entry: dict, inst: Instrument | None, plots: bool) -> dict:
    ctx: dict[str, Any] = {
        "id": entry["instrument"],
        "name": inst.name if inst else entry["instrument"],
        "citation": " ".join((inst.citation if inst else entry.get("citation", "")).split()),
        "doi": inst.doi if inst else None,
        "licence": None,
        "key": None,
        "scores": [_score_context(entry, s, inst, plots) for s in entry.get("scores") or []],
    }
    if inst is not None:
        ctx["licence"] = {
            "status": inst.licence.status,
            "note": " ".join((inst.licence.note or "").split()),
            "text_shipped": inst.licence.item_text_shipped,
        }
        ctx["key"] = {
            "verified": inst.key.verified,
            "private": inst.private_provenance,
            "source": " ".join(inst.key.source.split()),
            "checked_against": [" ".join(c.split()) for c in inst.key.checked_against],
            "uncertain": [" ".join(u.split()) for u in inst.key.uncertain],
        }
    return ctx


def render_reliability_html(
    payload: dict,
    instruments: Sequence[Instrument],
    *,
    version: str | None = None,
    generated: str | None = None,
    plots: bool = True,
) -> str:
    """The report as one HTML string.

    ``payload`` is what ``psyscore reliability --json`` prints (``input``, ``policy``,
    ``instruments``, ``problems``, ``warnings``); ``instruments`` are the definitions (labels,
    reverse keys, citations, licence and key provenance are taken from them). ``generated``
    defaults to the current local time; ``plots=False`` leaves the figures out.
    """
    import jinja2

    if version is None:
        from .. import __version__ as version
    if generated is None:
        generated = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()
    by_id = {i.id: i for i in instruments}
    insts = [
        _instrument_context(e, by_id.get(e["instrument"]), plots) for e in payload["instruments"]
    ]
    problems = payload.get("problems") or []
    policy = payload.get("policy", "pairwise")
    intercorrelations = None
    if payload.get("intercorrelations"):
        from .apa_table import _intercorrelation_table

        intercorrelations = _intercorrelation_table(2, payload["intercorrelations"])
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(TEMPLATE).render(
        input_name=Path(str(payload.get("input", ""))).name,
        policy=policy,
        policy_text=POLICY_TEXT.get(policy, policy),
        version=version,
        generated=generated,
        instruments=insts,
        warnings=payload.get("warnings") or [],
        problems=[
            {k: p.get(k, "") for k in ("row", "column", "value", "message")}
            for p in problems[:MAX_PROBLEM_ROWS]
        ],
        problems_more=max(0, len(problems) - MAX_PROBLEM_ROWS),
        intercorrelations=intercorrelations,
        n_problems=len(problems),
    )


TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="psyscore {{ version }}">
<title>Reliability report - {{ input_name }}</title>
<style>
  @page { size: A4 landscape; margin: 12mm; }
  body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; color: #111;
         max-width: 270mm; margin: 1.5em auto; padding: 0 1em; line-height: 1.35; font-size: 10.5pt; }
  h1 { font-size: 16pt; margin: 0 0 .2em; }
  h2 { font-size: 13pt; margin: 1.6em 0 .3em; border-bottom: 2px solid #555; }
  h3 { font-size: 11.5pt; margin: 1.3em 0 .25em; border-bottom: 1px solid #bbb; }
  h3 .name, .mono { font-family: ui-monospace, "SFMono-Regular", Consolas, monospace;
                    font-size: 9pt; color: #444; font-weight: normal; }
  .meta { color: #333; margin-bottom: .6em; }
  /* APA 7 tables: number in bold, title in italic, horizontal rules only */
  .table-number { font-weight: bold; margin: 1em 0 0; }
  .table-title { font-style: italic; margin: 0 0 .3em; }
  .note-label { font-style: italic; }
  table { border-collapse: collapse; width: 100%; margin: .3em 0 .6em;
          border-top: 1.5px solid #000; border-bottom: 1.5px solid #000; }
  th, td { border: none; padding: .15em .35em; text-align: left; vertical-align: top; }
  thead th { border-bottom: 1px solid #000; }
  th { font-weight: 600; background: #fff; }
  thead th { position: sticky; top: 0; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  tr.flagged td { background: #ffe3e3; }
  tr.group td { color: #333; font-size: 9.5pt; }
  .flag { color: #b00000; font-weight: bold; }
  .low { color: #a35f00; }
  .rise { font-weight: bold; text-decoration: underline dotted; }
  td.mono { white-space: nowrap; }
  .rev { display: inline-block; font-size: 7.5pt; font-weight: bold; color: #fff; background: #555;
         border-radius: 2px; padding: 0 .25em; margin-left: .3em; vertical-align: 1px; }
  .apa { font-size: 11pt; margin: .3em 0; padding: .3em .6em; border-left: 4px solid #1f4e79;
         background: #f3f7fb; }
  .warn { color: #8a4b00; }
  .unverified { font-weight: bold; color: #8a4b00; }
  .small { font-size: 9pt; color: #333; }
  .cite { font-size: 9.5pt; background: #fafafa; border: 1px solid #ddd; padding: .4em .6em; }
  figure { margin: .5em 0 1em; break-inside: avoid; page-break-inside: avoid; }
  figure img { max-width: 100%; height: auto; display: block; }
  figcaption { font-size: 9pt; color: #333; }
  ul { margin: .2em 0 .4em; padding-left: 1.4em; }
  section.score { break-inside: auto; }
  @media print {
    body { margin: 0; max-width: none; font-size: 9pt; }
    h2 { break-before: page; page-break-before: always; }
    h2.first { break-before: auto; page-break-before: auto; }
    tr.flagged td, .apa, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
    a { color: inherit; text-decoration: none; }
  }
</style>
</head>
<body>
<h1>Reliability report</h1>
<div class="meta">
  Input: <strong>{{ input_name }}</strong> &middot; Generated: {{ generated }} &middot;
  psyscore {{ version }} &middot; Missing data: <strong>{{ policy }}</strong> deletion
</div>
<p class="small">{{ policy_text }} Items are reverse-keyed per the instrument definition before
any statistic is computed; statistics follow R psych 2.2.9 (alpha, G6(smc), omega from a
Schmid-Leiman bifactor solution with minres factoring, oblimin rotation and 3 group factors,
which needs 6 or more items).</p>
{% if warnings %}<ul class="warn small">{% for w in warnings %}<li>Warning: {{ w }}</li>{% endfor %}</ul>{% endif %}

<h2 class="first" id="summary">Summary</h2>
{% set table_no = namespace(n=1) %}
<p class="table-number">Table 1</p>
<p class="table-title">Reliability of the Scores</p>
<table class="summary">
<thead><tr><th>Instrument</th><th>Score</th><th class="num">n</th><th class="num">Items</th>
<th class="num">&alpha;</th><th class="num">95% CI (Feldt)</th><th class="num">&alpha; std</th>
<th class="num">&lambda;<sub>6</sub></th><th class="num">&omega; total</th>
<th class="num">&omega;<sub>h</sub></th><th class="num">Average r</th><th>Warnings</th></tr></thead>
<tbody>
{% for inst in instruments %}{% for s in inst.scores %}
<tr data-score="{{ s.name }}">
  {% if loop.first %}<td rowspan="{{ inst.scores|length + inst.scores|sum(attribute='n_groups') }}"><a href="#instrument-{{ inst.id }}">{{ inst.id }}</a></td>{% endif %}
  <td><a href="#{{ s.anchor }}">{{ s.label }}</a></td>
  <td class="num">{{ s.summary.n }}</td>
  <td class="num">{{ s.summary.k }}</td>
  {% for key, text, value in s.summary.cells %}<td class="num" data-stat="{{ key }}"{% if value %} data-value="{{ value }}"{% endif %}>{{ text }}</td>
  {% endfor %}
  <td class="{{ 'flag' if s.flagged else 'warn' }}">{{ s.summary.warnings|join("; ") }}</td>
</tr>
{% for g in s.groups %}
<tr class="group" data-score="{{ s.name }}" data-group="{{ g.label }}">
  <td class="group-label">&emsp;{{ g.label }}</td>
  <td class="num">{{ g.n }}</td>
  <td class="num">{{ g.k }}</td>
  {% for key, text, value in g.cells %}<td class="num" data-stat="{{ key }}"{% if value %} data-value="{{ value }}"{% endif %}>{{ text }}</td>
  {% endfor %}
  <td class="warn">{{ g.warnings|join("; ") }}</td>
</tr>
{% endfor %}
{% endfor %}{% endfor %}
</tbody>
</table>
<p class="small"><span class="note-label">Note.</span> &alpha;: Cronbach's alpha (raw); std: standardised alpha; &lambda;<sub>6</sub>: Guttman's
lambda-6 (smc); &omega; total and &omega;<sub>h</sub>: McDonald's omega total and hierarchical
(blank under 6 items; the APA sentence then uses one-factor omega); average r: mean inter-item
correlation. n is the number of rows behind alpha and its confidence interval.</p>
<p class="small">Item tables: statistics on keyed scores (<span class="rev">R</span>: reverse-keyed item).
r.drop: item-rest correlation (the item vs the sum of the other items; <span class="low">below .30</span> is
weak, <span class="flag">below 0</span> suggests a mis-keyed item, highlighted in red); r.cor: item-total r
corrected for overlap and item unreliability; an <span class="rise">underlined</span> &alpha; if deleted
means alpha would rise without the item; floor/ceiling: % of the item's answers at the lowest/highest
code of its scale. Figures: keyed responses per item as % of all rows (hatched: missing), and item-rest r
with dashed lines at 0 and .30.</p>
{% if intercorrelations %}
{% set table_no.n = table_no.n + 1 %}
<p class="table-number">Table {{ table_no.n }}</p>
<p class="table-title">{{ intercorrelations.title }}</p>
<table class="intercorrelations">
<thead><tr>{% for h in intercorrelations.header %}<th{% if not loop.first %} class="num"{% endif %}>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in intercorrelations.rows %}<tr>{% for cell in row %}<td{% if not loop.first %} class="num"{% endif %}>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
<p class="small"><span class="note-label">Note.</span> {{ intercorrelations.note }}</p>
{% endif %}

{% if n_problems %}
<h3 id="problems">Data problems ({{ n_problems }})</h3>
<p class="small">These answers were treated as missing.</p>
<table class="problems">
<thead><tr><th class="num">Row</th><th>Column</th><th>Value</th><th>Problem</th></tr></thead>
<tbody>
{% for p in problems %}<tr><td class="num">{{ p.row }}</td><td>{{ p.column }}</td><td>{{ p.value }}</td><td>{{ p.message }}</td></tr>
{% endfor %}
</tbody>
</table>
{% if problems_more %}<p class="small">&hellip; and {{ problems_more }} more (see the terminal output or --json).</p>{% endif %}
{% endif %}

{% for inst in instruments %}
<h2 id="instrument-{{ inst.id }}">{{ inst.name }} <span class="mono">({{ inst.id }})</span></h2>
<div class="cite">
  <div class="citation">{{ inst.citation }}{% if inst.doi %} doi:{{ inst.doi }}{% endif %}</div>
  {% if inst.licence %}<div>Licence: {{ inst.licence.status }}{% if inst.licence.note %} &ndash; {{ inst.licence.note }}{% endif %}{% if not inst.licence.text_shipped %} Item labels are paraphrases, not the item wording.{% endif %}</div>{% endif %}
  {% if inst.key %}<div>Scoring key: {% if inst.key.private %}<span class="unverified">private ({{ inst.key.private|join(", ") }}): not independently verified</span>{% elif inst.key.verified %}verified{% else %}<span class="unverified">not verified</span>{% endif %} (source: {{ inst.key.source }}{% if inst.key.checked_against %}; checked against: {{ inst.key.checked_against|join("; ") }}{% endif %}).</div>
  {% if inst.key.uncertain %}<ul class="warn">{% for u in inst.key.uncertain %}<li>{{ u }}</li>{% endfor %}</ul>{% endif %}{% endif %}
</div>
{% for s in inst.scores %}
<section class="score" id="{{ s.anchor }}">
<h3>{{ s.label }} <span class="name">{{ s.name }}</span></h3>
<p class="apa" data-score="{{ s.name }}">{{ s.apa }}</p>
<p class="small">{{ s.n_text }}{% if s.published %} Published alpha: {{ s.published }}.{% endif %}</p>
{% if s.further %}<p class="small">Also: {{ s.further }}.</p>{% endif %}
{% if s.warnings %}<ul class="warn">{% for w in s.warnings %}<li>Warning: {{ w }}</li>{% endfor %}</ul>{% endif %}
{% set table_no.n = table_no.n + 1 %}
<p class="table-number">Table {{ table_no.n }}</p>
<p class="table-title">Item Statistics: {{ s.label }}</p>
<table class="items" data-score="{{ s.name }}">
<thead><tr><th>Item</th><th>Label</th><th class="num">n</th><th class="num">Mean</th><th class="num">SD</th>
<th class="num">% missing</th><th class="num">Floor %</th><th class="num">Ceiling %</th>
<th class="num">r.drop</th><th class="num">r.cor</th><th class="num">&alpha; if deleted</th><th>Flag</th></tr></thead>
<tbody>
{% for it in s.item_rows %}
<tr data-item="{{ it.id }}"{% if it.flags %} class="flagged"{% endif %}>
  <td class="mono">{{ it.id }}{% if it.reverse %}<span class="rev" title="reverse-keyed">R</span>{% endif %}</td>
  <td>{{ it.label }}</td>
  <td class="num">{{ it.n }}</td><td class="num">{{ it.mean }}</td><td class="num">{{ it.sd }}</td>
  <td class="num">{{ it.missing }}</td><td class="num">{{ it.floor }}</td><td class="num">{{ it.ceiling }}</td>
  <td class="num{% if it.flags %} flag{% elif it.r_drop_low %} low{% endif %}" data-stat="r_drop"{% if it.r_drop_value %} data-value="{{ it.r_drop_value }}"{% endif %}>{{ it.r_drop }}</td>
  <td class="num">{{ it.r_cor }}</td>
  <td class="num{% if it.aid_rises %} rise{% endif %}"{% if it.aid_rises %} title="alpha would rise without this item"{% endif %}>{{ it.aid }}</td>
  <td class="flag">{% for f in it.flags %}&#9888; {{ f }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td>
</tr>
{% endfor %}
</tbody>
</table>
{% if s.plot %}
<figure>
<img src="{{ s.plot }}" alt="{{ s.plot_alt }}">
<figcaption>{{ s.name }}: keyed responses per item as % of all {{ s.n_rows }} rows (hatched: missing){% if s.reversed_any %}; codes are keyed scores{% if s.anchors %} (answers: {{ s.anchors }}){% endif %}, and items marked (R) are shown after reverse keying, so for them the codes stand for the opposite answers{% endif %}.
Right: item-rest correlation, dashed lines at 0 and .30{% if s.flagged %}; flagged in red: {{ s.flagged|join(", ") }}{% endif %}.</figcaption>
</figure>
{% endif %}
</section>
{% endfor %}
{% endfor %}
<p class="small">Generated by psyscore {{ version }} from {{ input_name }} on {{ generated }}.
This report needs no network connection: styles and figures are embedded.</p>
</body>
</html>
"""
