"""The intake report in the terminal: alerts first and unmissable, then scores, then sources."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ..intake import Alert, IntakeResult, ScoreResult, instrument_change_notes
from .formatting import apa, compact, number, signed


def alert_text(alert: Alert) -> str:
    if alert.kind == "unanswered":
        return f"{alert.instrument.upper()} {alert.item}: {alert.message}"
    code = compact(alert.code, 3) if alert.code is not None else "?"
    anchor = f" = {alert.anchor}" if alert.anchor else ""
    return (
        f"{alert.instrument.upper()} {alert.item} ({alert.label}): answer {code}{anchor}. "
        f"{alert.message}"
    )


def ci_note(sc: ScoreResult) -> str:
    """'95% CI 9.72-14.28 (SEM 1.161 from alpha .89)' of a score with norms and a published alpha."""
    n = sc.norm
    cut = ", truncated to the score's range" if n.ci_truncated else ""
    return (
        f"95% CI {compact(n.ci95[0])}-{compact(n.ci95[1])} "
        f"(SEM {compact(n.sem, 3)} from alpha {apa(n.alpha)}{cut}"
    ) + ")"


def band_text(sc: ScoreResult) -> str:
    """Each band set's label, or 'not determined' for a set the missing items leave open."""
    shown = []
    for name, label in sc.bands.items():
        if sc.range is not None and not sc.range.settled.get(name, True):
            shown.append("not determined")
        elif label:
            shown.append(label)
    return "; ".join(shown)


def norm_lines(sc: ScoreResult) -> list[str]:
    """What the reader must know about a score's standard scores (group, method, limits)."""
    n = sc.norm
    if n is None:
        note = sc.reliability_note or ""
        return [f"{sc.name}: {note}"] if note.startswith("no standard score") else []
    lines = [f"{sc.name}: norms: {n.group} ({n.chosen_by}); {n.percentile_note}"]
    if n.ci95:
        lines.append(f"{sc.name}: {ci_note(sc)}")
    if n.note:
        lines.append(f"{sc.name}: {n.note}")
    return lines


def trajectory_text(sc: ScoreResult) -> str:
    """'20 (2026-01-05) -> 12 (2026-02-02) -> 11 (2026-03-02)'."""
    return " -> ".join(
        f"{compact(v['value'], 2)} ({v['date'] or 'undated'})" for v in sc.trajectory
    )


def change_lines(sc: ScoreResult) -> list[str]:
    lines = []
    if len(sc.trajectory) > 2:
        lines.append(f"trajectory: {trajectory_text(sc)}")
    for c in (sc.change_from_first, sc.change):
        if c is not None:
            lines.append(f"change since {c.previous_date or 'the earlier visit'}: {c.text}")
    if sc.change is not None:
        lines.append(f"criterion: {sc.change.criterion}")
    return lines


def provenance_text(result: IntakeResult) -> str:
    prov = result.provenance()
    defs = ", ".join(f"{d['id']} v{d['version']} sha256:{d['sha256']}" for d in prov["definitions"])
    opts = prov["options"]
    who = ", ".join(f"{k}: {opts[k]}" for k in ("sex", "age") if opts.get(k) is not None)
    return f"psyscore {prov['psyscore_version']}; definitions {defs}" + (
        f"; client {who}" if who else "; sex and age not given"
    )


def print_alerts(console: Console, result: IntakeResult) -> None:
    for alert in result.alerts:
        title = "CRITICAL ALERT" if alert.kind == "endorsed" else "CRITICAL ITEM NOT ANSWERED"
        console.print(
            Panel(
                f"[bold]{escape(alert_text(alert))}[/]",
                title=f"[bold white on red] {title} [/]",
                border_style="bold red",
                expand=True,
            )
        )


def direction(sc: ScoreResult) -> tuple[str, str]:
    """(arrow, word) of the change since the last visit: up or down, better or worse.

    Better and worse come from the definition (`better`: which scores are better); where it
    does not say, the arrow shows only up or down. No earlier score: ("", "").
    """
    change = sc.change
    if change is None:
        return "", ""
    if change.difference == 0:
        return "\u2192", "no change"
    arrow = "\u2191" if change.difference > 0 else "\u2193"
    if sc.better is None:
        return arrow, "direction not declared"
    worse = (change.difference > 0) == (sc.better == "lower")
    word = "worse" if worse else "better"
    # the direction of a change within measurement error is not news: said, never emphasised
    return arrow, word if change.reliable else f"{word} (not reliable)"


def change_summary(sc: ScoreResult) -> str:
    """'+3 since 2026-01-05: reliable deterioration', or why there is no change."""
    change = sc.change
    if change is None:
        note = sc.change_note or ""
        return "not compared" if note.startswith("not compared") else ""
    since = f" since {change.previous_date}" if change.previous_date else ""
    return f"{signed(change.difference, 2)}{since}: {change.category}"


def summary_rows(result: IntakeResult, screens: bool) -> list[dict[str, str]]:
    """One row per score of the clinical screens (or of the research scales), for the summary."""
    rows = []
    for inst in result.instruments:
        if inst.is_clinical_screen != screens:
            continue
        for sc in inst.scores:
            arrow, word = direction(sc)
            t, pct = _norm_text(sc)
            value = sc.display
            if sc.value is not None and sc.n < sc.k:
                value += f" ({sc.n} of {sc.k} answered)"
            rows.append(
                {
                    "instrument": inst.short,
                    "score": sc.label
                    if sc.label.upper().startswith(inst.short)
                    else f"{inst.short} {sc.label}",
                    "value": value,
                    "band": band_text(sc),
                    "change": change_summary(sc),
                    "arrow": arrow,
                    "direction": word,
                    "t": t,
                    "percentile": pct if sc.norm else "",
                }
            )
    return rows


def item_rows(inst) -> list[tuple[str, str, str, str]]:
    """(number, item id, answer code, anchor) for the item-level table of an instrument."""
    rows = []
    for position, (item, given) in enumerate(inst.answered.items(), start=1):
        if given.get("code") is None:
            rows.append((str(position), item, "-", f"({given.get('missing', 'missing')})"))
        else:
            rows.append((str(position), item, compact(given["code"], 3), given.get("anchor") or ""))
    return rows


def _norm_text(sc: ScoreResult) -> tuple[str, str]:
    if sc.norm is None:
        return "", ""
    n = sc.norm
    t = f"beyond norm ({n.beyond})" if n.t is None else number(n.t, 1)
    if n.t_ci95:
        t += f" ({number(n.t_ci95[0], 1)}-{number(n.t_ci95[1], 1)})"
    return t, "-" if n.percentile is None else number(n.percentile, 1)


def _summary_tables(console: Console, result: IntakeResult) -> None:
    screens = summary_rows(result, screens=True)
    if screens:
        table = Table(title="Clinical screens", title_justify="left", header_style="bold")
        for col in ("screen", "score", "value", "band", "change", ""):
            table.add_column(col, justify="right" if col == "value" else "left", overflow="fold")
        for row in screens:
            table.add_row(
                escape(row["instrument"]),
                escape(row["score"]),
                row["value"],
                escape(row["band"]),
                escape(row["change"]),
                escape(f"{row['arrow']} {row['direction']}".strip()),
            )
        console.print(table)
    research = summary_rows(result, screens=False)
    if research:
        table = Table(title="Research scales", title_justify="left", header_style="bold")
        for col in ("scale", "score", "value", "band", "T", "percentile"):
            table.add_column(
                col,
                justify="right" if col in ("value", "T", "percentile") else "left",
                overflow="fold",
            )
        for row in research:
            table.add_row(
                escape(row["instrument"]),
                escape(row["score"]),
                row["value"],
                escape(row["band"]),
                row["t"],
                row["percentile"],
            )
        console.print(table)


def _item_table(console: Console, inst) -> None:
    table = Table(title=f"{inst.short} answers", title_justify="left", header_style="bold")
    for col in ("#", "item", "answer", "anchor"):
        table.add_column(col, justify="right" if col in ("#", "answer") else "left")
    for row in item_rows(inst):
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)


def render(console: Console, result: IntakeResult) -> None:
    """Alerts, the summary (clinical screens, then research scales), details, alerts again."""
    print_alerts(console, result)
    head = "Intake summary"
    if result.client_id:
        head += f" - client {result.client_id}"
    if result.date:
        head += f" - {result.date}"
    console.print(f"[bold]{escape(head)}[/]")
    console.print(f"[bold yellow]{escape(result.note)}[/]")
    _summary_tables(console, result)
    console.print()
    console.print("[bold]Details[/]")
    for inst in result.instruments:
        console.print()
        console.print(f"[bold]{escape(inst.name)}[/] ({escape(inst.id)})")
        for w in inst.warnings:
            console.print(f"[yellow]warning:[/] {escape(w)}")
        table = Table(show_header=True, header_style="bold")
        for col in ("score", "value", "status", "answered", "band", "T (95% CI)", "percentile"):
            table.add_column(
                col,
                justify="left" if col in ("score", "status", "band") else "right",
                overflow="fold",
            )
        for sc in inst.scores:
            bands = band_text(sc)
            t, pct = _norm_text(sc)
            table.add_row(
                escape(sc.name),
                sc.display,
                escape(sc.status),
                f"{sc.n} of {sc.k}",
                escape(bands),
                t,
                pct,
            )
        console.print(table)
        for sc in inst.scores:
            if sc.range is not None:
                console.print(f"  [bold]{escape(sc.range.text)}[/]")
            for line in norm_lines(sc):
                console.print(f"  {escape(line)}")
            for line in change_lines(sc):
                console.print(f"  {escape(line)}")
        for note in instrument_change_notes(inst):
            console.print(f"  [yellow]change:[/] {escape(note)}")
        for p in inst.problems:
            console.print(
                f"  [red]problem:[/] {escape(p.get('message', ''))} ({escape(p.get('hint', ''))})"
            )
        _item_table(console, inst)
        lic = inst.licence
        console.print(
            f"  [dim]{escape(inst.citation)}"
            + (f" doi:{escape(inst.doi)}" if inst.doi else "")
            + f" Licence: {escape(lic['status'])}"
            + (f" - {escape(lic['note'])}" if lic.get("note") else "")
            + "[/]",
            soft_wrap=True,
        )
    console.print()
    console.print(f"[dim]{escape(provenance_text(result))}[/]", soft_wrap=True)
    if result.alerts:
        # again at the end: the top of a long report has scrolled off the screen by now
        console.print()
        print_alerts(console, result)
