"""The intake report in the terminal: alerts first and unmissable, then scores, then sources."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ..intake import Alert, IntakeResult, ScoreResult, instrument_change_notes
from .formatting import apa, compact, number


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


def _norm_text(sc: ScoreResult) -> tuple[str, str]:
    if sc.norm is None:
        return "", ""
    n = sc.norm
    t = f"beyond norm ({n.beyond})" if n.t is None else number(n.t, 1)
    if n.t_ci95:
        t += f" ({number(n.t_ci95[0], 1)}-{number(n.t_ci95[1], 1)})"
    return t, "-" if n.percentile is None else number(n.percentile, 1)


def render(console: Console, result: IntakeResult) -> None:
    print_alerts(console, result)
    head = "Intake report"
    if result.client_id:
        head += f" - client {result.client_id}"
    if result.date:
        head += f" - {result.date}"
    console.print(f"[bold]{escape(head)}[/]")
    console.print(f"[bold yellow]{escape(result.note)}[/]")
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
        console.print()
        console.print(
            f"[bold white on red] {len(result.alerts)} critical alert(s): see the top of this report [/]"
        )
