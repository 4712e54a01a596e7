"""A readable scoring sheet (Markdown) generated from a definition.

Used by `psyscore instruments show` (rendered in the terminal) and by `psyscore instruments docs`
(one page per instrument), so the documentation cannot drift from the YAML.
"""

from __future__ import annotations

from ..columns import output_columns
from ..instrument import Bundle, Instrument, MissingRule


def _fmt(x: float) -> str:
    return f"{x:g}"


def _rule_text(inst: Instrument, name: str) -> str:
    spec = inst.scores[name]
    if spec.items is None:
        return f"needs every component score ({', '.join(spec.scores or [])})"
    k = len(spec.items)
    needed = spec.missing.needed(k)
    if spec.missing == MissingRule():
        text = (
            "every item must be answered (default: no missing rule declared; a published rule "
            "that allows gaps needs e.g. `missing: {min_answered: 1}`)"
        )
    elif needed == k:
        text = "all items required"
    else:
        text = f"at least {needed} of {k} items answered"
    if needed < k:
        text += (
            "; the mean of answered items is used"
            if spec.method == "mean"
            else ("; the sum is prorated (mean of answered items x number of items)")
        )
    if spec.missing.source:
        text += f" ({spec.missing.source})"
    return text


def scoresheet_markdown(inst: Instrument) -> str:
    lines = [f"# {inst.name} (`{inst.id}`)", ""]
    status = "verified" if inst.key.verified else "**NOT VERIFIED**"
    if inst.private_provenance:
        status += " (private: **not independently verified**)"
    lines += [
        f"- **Construct:** {inst.construct.replace('_', ' ')}",
        f"- **Citation:** {inst.citation.strip()}" + (f" doi:{inst.doi}" if inst.doi else ""),
        f"- **Licence:** {inst.licence.status}"
        + (f". {inst.licence.note.strip()}" if inst.licence.note else "")
        + (
            ""
            if inst.licence.item_text_shipped
            else " Item wording is not shipped; labels are paraphrases."
        ),
        f"- **Scoring key:** {status}. Source: {inst.key.source.strip()}",
    ]
    if inst.private_provenance:
        lines.append(
            f"- **Private definition:** {', '.join(inst.private_provenance)} given as private "
            "(a lab's own scale); nobody outside can check its key"
        )
    for src in inst.key.checked_against:
        lines.append(f"  - checked against: {src}")
    for u in inst.key.uncertain:
        lines.append(f"  - uncertain: {u}")
    if inst.key.item_order_source:
        lines.append(f"- **Item order:** {inst.key.item_order_source}")
    if inst.timeframe:
        lines.append(f"- **Timeframe:** {inst.timeframe}")
    lines += ["", "## Response scales", ""]
    for name, scale in inst.response_scales.items():
        anchors = "; ".join(f"{_fmt(float(c))} = {lab}" for c, lab in scale.values.items())
        lines.append(f"- `{name}`: {anchors}")
        if scale.aliases:
            lines.append(
                "  - also accepted: " + "; ".join(f"{a} = {c}" for a, c in scale.aliases.items())
            )
    missing = {**inst.missing_codes}
    for scale in inst.response_scales.values():
        missing.update(scale.missing)
    if missing:
        lines.append(
            "- declared missing codes: " + "; ".join(f"{c} = {r}" for c, r in missing.items())
        )
    lines += [
        "",
        "## Items",
        "",
        "| # | id | label | scale | reverse | critical |",
        "|---|---|---|---|---|---|",
    ]
    for n, item in enumerate(inst.items, start=1):
        crit = f"{item.critical.when}: {item.critical.message}" if item.critical else ""
        lines.append(
            f"| {n} | `{item.id}` | {item.label} | {item.scale} | {_reverse_cell(inst, item)} | {crit} |"
        )
    lines += ["", "## Scores", ""]
    for name, spec in inst.scores.items():
        lo, hi = inst.score_range(name)
        members = ", ".join(spec.items or spec.scores or [])
        lines += [
            f"### {spec.label} (`{inst.output_prefix}_{name}`)",
            "",
            f"- {spec.method.replace('_', ' ')} of {members}; range {_fmt(lo)}-{_fmt(hi)}"
            + (f"; rounded to {spec.rounding} decimals" if spec.rounding is not None else ""),
            f"- missing items: {_rule_text(inst, name)}",
        ]
        if spec.reverse is not None:  # the score's own keys (psych's -A1)
            own = ", ".join(spec.reverse) or "none"
            lines.append(f"- reverse-keyed in this score: {own} (the score's own `reverse` list)")
        if spec.higher_means:
            lines.append(f"- higher scores mean {spec.higher_means}")
        for band_set in spec.bands:
            parts, lower = [], lo
            for b in band_set.bands:
                parts.append(f"{_fmt(lower)}-{_fmt(b.upto)} {b.label}")
                lower = b.upto + (1 if spec.method != "mean" and float(b.upto).is_integer() else 0)
            src = f" ({band_set.source})" if band_set.source else ""
            lines.append(f"- bands `{band_set.name}`{src}: " + "; ".join(parts))
        for g in spec.norms:
            n = f", n = {g.n}" if g.n else ""
            lines.append(
                f"- norms: {g.group}: mean {_fmt(g.mean)}, SD {_fmt(g.sd)}{n} ({g.source})"
            )
        if spec.published_reliability:
            r = spec.published_reliability
            vals = ", ".join(
                f"{k} = {v:.2f}"
                for k, v in (("alpha", r.alpha), ("retest", r.retest))
                if v is not None
            )
            lines.append(f"- published reliability: {vals} ({r.source})")
        lines.append("")
    lines += ["## Output columns", "", "| column | label | level |", "|---|---|---|"]
    for col, info in output_columns(inst).items():
        lines.append(f"| `{col}` | {info.label} | {info.measure} |")
    if inst.notes:
        lines += ["", "## Notes", "", inst.notes.strip()]
    return "\n".join(lines) + "\n"


def _reverse_cell(inst: Instrument, item) -> str:
    """'yes' for an item reversed wherever it is scored; the scores when they differ."""
    scores = [name for name, spec in inst.scores.items() if item.id in (spec.items or [])]
    reversing = [name for name in scores if inst.scores[name].is_reversed(item)]
    if not reversing:
        return ""
    if len(reversing) == len(scores):
        return "yes"
    return "in " + ", ".join(reversing) + " only"


def bundle_markdown(bundle: Bundle) -> str:
    lines = [
        f"# {bundle.name} (`{bundle.id}`, bundle)",
        "",
        "Scores these instruments together:",
        "",
    ]
    lines += [f"- `{i}`" for i in bundle.instruments]
    if bundle.notes:
        lines += ["", bundle.notes.strip()]
    return "\n".join(lines) + "\n"
