"""--by groups, scale intercorrelations, APA tables (.docx/.md/.tex), --split-half / --nfactors.

References: per-group statistics against the same analysis of the group's rows alone and
against the exact merge of the groups' moments (:class:`Moments`); intercorrelations against a
hand computation (numpy ``corrcoef`` on pairwise-complete rows, ``r / sqrt(a_i a_j)``); the
.docx table read back with python-docx.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import psyscore
from psyscore.cli import app
from psyscore.io import read_table
from psyscore.psychometrics import scale_intercorrelations

from .conftest import ROOT

SAMPLE = ROOT / "sample_data" / "intake_batch.sav"


@pytest.fixture(scope="module")
def sample():
    return read_table(SAMPLE).data


def _report(sample, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return psyscore.reliability_report(sample, psyscore.load("phq-9"), **kw)


def test_by_group_every_statistic_per_group_and_overall(sample):
    report = _report(sample, by="site", omega=False)
    result = report.results[0]
    labels = [label for label, _ in result.groups]
    assert labels == ["central", "harbour", "north"]
    counts = sample["site"].value_counts()
    for label, g in result.groups:
        assert g.summary["n"] == counts[label]
        # the group's statistics are those of its rows alone
        alone = _report(sample[sample["site"] == label].reset_index(drop=True), omega=False)
        for key in ("alpha", "alpha_std", "lambda6", "average_r", "lambda4", "beta"):
            assert g.summary[key] == pytest.approx(alone.results[0].summary[key], abs=1e-12)
    assert sum(g.summary["n"] for _, g in result.groups) == result.summary["n"]
    # moments merge: the overall is exactly the merge of the groups
    merged = result.groups[0][1].moments
    for _, g in result.groups[1:]:
        merged = merged.merge(g.moments)
    np.testing.assert_allclose(merged.cov(), result.moments.cov(), rtol=1e-12, atol=1e-14)
    summary = report.summary
    assert list(summary["level"]) == ["overall", "group", "group", "group"]
    assert list(summary["group"][1:]) == labels


def test_rows_without_a_group_are_their_own_group(sample):
    data = sample.copy()
    data.loc[:9, "site"] = None
    result = _report(data, by="site", omega=False).results[0]
    label, g = result.groups[-1]
    assert label is None and g.summary["n"] == 10
    assert sum(g.summary["n"] for _, g in result.groups) == 400


def test_by_unknown_column_is_a_usage_error():
    result = CliRunner().invoke(app, ["reliability", str(SAMPLE), "-i", "phq-9", "--by", "nope"])
    assert result.exit_code == 2
    assert "--by nope" in result.output


def test_by_in_json_and_terminal(sample):
    args = ["reliability", str(SAMPLE), "-i", "phq-9", "--by", "site", "--no-omega"]
    payload = json.loads(CliRunner().invoke(app, [*args, "--json"]).stdout)
    assert payload["by"] == "site" and payload["split_half"] == "all"
    score = payload["instruments"][0]["scores"][0]
    assert [(g["group"], g["n"]) for g in score["groups"]] == [
        ("central", 141),
        ("harbour", 102),
        ("north", 157),
    ]
    assert all("alpha" in g and "items" in g and "apa" in g for g in score["groups"])
    text = CliRunner().invoke(app, args).stdout
    assert "harbour" in text and "102" in text


def test_intercorrelations_against_hand_computation():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(200, 1))
    scores = pd.DataFrame(f + rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    scores.iloc[:20, 0] = np.nan
    alphas = {"a": 0.8, "b": 0.7, "c": 0.9}
    ic = scale_intercorrelations(scores, alphas)
    for i, x in enumerate("abc"):
        for j, y in enumerate("abc"):
            if x == y:
                assert ic.raw.loc[x, x] == 1.0 and ic.corrected.loc[x, x] == alphas[x]
                assert ic.n.loc[x, x] == scores[x].notna().sum()
                continue
            both = scores[[x, y]].dropna()
            r = np.corrcoef(both[x], both[y])[0, 1]
            assert ic.raw.loc[x, y] == pytest.approx(r, abs=1e-12)
            assert ic.n.loc[x, y] == len(both)
            if i > j:
                assert ic.corrected.loc[x, y] == pytest.approx(r, abs=1e-12)
            else:
                expected = r / np.sqrt(alphas[x] * alphas[y])
                assert ic.corrected.loc[x, y] == pytest.approx(expected, abs=1e-12)


def test_intercorrelations_in_json_use_the_score_columns(sample):
    out = CliRunner().invoke(
        app, ["reliability", str(SAMPLE), "-i", "phq-9", "-i", "gad-7", "--no-omega", "--json"]
    )
    payload = json.loads(out.stdout)
    ic = payload["intercorrelations"]
    assert ic["scores"] == ["phq9_total", "gad7_total"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = psyscore.score_table(sample, [psyscore.load("phq-9"), psyscore.load("gad-7")])
    scored = batch.table
    both = scored[["phq9_total", "gad7_total"]].dropna()
    r = np.corrcoef(both["phq9_total"], both["gad7_total"])[0, 1]
    alphas = [s["scores"][0]["alpha"] for s in payload["instruments"]]
    assert ic["corrected"][1][0] == pytest.approx(r, abs=1e-12)
    assert ic["corrected"][0][1] == pytest.approx(r / np.sqrt(alphas[0] * alphas[1]), abs=1e-12)
    assert ic["corrected"][0][0] == pytest.approx(alphas[0], abs=1e-15)


def _write_table(tmp_path, name, *extra):
    path = tmp_path / name
    result = CliRunner().invoke(
        app, ["reliability", str(SAMPLE), "-i", "phq-9", "--table", str(path), *extra]
    )
    assert result.exit_code == 1, result.output  # the sample's two typos are data problems
    return path


def test_docx_table_cells(tmp_path):
    import docx

    doc = docx.Document(str(_write_table(tmp_path, "t.docx", "--json")))
    paras = [p for p in doc.paragraphs if p.text]
    assert paras[0].text == "Table 1" and paras[0].runs[0].bold
    assert paras[1].text == "Reliability of the Scores" and paras[1].runs[0].italic
    assert paras[2].text.startswith("Note.") and paras[2].runs[0].italic
    assert "pairwise deletion" in paras[2].text and "Feldt" in paras[2].text
    scores, items = doc.tables
    header = [c.text for c in scores.rows[0].cells]
    assert header == [
        "Score",
        "k",
        "n",
        "M",
        "SD",
        "\u03b1 [95% CI]",
        "\u03c9",
        "\u03c9 model",
        "Mean r",
    ]
    row = [c.text for c in scores.rows[1].cells]
    assert row[:3] == ["phq9_total", "9", "400"]
    assert row[5] == ".91 [.89, .92]" and row[6] == ".92" and row[7].startswith("bifactor")
    assert len(items.rows) == 1 + 9
    # horizontal rules only: no vertical border is set anywhere
    xml = scores._tbl.xml
    assert 'w:left w:val="nil"' in xml and 'w:left w:val="single"' not in xml
    assert 'w:top w:val="single"' in xml and 'w:bottom w:val="single"' in xml


def test_docx_thousands_separator():
    from psyscore.report.apa_table import apa_tables

    score = {"score": "s", "n_items": 10, "n": 2800, "alpha": 0.84, "alpha_ci": [0.82, 0.86]}
    payload = {"policy": "listwise", "instruments": [{"scores": [score]}]}
    t1, _ = apa_tables(payload)
    assert t1.rows[0][2] == "2,800"
    assert "listwise" in t1.note


def test_markdown_and_latex_tables(tmp_path):
    md = _write_table(tmp_path, "t.md").read_text()
    assert md.startswith("**Table 1**\n\n*Reliability of the Scores*")
    assert "| phq9_total | 9 | 400 |" in md and "*Note.*" in md
    tex = _write_table(tmp_path, "t.tex").read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex and "|" not in tex
    assert "phq9\\_total" in tex and "\\textit{Note.}" in tex


@pytest.mark.parametrize("name", ["t.csv", "t.html"])
def test_table_wrong_suffix_is_usage_error(tmp_path, name):
    result = CliRunner().invoke(
        app, ["reliability", str(SAMPLE), "-i", "phq-9", "--table", str(tmp_path / name)]
    )
    assert result.exit_code == 2


def test_table_is_not_overwritten_without_force(tmp_path):
    path = tmp_path / "t.md"
    path.write_text("mine")
    result = CliRunner().invoke(
        app, ["reliability", str(SAMPLE), "-i", "phq-9", "--table", str(path)]
    )
    assert result.exit_code == 2 and path.read_text() == "mine"


def test_split_half_and_nfactors_options():
    base = ["reliability", str(SAMPLE), "-i", "gad-7", "--json"]
    psych = json.loads(CliRunner().invoke(app, [*base, "--split-half", "psych"]).stdout)
    s = psych["instruments"][0]["scores"][0]
    assert psych["split_half"] == "psych" and s["split_half_method"] == "psych"
    first = json.loads(CliRunner().invoke(app, [*base, "--split-half", "first-m"]).stdout)
    s = first["instruments"][0]["scores"][0]
    assert s["split_half_method"] == "first-3" and len(s["split_first_m"]["part_a"]) == 3
    bad = CliRunner().invoke(app, [*base, "--split-half", "odd"])
    assert bad.exit_code == 2
    four = json.loads(CliRunner().invoke(app, [*base, "--nfactors", "4"]).stdout)
    s = four["instruments"][0]["scores"][0]
    assert s["omega_total"] is None and "at least 8 items" in s["omega_reason"]
    assert "one-factor model" in s["apa"]


def test_html_report_uses_the_apa_table_layout(tmp_path):
    import re

    path = tmp_path / "r.html"
    CliRunner().invoke(
        app, ["reliability", str(SAMPLE), "-i", "phq-9", "-i", "gad-7", "--html", str(path)]
    )
    html = path.read_text()
    numbers = re.findall(r'<p class="table-number">(Table \d+)</p>', html)
    # summary, intercorrelations (as in the APA tables), then one item table per score
    assert numbers == ["Table 1", "Table 2", "Table 3", "Table 4"]
    assert '<p class="table-title">Reliability of the Scores</p>' in html
    style = html[html.index("<style>") : html.index("</style>")]
    rules = re.findall(r"(th, td|table) \{([^}]*)\}", style)
    assert ("th, td", "border: none") in [(k, v.split(";")[0].strip()) for k, v in rules]
    assert "border-left" not in style.split(".apa")[0]  # no vertical rule in any table
    assert '<span class="note-label">Note.</span>' in html


def test_intercorrelation_table(tmp_path):
    import docx

    path = tmp_path / "t.docx"
    CliRunner().invoke(
        app,
        ["reliability", str(SAMPLE), "-i", "phq-9", "-i", "gad-7", "--table", str(path), "--json"],
    )
    doc = docx.Document(str(path))
    assert len(doc.tables) == 3
    ic = doc.tables[2]
    assert [c.text for c in ic.rows[0].cells] == ["Score", "1", "2"]
    assert [c.text for c in ic.rows[1].cells] == ["1. phq9_total", ".91", ".72"]
    assert [c.text for c in ic.rows[2].cells] == ["2. gad7_total", ".64", ".88"]
    tex = tmp_path / "t.tex"
    CliRunner().invoke(
        app, ["reliability", str(SAMPLE), "-i", "phq-9", "-i", "gad-7", "--table", str(tex)]
    )
    text = tex.read_text()
    assert "Intercorrelations of the Scores" in text and "\\surd" in text
    assert all(ord(ch) < 128 for ch in text)  # pdflatex-safe


def test_impute_median_scores_as_psych_score_items(sample):
    """Closed form of psych::scoreItems(impute="median", totals=FALSE): row mean after filling
    each missing answer with its item's median; alpha itself is untouched."""
    base = ["reliability", str(SAMPLE), "-i", "phq-9", "--no-omega", "--json"]
    plain = json.loads(CliRunner().invoke(app, base).stdout)["instruments"][0]["scores"][0]
    med = json.loads(CliRunner().invoke(app, [*base, "--impute", "median"]).stdout)
    s = med["instruments"][0]["scores"][0]
    assert med["impute"] == "median" and "impute='median'" in s["score_method"]
    assert s["alpha"] == plain["alpha"]
    items = [f"phq9_{i}" for i in range(1, 10)]
    x = sample[items].where(sample[items].isin([0, 1, 2, 3])).astype(float)
    filled = x.fillna(x.median())
    expected = filled.mean(axis=1)[x.notna().any(axis=1)]
    assert s["score_n"] == len(expected)
    assert s["score_mean"] == pytest.approx(expected.mean(), abs=1e-12)
    assert s["score_sd"] == pytest.approx(expected.std(ddof=1), abs=1e-12)
    bad = CliRunner().invoke(app, [*base, "--impute", "zero"])
    assert bad.exit_code == 2


def test_table_note_says_when_scores_are_imputed():
    from psyscore.report.apa_table import apa_tables

    score = {"score": "s", "n_items": 4, "n": 10, "alpha": 0.8, "alpha_ci": [0.7, 0.9]}
    payload = {"policy": "pairwise", "impute": "mean", "instruments": [{"scores": [score]}]}
    assert "imputed with the item mean" in apa_tables(payload)[0].note
    payload["impute"] = "none"
    assert "as psyscore scores it" in apa_tables(payload)[0].note


def test_scale_overlap_against_hand_computation():
    """psych::scoreOverlap's documented algorithm, by hand with loops (no R)."""
    from psyscore.psychometrics import cov2cor, scale_overlap

    rng = np.random.default_rng(11)
    x = rng.normal(size=(300, 1)) + rng.normal(size=(300, 7))
    R = cov2cor(np.cov(x, rowvar=False))
    items = [f"i{j}" for j in range(7)]
    scales = {"A": items[:4], "B": items[2:6], "C": items[5:]}  # A,B share 2; B,C share 1
    got = scale_overlap(R, items, scales)
    idx = {n: [items.index(i) for i in s] for n, s in scales.items()}
    alpha, avr, var = {}, {}, {}
    for n, ix in idx.items():
        k = len(ix)
        var[n] = R[np.ix_(ix, ix)].sum()
        alpha[n] = (var[n] - k) / var[n] * k / (k - 1)
        avr[n] = alpha[n] / (k - alpha[n] * (k - 1))
    names = list(scales)
    for a in range(3):
        for b in range(3):
            p, q = names[a], names[b]
            if a == b:
                assert got.corrected.loc[p, p] == pytest.approx(alpha[p], abs=1e-12)
                continue
            cov = R[np.ix_(idx[p], idx[q])].sum()
            n_shared = len(set(scales[p]) & set(scales[q]))
            cov += n_shared * (np.sqrt(avr[p] * avr[q]) - 1.0)
            r = cov / np.sqrt(var[p] * var[q])
            assert got.cor.loc[p, q] == pytest.approx(r, abs=1e-12)
            expected = r if a > b else r / np.sqrt(alpha[p] * alpha[q])
            assert got.corrected.loc[p, q] == pytest.approx(expected, abs=1e-12)
    assert got.shared.loc["A", "B"] == 2 and got.shared.loc["A", "C"] == 0


def test_overlap_only_when_scores_share_items():
    base = ["reliability", str(SAMPLE), "--no-omega", "--json"]
    apart = json.loads(CliRunner().invoke(app, [*base, "-i", "phq-9", "-i", "gad-7"]).stdout)
    assert apart["overlap"] is None
    nested = json.loads(CliRunner().invoke(app, [*base, "-i", "mrni-sf"]).stdout)
    ov = nested["overlap"]
    assert ov["scores"][0] == "mrnisf_total" and ov["shared_items"][0][1] == 3
    # raw (uncorrected) correlation of the total with its own subscale is inflated
    raw = nested["intercorrelations"]["corrected"][1][0]
    assert ov["cor"][1][0] < raw
