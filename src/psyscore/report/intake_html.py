"""A standalone, print-friendly HTML intake report (inline CSS, no network resources).

The same page is the --html file and, printed by headless Chromium, the --pdf file. Print layout:
A4 or Letter (`page_size`, else the printer's paper), alerts and table rows never split across
pages, table headers repeated, and client, date and "page N of M" in every page's footer.

jinja2 is imported only when a report is rendered, so `psyscore intake` without --html stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..intake import InstrumentResult, IntakeResult, instrument_change_notes
from .formatting import apa, compact, number
from .intake_terminal import (
    alert_text,
    band_text,
    item_rows,
    provenance_text,
    summary_rows,
    trajectory_text,
)

if TYPE_CHECKING:
    from markupsafe import Markup

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Intake report{% if r.client_id %} - {{ r.client_id }}{% endif %}</title>
<style>
  /* Printing: A4 (210 x 297 mm) and Letter (216 x 279 mm) both leave at least 182 x 249 mm inside
     these margins; the layout needs no more. Every page carries the client, date and page number,
     so a loose sheet is never anonymous. */
  @page {
    size: {{ page_size }};
    margin: {% if running_alert %}24mm{% else %}14mm{% endif %} 14mm 16mm;
    {% if running_alert %}/* the alerts on every printed page, so no sheet of the report hides them */
    @top-left { content: {{ running_alert|css_string }}; font: bold 8.5pt system-ui, Arial,
                sans-serif; color: #b00000; border-bottom: 2px solid #b00000;
                vertical-align: bottom; padding-bottom: 1.5mm; }
    {% endif %}@bottom-left { content: {{ footer|css_string }}; font: 8pt system-ui, Arial, sans-serif;
                   color: #444; }
    @bottom-right { content: "page " counter(page) " of " counter(pages);
                    font: 8pt system-ui, Arial, sans-serif; color: #444; }
  }
  body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; color: #111;
         max-width: 190mm; margin: 1.5em auto; padding: 0 1em; line-height: 1.35; font-size: 11pt; }
  h1 { font-size: 16pt; margin: 0 0 .2em; }
  h2 { font-size: 13pt; margin: 1.2em 0 .3em; border-bottom: 1px solid #999; }
  .meta { color: #333; margin-bottom: .6em; }
  .disclaimer { font-weight: bold; border: 1px solid #555; padding: .4em .6em; background: #fff8dc; }
  .alert { border: 3px solid #b00000; background: #ffecec; padding: .5em .7em; margin: .5em 0;
           font-weight: bold; }
  .alert .tag { display: inline-block; background: #b00000; color: #fff; padding: 0 .4em;
                margin-right: .5em; letter-spacing: .05em; border: 2px solid #b00000; }
  table { border-collapse: collapse; width: 100%; margin: .3em 0; }
  thead { display: table-header-group; }
  th, td { border: 1px solid #aaa; padding: .2em .4em; text-align: left; vertical-align: top; }
  th { background: #eee; white-space: nowrap; }
  th:first-child { width: 32%; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  .undetermined { font-weight: bold; color: #8a4b00; }
  .warn { color: #8a4b00; }
  .small { font-size: 9pt; color: #333; }
  ul.notes { margin: .3em 0; padding-left: 1.4em; }
  .alert, .disclaimer, .head, tr, li, .small { break-inside: avoid; page-break-inside: avoid; }
  h1, h2 { break-after: avoid; page-break-after: avoid; }
  table.summary th:first-child { width: auto; }
  .arrow { white-space: nowrap; }
  .worse { color: #b00000; font-weight: bold; }
  .better { color: #1b5e20; font-weight: bold; }
  table.items { width: auto; min-width: 60%; }
  table.items th:first-child { width: auto; }
  h2.details { margin-top: 2em; }
  @media print {
    /* the summary is page 1; details start on a page of their own */
    h2.details { break-before: page; page-break-before: always; margin-top: 0; }
    .worse, .better { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
    body { margin: 0; padding: 0; max-width: none; font-size: 10pt; }
    h2 { margin-top: 1em; }
    /* the alert must survive "background graphics" being off: border and text carry it alone */
    .alert, .alert .tag, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
    .alert { border-width: 4px; }
    .alert .tag { background: #fff; color: #b00000; }
    .disclaimer { background: none; }
    a { color: inherit; text-decoration: none; }
  }
</style>
</head>
<body>
<h1>Intake summary</h1>
<div class="meta">
  {% if r.client_id %}Client: <strong>{{ r.client_id }}</strong> &middot; {% endif %}
  {% if r.date %}Date: <strong>{{ r.date }}</strong>{% endif %}
  {% if r.previous_dates|length > 1 %} &middot; compared with {{ r.previous_dates|map("string")|join(", ") }}{% elif r.previous_date %} &middot; compared with {{ r.previous_date }}{% endif %}
</div>
{% for a in alerts %}
<div class="alert" role="alert"><span class="tag">{{ a.tag }}</span>{{ a.text }}</div>
{% endfor %}
<p class="disclaimer">{{ r.note }}</p>
{% if screens %}
<h2>Clinical screens</h2>
<table class="summary">
<thead><tr><th>Screen</th><th>Score</th><th>Band</th>{% if compared %}<th>Change</th><th>Direction</th>{% endif %}</tr></thead>
<tbody>
{% for row in screens %}
<tr>
  <td>{{ row.score }}</td>
  <td class="num">{{ row.value }}</td>
  <td>{{ row.band }}</td>
  {% if compared %}<td>{{ row.change }}</td>
  <td class="arrow{% if row.direction in ("worse", "better") %} {{ row.direction }}{% endif %}">{{ row.arrow }} {{ row.direction }}</td>{% endif %}
</tr>
{% endfor %}
</tbody>
</table>
{% endif %}
{% if research %}
<h2>Research scales</h2>
<table class="summary">
<thead><tr><th>Scale</th><th>Score</th><th>Band</th><th>T</th><th>Percentile</th></tr></thead>
<tbody>
{% for row in research %}
<tr>
  <td>{{ row.score }}</td>
  <td class="num">{{ row.value }}</td>
  <td>{{ row.band }}</td>
  <td class="num">{{ row.t }}</td>
  <td class="num">{{ row.percentile }}</td>
</tr>
{% endfor %}
</tbody>
</table>
{% endif %}
<h2 class="details">Details</h2>
{% for inst in r.instruments %}
<section>
<div class="head">
<h2>{{ inst.name }} ({{ inst.id }})</h2>
{% if inst.timeframe %}<p class="small">Time frame: {{ inst.timeframe }}</p>{% endif %}
{% for w in inst.warnings %}<p class="warn">Warning: {{ w }}</p>{% endfor %}
<table>
<thead><tr><th>Score</th><th>Value</th><th>Status</th><th>Answered</th><th>Band</th>
<th>T (95% CI)</th><th>Percentile</th></tr></thead>
<tbody>
{% for s in inst.scores %}
<tr>
  <td>{{ s.label }}</td>
  <td class="num">{{ s.display }}</td>
  <td>{{ s.status }}</td>
  <td class="num">{{ s.n }} of {{ s.k }}</td>
  <td>{% set b = band_text(s) %}{% if "not determined" in b %}<span class="undetermined">{{ b }}</span>{% else %}{{ b }}{% endif %}</td>
  <td class="num">{% if s.norm %}{% if s.norm.t is none %}beyond norm ({{ s.norm.beyond }}){% else %}{{ s.norm.t|num(1) }}{% endif %}{% if s.norm.t_ci95 %} ({{ s.norm.t_ci95[0]|num(1) }}-{{ s.norm.t_ci95[1]|num(1) }}){% endif %}{% endif %}</td>
  <td class="num">{% if s.norm %}{% if s.norm.percentile is none %}&ndash;{% else %}{{ s.norm.percentile|num(1) }}{% endif %}{% endif %}</td>
</tr>
{% endfor %}
</tbody>
</table>
</div>
{% set notes = notes_of(inst) %}
{% if notes %}
<ul class="notes">
{% for kind, text in notes %}  <li{% if kind %} class="{{ kind }}"{% endif %}>{{ text }}</li>
{% endfor %}
</ul>
{% endif %}
<table class="items">
<thead><tr><th>#</th><th>Item</th><th>Answer</th><th>Anchor</th></tr></thead>
<tbody>
{% for n, item, code, anchor in item_rows(inst) %}<tr><td class="num">{{ n }}</td><td>{{ item }}</td><td class="num">{{ code }}</td><td>{{ anchor }}</td></tr>
{% endfor %}
</tbody>
</table>
<p class="small">{{ inst.citation }}{% if inst.doi %} doi:{{ inst.doi }}{% endif %}<br>
Licence: {{ inst.licence.status }}{% if inst.licence.note %} &ndash; {{ inst.licence.note }}{% endif %}<br>
Key {% if inst.verified %}verified{% else %}<strong>not verified</strong>{% endif %}. Item labels are paraphrases, not the item wording.</p>
</section>
{% endfor %}
<p class="small">Generated by {{ provenance }}. Options: {{ options }}. {{ r.note }}</p>
</body>
</html>
"""


def css_string(text: str) -> Markup:
    """`text` as a quoted CSS string; everything but letters, digits and spaces hex-escaped.

    HTML escaping does not apply inside <style>, so this alone keeps `</style>` or a quote in a
    client id from ending the string or the style sheet. Each escape ends with the one space CSS
    consumes as its terminator, so the real spaces after it survive.
    """
    escaped = "".join(
        ch if ch.isalnum() and ch.isascii() or ch == " " else f"\\{ord(ch):x} " for ch in text
    )
    from markupsafe import Markup  # safe: nothing but letters, digits, spaces and escapes

    return Markup(f'"{escaped}"')


def notes_of(inst: InstrumentResult) -> list[tuple[str, str]]:
    """The bullet notes under an instrument's table as (css class, text): ranges, CIs, change."""
    notes: list[tuple[str, str]] = []
    for s in inst.scores:
        if s.range is not None:
            notes.append(("undetermined", s.range.text))
        n = s.norm
        if n is not None:
            notes.append(
                (
                    "",
                    f"{s.name}: norms: {n.group} ({n.source}; {n.chosen_by}); {n.percentile_note}.",
                )
            )
            if n.ci95:
                cut = ", truncated to the score's range" if n.ci_truncated else ""
                notes.append(
                    (
                        "",
                        f"{s.name}: 95% CI {compact(n.ci95[0])}-{compact(n.ci95[1])} (SEM "
                        f"{compact(n.sem, 3)} from published alpha {apa(n.alpha)}, "
                        f"{n.alpha_source}{cut}).",
                    )
                )
            if n.note:
                notes.append(("warn", f"{s.name}: {n.note}."))
        elif (s.reliability_note or "").startswith("no standard score"):
            notes.append(("warn", f"{s.name}: {s.reliability_note}."))
        if len(s.trajectory) > 2:
            notes.append(("", f"{s.name} trajectory: {trajectory_text(s)}."))
        for c in (s.change_from_first, s.change):
            if c is not None:
                notes.append(("", f"Change since {c.previous_date}: {c.text}."))
        if s.change is not None:
            notes.append(("small", f"Criterion: {s.change.criterion}."))
    notes.extend(("warn", f"Change: {note}.") for note in instrument_change_notes(inst))
    notes.extend(("warn", f"Problem: {p['message']} ({p['hint']})") for p in inst.problems)
    return notes


def running_alert_text(result: IntakeResult) -> str:
    """The alerts in one line for the head of every printed page ('' without alerts)."""
    if not result.alerts:
        return ""
    parts = []
    for a in result.alerts:
        if a.kind == "endorsed":
            parts.append(f"CRITICAL ALERT: {a.instrument.upper()} {a.item} ({a.label})")
        else:
            parts.append(f"CRITICAL ITEM NOT ANSWERED: {a.instrument.upper()} {a.item}")
    return " | ".join(parts) + " - see page 1"


def footer_text(result: IntakeResult) -> str:
    parts = ["Intake report"]
    if result.client_id:
        parts.append(f"client {result.client_id}")
    if result.date:
        parts.append(str(result.date))
    return " - ".join(parts) + " - screening result, not a diagnosis"


def render_html(result: IntakeResult, page_size: str | None = None) -> str:
    """The report page. `page_size` is the CSS @page size ("A4", "letter"); None: the printer's."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["css_string"] = css_string
    env.filters["num"] = number
    alerts = [
        {
            "tag": "CRITICAL ALERT" if a.kind == "endorsed" else "CRITICAL ITEM NOT ANSWERED",
            "text": alert_text(a),
        }
        for a in result.alerts
    ]
    return env.from_string(TEMPLATE).render(
        r=result,
        alerts=alerts,
        running_alert=running_alert_text(result),
        screens=summary_rows(result, screens=True),
        research=summary_rows(result, screens=False),
        item_rows=item_rows,
        compared=bool(result.previous_dates or result.previous_date),
        page_size=page_size or "auto",
        footer=footer_text(result),
        notes_of=notes_of,
        band_text=band_text,
        provenance=provenance_text(result),
        options="; ".join(
            f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in result.options.items()
            if v not in (None, [])
        )
        or "none",
    )


def write_html(result: IntakeResult, path: Path, page_size: str | None = None) -> None:
    from ..io import atomic_write

    text = render_html(result, page_size)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
