"""APA 7 tables of a reliability run, for a paper: Word (.docx), Markdown (.md) or LaTeX (.tex).

Layout (APA 7, section 7.8): the table number in bold ("Table 1"), the title in italic title
case on the next line, horizontal rules only (above and below the header, below the body), and
a "Note." in italic followed by the missing-data policy, what n counts and the CI method.
Table 1 has one row per score (and per group with ``--by``): k, n, M, SD, alpha [95% CI],
omega with its model, average inter-item r. Table 2 has the items: n, M, SD, corrected
item-total r and alpha if the item is deleted. Every number goes through
:mod:`psyscore.report.formatting` (``2,800``; ``.84``; the minus sign U+2212).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .formatting import apa, count, number

DASH = "\u2013"  # en dash: a value that cannot be given

__all__ = ["ApaTable", "apa_tables", "write_apa_tables", "omega_model"]


@dataclass
class ApaTable:
    """One APA table: number, title, header, body rows (text), note (after "Note.")."""

    number: int
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str

    @property
    def label(self) -> str:
        return f"Table {self.number}"


SCORE_HEADER = ["Score", "k", "n", "M", "SD", "\u03b1 [95% CI]", "\u03c9", "\u03c9 model", "Mean r"]
ITEM_HEADER = ["Score", "Item", "n", "M", "SD", "r (item-rest)", "\u03b1 if deleted"]
ITALIC_HEADERS = {"k", "n", "M", "SD"}  # statistical symbols are italic in APA style

POLICY_TEXT = {
    "pairwise": "pairwise deletion (as R psych): each statistic uses the rows where its items "
    "were answered; n counts every respondent",
    "listwise": "listwise deletion: only respondents who answered every item of the score; n "
    "counts them",
}


def omega_model(d: dict) -> tuple[float | None, str]:
    """(omega total, the model it comes from) for a score's dict: bifactor first, else 1-factor."""
    if d.get("omega_total") is not None:
        nf = d.get("omega_nfactors", 3)
        return d["omega_total"], f"bifactor ({nf} group factors)"
    if d.get("omega_total_1f") is not None:
        return d["omega_total_1f"], "one-factor"
    return None, "\u2013"


def _score_row(label: str, d: dict) -> list[str]:
    ci = d.get("alpha_ci") or [None, None]
    omega, model = omega_model(d)
    return [
        label,
        count(d.get("n_items")),
        count(d.get("n")),
        number(d.get("score_mean")),
        number(d.get("score_sd")),
        f"{apa(d.get('alpha'), missing=DASH)} [{apa(ci[0], missing=DASH)}, "
        f"{apa(ci[1], missing=DASH)}]",
        apa(omega, missing=DASH),
        model,
        apa(d.get("average_r"), missing=DASH),
    ]


def apa_tables(payload: dict) -> list[ApaTable]:
    """The two APA tables of a ``psyscore reliability`` payload (its --json)."""
    policy = payload.get("policy", "pairwise")
    score_rows, item_rows = [], []
    nfactors = payload.get("nfactors", 3)
    for inst in payload["instruments"]:
        for d in inst["scores"]:
            score_rows.append(_score_row(d["score"], d))
            for g in d.get("groups", []):
                label = "(no value)" if g["group"] is None else g["group"]
                score_rows.append(_score_row(f"\u2003{d.get('by')} = {label}", g))
            for it in d.get("items", []):
                item_rows.append(
                    [
                        d["score"],
                        str(it["item"]),
                        count(it.get("n")),
                        number(it.get("mean")),
                        number(it.get("sd")),
                        apa(it.get("r_drop"), missing=DASH),
                        apa(it.get("alpha_if_deleted"), missing=DASH),
                    ]
                )
    by = payload.get("by")
    groups = f" Rows indented under a score are the groups of {by}." if by else ""
    impute = payload.get("impute", "none")
    scored = (
        "the score as psyscore scores it (the definition's sum or mean)"
        if impute == "none"
        else f"the mean of the score's items, missing answers imputed with the item {impute} "
        "(as R psych::scoreItems); the reliability statistics use no imputed answers"
    )
    note1 = (
        f"k = number of items; n = respondents; M and SD = {scored}. "
        f"Missing data: {POLICY_TEXT.get(policy, policy)}. "
        "\u03b1 = Cronbach's alpha with the Feldt (1987) 95% confidence interval. "
        "\u03c9 = McDonald's omega total, from the model named: a bifactor model "
        f"(Schmid-Leiman, minres and oblimin, {nfactors} group factors, as R psych::omega) when "
        f"the score has at least {2 * nfactors} items, otherwise a one-factor model. Mean r = "
        f"average inter-item correlation.{groups}"
    )
    note2 = (
        "r (item-rest) = correlation of the item with the sum of the other items of its score "
        "(corrected item-total correlation); \u03b1 if deleted = Cronbach's alpha of the score "
        f"without the item. Missing data: {POLICY_TEXT.get(policy, policy)}."
    )
    tables = [
        ApaTable(1, "Reliability of the Scores", SCORE_HEADER, score_rows, note1),
        ApaTable(2, "Item Statistics", ITEM_HEADER, item_rows, note2),
    ]
    ic = payload.get("intercorrelations")
    if ic:
        tables.append(_intercorrelation_table(3, ic))
    return tables


def _intercorrelation_table(number: int, ic: dict) -> ApaTable:
    names = ic["scores"]
    header = ["Score", *(str(i + 1) for i in range(len(names)))]
    rows = [
        [f"{i + 1}. {name}", *(apa(v, missing=DASH) for v in row)]
        for i, (name, row) in enumerate(zip(names, ic["corrected"], strict=True))
    ]
    pairs = [v for i, row in enumerate(ic["n"]) for j, v in enumerate(row) if i != j]
    n_text = (
        count(min(pairs))
        if min(pairs) == max(pairs)
        else f"{count(min(pairs))} to {count(max(pairs))}"
    )
    note = (
        "Below the diagonal: Pearson correlations between the scores (pairwise-complete "
        f"respondents, n = {n_text}); on the diagonal: Cronbach's alpha; above the diagonal: "
        "correlations corrected for attenuation, r / \u221a(\u03b1_i \u03b1_j) "
        "(as R psych::scoreItems). Corrected values above 1 mean the two scores cannot be told "
        "apart at their reliabilities."
    )
    return ApaTable(number, "Intercorrelations of the Scores", header, rows, note)


def write_apa_tables(payload: dict, path: Path, kind: str | None = None) -> None:
    """Write the APA tables of `payload` to `path` as .docx, .md or .tex (from `kind` or suffix)."""
    kind = (kind or Path(path).suffix).lower()
    tables = apa_tables(payload)
    if kind == ".docx":
        _write_docx(tables, Path(path))
    elif kind == ".md":
        Path(path).write_text(to_markdown(tables), encoding="utf-8")
    elif kind == ".tex":
        Path(path).write_text(to_latex(tables), encoding="utf-8")
    else:
        raise ValueError(f"APA tables are written as .docx, .md or .tex, not {kind!r}")


# --- Markdown --------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(tables: list[ApaTable]) -> str:
    """Markdown (pipe tables): **Table N**, *Title*, the table, *Note.* text."""
    parts = []
    for t in tables:
        header = [f"*{h}*" if h in ITALIC_HEADERS else h for h in t.header]
        align = ["---" if i < (2 if t.number == 2 else 1) else "---:" for i in range(len(header))]
        lines = [f"**{t.label}**", "", f"*{t.title}*", ""]
        lines.append("| " + " | ".join(map(_md_cell, header)) + " |")
        lines.append("| " + " | ".join(align) + " |")
        lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in t.rows]
        lines += ["", f"*Note.* {t.note}", ""]
        parts.append("\n".join(lines))
    return "\n".join(parts)


# --- LaTeX -----------------------------------------------------------------------------------

_TEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\u2212": "$-$",
    "\u2013": "--",
    "\u03b1": r"$\alpha$",
    "\u03c9": r"$\omega$",
    "\u2003": r"\quad ",
    "\u221a": r"$\surd$",
}


def _tex(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in text)


def to_latex(tables: list[ApaTable]) -> str:
    """LaTeX with booktabs rules (horizontal only): needs ``\\usepackage{booktabs}``."""
    parts = ["% APA 7 tables written by psyscore; needs \\usepackage{booktabs}"]
    for t in tables:
        n_left = 2 if t.number == 2 else 1
        spec = "l" * n_left + "r" * (len(t.header) - n_left)
        header = [f"\\textit{{{_tex(h)}}}" if h in ITALIC_HEADERS else _tex(h) for h in t.header]
        lines = [
            "\\begin{table}[htbp]",
            f"\\textbf{{{t.label}}}\\\\[2pt]",
            f"\\textit{{{_tex(t.title)}}}\\\\[4pt]",
            f"\\begin{{tabular}}{{{spec}}}",
            "\\toprule",
            " & ".join(header) + " \\\\",
            "\\midrule",
            *(" & ".join(_tex(c) for c in row) + " \\\\" for row in t.rows),
            "\\bottomrule",
            "\\end{tabular}",
            "",
            f"\\textit{{Note.}} {_tex(t.note)}",
            "\\end{table}",
            "",
        ]
        parts.append("\n".join(lines))
    return "\n".join(parts)


# --- Word ------------------------------------------------------------------------------------


def _rule(cell, edges: tuple[str, ...]) -> None:
    """Give `cell` a single horizontal rule on `edges` ("top", "bottom")."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    for edge in ("top", "left", "bottom", "right"):
        el = OxmlElement(f"w:{edge}")
        if edge in edges:
            el.set(qn("w:val"), "single")
            el.set(qn("w:sz"), "6")
            el.set(qn("w:color"), "000000")
        else:
            el.set(qn("w:val"), "nil")
        borders.append(el)
    tc_pr.append(borders)


def _no_table_borders(table) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)


def _write_docx(tables: list[ApaTable], path: Path) -> None:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(12)
    for t in tables:
        doc.add_paragraph().add_run(t.label).bold = True
        doc.add_paragraph().add_run(t.title).italic = True
        table = doc.add_table(rows=1 + len(t.rows), cols=len(t.header))
        _no_table_borders(table)
        n_left = 2 if t.number == 2 else 1
        last = len(t.rows)
        for r, row in enumerate([t.header, *t.rows]):
            for c, text in enumerate(row):
                cell = table.cell(r, c)
                para = cell.paragraphs[0]
                run = para.add_run(text)
                if r == 0 and text in ITALIC_HEADERS:
                    run.italic = True
                if c >= n_left:
                    para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                edges = []
                if r == 0:
                    edges = ["top", "bottom"]
                if r == last:
                    edges.append("bottom")
                _rule(cell, tuple(edges))
        note = doc.add_paragraph()
        note.add_run("Note.").italic = True
        note.add_run(" " + t.note)
    doc.save(str(path))
