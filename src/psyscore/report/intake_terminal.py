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
    return (
        f"95% CI {compact(n.ci95[0])}-{compact(n.ci95[1])} "
        f"(SEM {compact(n.sem, 3)} from alpha {apa(n.alpha)}"
    ) + ")"


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
    t = number(sc.norm.t, 1)
    if sc.norm.t_ci95:
        t += f" ({number(sc.norm.t_ci95[0], 1)}-{number(sc.norm.t_ci95[1], 1)})"
    return t, number(sc.norm.percentile, 1)


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
            bands = "; ".join(v for v in sc.bands.values() if v) or ""
            if sc.range is not None and sc.bands and not next(iter(sc.range.settled.values())):
                bands = "not determined"
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
            if sc.norm is not None and sc.norm.ci95:
                console.print(
                    f"  {escape(sc.name)}: {escape(ci_note(sc))}; norms: "
                    f"{escape(sc.norm.group)} (percentile from the normal approximation)"
                )
            if sc.change is not None:
                console.print(
                    f"  change since {escape(str(sc.change.previous_date))}: "
                    f"{escape(sc.change.text)}"
                )
                console.print(f"    criterion: {escape(sc.change.criterion)}")
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
    if result.alerts:
        console.print()
        console.print(
            f"[bold white on red] {len(result.alerts)} critical alert(s): see the top of this report [/]"
        )
